"""The field oracle reads DT_RELR (`.relr.dyn`, SHT_RELR): the words it names are a PIE's
RELATIVE relocations.  It once called every pointer of a -z pack-relative-relocs PIE
"an address in a PIE that needs a dynamic relocation, and there is none" (GNU ld 2.40,
mold; x86-64 and i386); a word cleared from the bitmap must still be caught."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle import check_fields

SOURCE = """#include <stdio.h>
static const char *names[] = {"a", "b", "c", "d"};
int (*say)(const char *) = puts;
int main(int argc, char **argv) { return say(names[argc % 4]) < 0; }
"""


def _relr_pie(tmp_path: Path, linker: str, m32: bool) -> tuple[Path, Path]:
    src = tmp_path / "p.c"
    src.write_text(SOURCE)
    obj, exe = tmp_path / "p.o", tmp_path / "p"
    bits = ["-m32"] if m32 else []
    subprocess.run(["gcc", *bits, "-fpie", "-O1", "-c", str(src), "-o", str(obj)], check=True)
    subprocess.run(["gcc", *bits, "-pie", f"-fuse-ld={linker}", "-Wl,-z,pack-relative-relocs",
                    str(obj), "-o", str(exe)], check=True, capture_output=True)
    return exe, obj


def _relr_section(exe: Path) -> tuple[int, int]:
    with open(exe, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".relr.dyn")
        assert sec is not None and sec["sh_type"] == "SHT_RELR"
        return sec["sh_offset"], sec["sh_size"]


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
@pytest.mark.parametrize("linker", ["bfd", "mold"])
def test_relr_words_are_relative_relocations(tmp_path: Path, linker: str, m32: bool) -> None:
    exe, obj = _relr_pie(tmp_path, linker, m32)
    assert [str(m) for m in check_fields(exe, [obj])] == []
    # the names[] words are relocated only through .relr.dyn: drop every entry
    offset, size = _relr_section(exe)
    data = bytearray(exe.read_bytes())
    word = 4 if m32 else 8
    struct.pack_into(f"<{size // word}{'I' if m32 else 'Q'}", data, offset,
                     *([0] * (size // word)))
    broken = tmp_path / "broken"
    broken.write_bytes(bytes(data))
    missing = check_fields(broken, [obj])
    assert missing and all("needs a dynamic relocation" in str(m) for m in missing)


def test_relr_decoding_and_its_bound() -> None:
    from oracle.relocs.tables import MAX_RELR_SLOTS, relr_slots

    # an address, then a bitmap naming the 1st and 3rd words after it
    table = struct.pack("<QQ", 0x1000, (0b101 << 1) | 1)
    assert relr_slots(table, True) == [0x1000, 0x1008, 0x1018]
    assert relr_slots(struct.pack("<II", 0x100, (1 << 31) | 1), False) == [0x100, 0x100 + 4 * 31]
    # a hostile run of all-ones bitmaps is refused, not expanded into billions of words
    hostile = struct.pack("<Q", 0x1000) + struct.pack("<Q", (1 << 64) - 1) * (
        MAX_RELR_SLOTS // 63 + 2)
    with pytest.raises(ValueError, match="more than"):
        relr_slots(hostile, True)
