"""A `.ctors` input folded into `.init_array` is placed by the field oracle from its own
pointer values.

GNU ld's default script copies an input's `.ctors` words into `.init_array` in reverse (a
`.ctors` list runs from its end).  Such a section has no symbols, no bytes of its own that
no relocation changes, and nothing refers to it, so only the addresses it holds say where it
went.  The oracle then checks each word at its mirrored place, so a linker that copies the
words in their original order is caught.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle.relocs import check_fields_report

CTORS_S = """
    .text
    .globl _start
_start: ret
first:  ret
second: ret
third:  ret
    .section .ctors,"aw"
    .{word} first
    .{word} second
    .{word} third
"""


def _build(tmp_path: Path, m32: bool) -> tuple[str, str]:
    source = tmp_path / "ctors.s"
    source.write_text(CTORS_S.format(word="long" if m32 else "quad"))
    obj, exe = tmp_path / "ctors.o", tmp_path / "ctors"
    subprocess.run(["as", *(["--32"] if m32 else []), str(source), "-o", str(obj)], check=True)
    subprocess.run(["ld", *(["-m", "elf_i386"] if m32 else []), str(obj), "-o", str(exe)],
                   check=True)
    return str(obj), str(exe)


def _init_array(exe: str) -> tuple[int, int]:
    """(file offset, size) of the output's .init_array."""
    out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True,
                         check=True).stdout
    line = next(x for x in out.splitlines() if " .init_array " in x)
    fields = line.split("]", 1)[1].split()
    return int(fields[3], 16), int(fields[4], 16)


@pytest.mark.parametrize("m32", [False, True], ids=["x64", "i386"])
def test_reversed_ctors_are_placed_by_their_pointers(tmp_path: Path, m32: bool) -> None:
    obj, exe = _build(tmp_path, m32)
    report = check_fields_report(exe, [obj])
    assert report.mismatches == (), str(report)
    confirmed = [s for s in report.confirmed if s.section == ".ctors"]
    assert len(confirmed) == 3
    # the first word of the input is the last of the output
    offsets = {s.offset: s.address for s in confirmed}
    word = 4 if m32 else 8
    assert offsets[0] == offsets[2 * word] + 2 * word


@pytest.mark.parametrize("m32", [False, True], ids=["x64", "i386"])
def test_ctors_copied_in_their_own_order_are_caught(tmp_path: Path, m32: bool) -> None:
    obj, exe = _build(tmp_path, m32)
    offset, size = _init_array(exe)
    data = bytearray(Path(exe).read_bytes())
    word = 4 if m32 else 8
    words = [data[offset + i:offset + i + word] for i in range(0, size, word)]
    data[offset:offset + size] = b"".join(reversed(words))  # undo GNU ld's reversal
    Path(exe).write_bytes(bytes(data))
    report = check_fields_report(exe, [obj])
    assert report.mismatches, "a .ctors list in its original order went unnoticed"
