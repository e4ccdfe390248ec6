"""linker/scan.py picks R_386_GOT32/GOT32X's form from the instruction (issue 19 item 1).

The table form is the slot's offset from the GOT base (G + A - GOT); when the ModRM byte
before the field names no base register, scan switches the row to the `no_base` form, the
slot's own address (G + A, kind GOT_ABS).  The end-to-end programs are in
tests/oracle/test_got32_no_base.py; these pin down the pieces.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from linker import LinkError, link
from linker.elf.relocs_i386 import TABLE
from linker.kinds import NEEDS_GOT, USES_GOT_BASE, RelocKind, compute, formula

R_386_GOT32, R_386_GOT32X = 3, 43


def test_each_got32_type_has_a_no_base_form_past_the_native_numbers() -> None:
    native = len(TABLE.supported)
    for number in (R_386_GOT32, R_386_GOT32X):
        howto = TABLE.howtos[number]
        assert howto.kind is RelocKind.GOT_OFF and howto.no_base is not None
        assert howto.no_base.kind is RelocKind.GOT_ABS and howto.no_base.name == howto.name
        assert TABLE.howtos.index(howto.no_base) >= native  # no file can name it
    assert all(h.no_base is None for h in TABLE.howtos[native:])


def test_got_abs_is_the_slot_address() -> None:
    def arr(v: int) -> np.ndarray:
        return np.array([v], dtype=np.int64)

    zero = arr(0)
    value = compute(RelocKind.GOT_ABS, S=arr(0x804C000), A=arr(4), P=arr(0x8049000),
                    G=arr(0x804A000), L=zero, GOT=0x804B000, T=zero, Z=zero)
    assert value.tolist() == [0x804A004]
    assert formula(RelocKind.GOT_ABS) == "G + A"
    assert RelocKind.GOT_ABS in NEEDS_GOT and RelocKind.GOT_ABS not in USES_GOT_BASE


def _object(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.s").write_text(text + '\n    .section .note.GNU-stack, "", @progbits\n')
    subprocess.run(["as", "--32", "t.s", "-o", "t.o"], cwd=tmp_path, check=True,
                   capture_output=True)
    return tmp_path / "t.o"


def _word(path: Path, section: str, offset: int = 0) -> int:
    with open(path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(section)
        assert sec is not None
        return int.from_bytes(sec.data()[offset:offset + 4], "little")


EXIT = """
    .text
    .globl _start
_start:
    movl $1, %eax
    xorl %ebx, %ebx
    int $0x80
foo: ret
"""


def test_a_field_at_offset_zero_keeps_the_got_relative_form(tmp_path: Path) -> None:
    """`.long foo@GOT` at the start of .data has no instruction byte before it: G + A -
    GOT, as GNU ld writes it."""
    obj = _object(tmp_path, EXIT + "    .data\n    .long foo@GOT\n")
    ours, ref = tmp_path / "ours", tmp_path / "ref"
    link([str(obj)], str(ours), target="elf32-i386", static=True)
    subprocess.run(["ld.bfd", "-m", "elf_i386", "-static", "-o", str(ref), str(obj)],
                   check=True, capture_output=True)
    value = _word(ours, ".data")
    assert value == _word(ref, ".data") == 0xFFFFFFFC  # the one .got slot, GOT - 4


@pytest.mark.parametrize(("insn", "no_base"), [
    ("call *foo@GOT", True), ("movl foo@GOT, %ecx", True), ("jmp *foo@GOT", True),
    ("call *foo@GOT(%ebx)", False), ("movl foo@GOT(%eax), %ecx", False),
    # with a SIB byte the byte before the field is the SIB, not the ModRM: GNU ld and lld
    # (and the psABI's test) see a base register there, and so does scan
    ("movl foo@GOT(,%eax,4), %ecx", False),
])
def test_the_modrm_byte_decides(tmp_path: Path, insn: str, no_base: bool) -> None:
    obj = _object(tmp_path, EXIT + f"    {insn}\n")
    out = tmp_path / "out"
    # --no-relax: the GOT form itself is under test, not the mov -> lea rewrite
    link([str(obj)], str(out), target="elf32-i386", static=True, relax=False)
    with open(out, "rb") as f:
        elf = ELFFile(f)
        got = elf.get_section_by_name(".got")
        got_plt = elf.get_section_by_name(".got.plt")
        text = elf.get_section_by_name(".text")
        assert got is not None and text is not None
        slot = int(got["sh_addr"])
        base = int(got_plt["sh_addr"]) if got_plt is not None else None
        field = text.data()[-4:]
    value = int.from_bytes(field, "little")
    if no_base:
        assert value == slot
    else:
        assert base is not None and value == (slot - base) & 0xFFFFFFFF


def test_a_file_cannot_name_a_no_base_form(tmp_path: Path) -> None:
    """The forms past the native numbers are the linker's own: type 44 in a file is
    unknown."""
    obj = _object(tmp_path, EXIT + "    call *foo@GOT\n")
    data = bytearray(obj.read_bytes())
    with open(obj, "rb") as f:
        rel = ELFFile(f).get_section_by_name(".rel.text")
        assert rel is not None and rel["sh_size"] == 8
        at = int(rel["sh_offset"]) + 4  # r_info's low byte is the type
    assert data[at] == R_386_GOT32X
    data[at] = len(TABLE.supported)  # the first number past the native ones: 44
    obj.write_bytes(bytes(data))
    with pytest.raises(LinkError, match="unknown relocation type 44"):
        link([str(obj)], str(tmp_path / "out"), target="elf32-i386", static=True)
