"""The field oracle's report decodes only around each mismatch, and only for the first
DISASSEMBLED of them.

Found by the outside hostile campaign: `check_fields` on an executable made from the
host's libXt.a (559 calls to functions left undefined under --unresolved-symbols) took
11-17 s, because capstone decodes the whole buffer it is given before yielding the first
instruction, and each mismatch handed it everything from the function to the section's
end.  A section of megabytes with a few hundred mismatches took minutes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from linker import link
from oracle import check_fields
from oracle.relocs.check import DISASSEMBLED

CALLS = DISASSEMBLED + 50


def test_a_report_of_many_mismatches_in_a_large_section_is_quick(tmp_path: Path) -> None:
    source = tmp_path / "big.s"
    calls = "".join(f"        call missing_{n}\n" for n in range(CALLS))
    # the calls sit at the start of a 2 MB function: each decode ran to the section's end
    source.write_text(f"        .text\n        .globl _start\n_start:\n{calls}"
                      "        .fill 2000000, 1, 0x90\n        ret\n")
    obj = tmp_path / "big.o"
    subprocess.run(["as", "--64", "-o", str(obj), str(source)], check=True)
    out = tmp_path / "big"
    link([obj], out, ignore_undefined=True)
    start = time.monotonic()
    mismatches = check_fields(str(out), [str(obj)])
    elapsed = time.monotonic() - start
    assert elapsed < 10.0, f"check_fields took {elapsed:.1f}s"
    assert len(mismatches) == CALLS and {m.kind for m in mismatches} == {"unresolved"}
    first = mismatches[0].disassembly
    assert any(line.startswith("=> ") and "call" in line for line in first), first
    assert sum(bool(m.disassembly) for m in mismatches) == DISASSEMBLED
