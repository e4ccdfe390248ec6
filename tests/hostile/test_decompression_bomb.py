"""A decompression bomb: an SHF_COMPRESSED debug section whose honest zlib stream of a
few hundred kilobytes inflates to 512 MiB (zlib reaches about 1000:1).  The linker, the
checker (pyelftools inflates every compressed debug section for its DWARF rules) and the
field oracle each allocated it whole: 2 GiB took 18 s and 4 GB.  Past 256 MiB
uncompressed a section is now refused before any inflating: one line from the linker,
one DWARF-READABLE finding from the checker, one unreadable mismatch from the fields."""

from __future__ import annotations

import resource
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle.check import check
from oracle.relocs import check_fields

INFLATED = 512 << 20


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("bomb")
    (work / "m.c").write_text("int main(void) { return 7; }\n")
    subprocess.run(["gcc", "-g", "-gz=zlib", "-c", "-o", str(work / "gz.o"),
                    str(work / "m.c")], check=True)
    subprocess.run(["gcc", "-Wl,--compress-debug-sections=zlib", "-o", str(work / "gz"),
                    str(work / "gz.o")], check=True)
    squeeze = zlib.compressobj(1)
    stream = bytearray(struct.pack("<IIQQ", 1, 0, INFLATED, 1))
    zeros = bytes(1 << 20)
    for _ in range(INFLATED >> 20):
        stream += squeeze.compress(zeros)
    stream += squeeze.flush()
    (work / "bomb.bin").write_bytes(stream)
    made = {}
    # the sections GNU as and GNU ld leave compressed: the object's .debug_aranges, the
    # executable's .debug_info
    for name, src, section in (("object", "gz.o", ".debug_aranges"),
                               ("exe", "gz", ".debug_info")):
        made[name] = work / f"bomb-{src}"
        subprocess.run(["objcopy", "--update-section", f"{section}={work / 'bomb.bin'}",
                        str(work / src), str(made[name])], check=True)
    made["clean"] = work / "gz"
    return made


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10


def test_no_judge_inflates_a_bomb(bomb: dict[str, Path], tmp_path: Path) -> None:
    before, start = _peak(), time.process_time()
    with pytest.raises(LinkError, match="bytes uncompressed .at most 0x10000000"):
        link([bomb["object"]], tmp_path / "a.out", entry="main")
    assert not (tmp_path / "a.out").exists()
    found = [v for v in check(bomb["exe"]) if v.rule == "DWARF-READABLE"]
    assert found and "bytes uncompressed" in found[0].what
    mismatches = check_fields(str(bomb["clean"]), [str(bomb["object"])])
    assert [(m.kind, m.file) for m in mismatches] == [("unreadable", str(bomb["object"]))]
    assert time.process_time() - start < 3.0
    assert _peak() - before < 128 << 20
