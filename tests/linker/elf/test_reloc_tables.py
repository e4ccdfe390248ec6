"""The native relocation tables: every supported type maps to exactly one abstract kind,
and the numbers agree with an independent source (pyelftools' enums)."""

from __future__ import annotations

import pytest
from elftools.elf.enums import ENUM_RELOC_TYPE_i386, ENUM_RELOC_TYPE_x64

from linker.elf.relocs_i386 import REFUSED as I386_REFUSED
from linker.elf.relocs_i386 import SUPPORTED as I386_SUPPORTED
from linker.elf.relocs_i386 import TABLE as I386_TABLE
from linker.elf.relocs_x86_64 import REFUSED as X64_REFUSED
from linker.elf.relocs_x86_64 import SUPPORTED as X64_SUPPORTED
from linker.elf.relocs_x86_64 import TABLE as X64_TABLE
from linker.kinds import Overflow, RelocKind, formula

CASES = [
    (X64_SUPPORTED, X64_REFUSED, X64_TABLE, ENUM_RELOC_TYPE_x64),
    (I386_SUPPORTED, I386_REFUSED, I386_TABLE, ENUM_RELOC_TYPE_i386),
]

# The issue's list for elf64-x86-64, by expected kind.
REQUIRED_X64 = {
    "R_X86_64_64": RelocKind.ABS, "R_X86_64_32": RelocKind.ABS, "R_X86_64_32S": RelocKind.ABS,
    "R_X86_64_16": RelocKind.ABS, "R_X86_64_8": RelocKind.ABS, "R_X86_64_PC64": RelocKind.PC,
    "R_X86_64_PC32": RelocKind.PC, "R_X86_64_PC16": RelocKind.PC, "R_X86_64_PC8": RelocKind.PC,
    "R_X86_64_PLT32": RelocKind.PLT_PC, "R_X86_64_GOTPCREL": RelocKind.GOT_PC,
    "R_X86_64_GOTPCRELX": RelocKind.GOT_PC, "R_X86_64_REX_GOTPCRELX": RelocKind.GOT_PC,
    "R_X86_64_GOTPC32": RelocKind.GOT_BASE_PC, "R_X86_64_GOTOFF64": RelocKind.REL_GOT,
    "R_X86_64_TPOFF32": RelocKind.TLS_TPOFF, "R_X86_64_GOTTPOFF": RelocKind.TLS_GOT_PC,
}


@pytest.mark.parametrize("supported,refused,table,enum", CASES, ids=["x86_64", "i386"])
def test_each_type_has_exactly_one_kind(supported, refused, table, enum) -> None:
    assert not set(supported) & set(refused), "a type is both supported and refused"
    names = [h.name for h in supported.values()] + [n for n, _ in refused.values()]
    assert len(names) == len(set(names)), "a name appears twice"
    for number, howto in supported.items():
        assert isinstance(howto.kind, RelocKind)
        assert formula(howto.kind)
        assert table.howtos[number] is howto and table.supported[number]
        if howto.kind is not RelocKind.NONE:
            assert howto.width in (1, 2, 4, 8)
    for number in refused:
        assert not table.supported[number]


@pytest.mark.parametrize("supported,refused,table,enum", CASES, ids=["x86_64", "i386"])
def test_numbers_agree_with_pyelftools(supported, refused, table, enum) -> None:
    # glibc's elf.h spells R_386_JMP_SLOT where pyelftools says R_386_JUMP_SLOT.
    by_number = {v: k.replace("R_386_JUMP_SLOT", "R_386_JMP_SLOT") for k, v in enum.items()
                 if isinstance(v, int)}
    checked = 0
    for number, howto in supported.items():
        if number in by_number:  # pyelftools lacks a few late additions (SIZE32/64)
            assert by_number[number] == howto.name, number
            checked += 1
    assert checked >= len(supported) - 3
    for number, (name, _) in refused.items():
        if number in by_number:
            assert by_number[number] == name, number


def test_issue_list_is_covered() -> None:
    have = {h.name: h.kind for h in X64_SUPPORTED.values()}
    for name, kind in REQUIRED_X64.items():
        assert have.get(name) == kind, name


def test_overflow_rules() -> None:
    by_name = {h.name: h for h in X64_SUPPORTED.values()}
    assert by_name["R_X86_64_32"].overflow is Overflow.UNSIGNED
    assert by_name["R_X86_64_32S"].overflow is Overflow.SIGNED
    assert by_name["R_X86_64_PC32"].bounds() == (-(1 << 31), (1 << 31) - 1)
    assert by_name["R_X86_64_8"].bounds() == (-128, 255)


def test_refusals_explain_themselves() -> None:
    assert "TLS descriptors" in X64_TABLE.refusal(36)
    assert X64_TABLE.refusal(7).startswith("R_X86_64_JUMP_SLOT: a dynamic relocation")
    assert "unknown relocation type 250" in X64_TABLE.refusal(250)
