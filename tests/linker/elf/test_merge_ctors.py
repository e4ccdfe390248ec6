"""linker/elf/merge.py and ctors.py on assembled objects: pieces, carriers, remapped symbols
and addends; reversed .ctors words and moved relocations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from linker.elf.ctors import fold_ctors_into_init_arrays
from linker.elf.merge import merge_sections
from linker.elf.read import read_object
from linker.elf.sections import init_priority, output_name
from linker.model import ObjectFile, SectionRole
from linker.resolve import SymbolTable

STRINGS_A = """
    .section .rodata.str1.1,"aMS",@progbits,1
.La: .string "shared"
.Lb: .string "only in a"
    .section .rodata.str4.4,"aMS",@progbits,4
.Lw: .long 0x77, 0x69, 0
    .section .rodata.cst8,"aM",@progbits,8
    .globl pi
pi: .quad 0x400921fb54442d18
    .data
    .quad .rodata.str1.1 + 12     # "in a" inside "only in a"
    .quad .La
    .quad .Lw
"""
STRINGS_B = """
    .section .rodata.str1.1,"aMS",@progbits,1
.Lc: .string "only in b"
.Ld: .string "shared"
    .section .rodata.str4.4,"aMS",@progbits,4
.Lw: .long 0x77, 0x69, 0
    .section .rodata.cst8,"aM",@progbits,8
.Le: .quad 0x400921fb54442d18
    .data
    .quad .rodata.str1.1 + 10     # "shared" (the second string)
    .quad .rodata.str1.1 + 5      # "in b" inside "only in b"
    .quad .Le
"""


def _symtab(*paths: Path) -> SymbolTable:
    table = SymbolTable()
    for path in paths:
        table.add_object(read_object(memoryview(path.read_bytes()), str(path)))
    return table


def _section(obj: ObjectFile, name: str) -> int:
    return next(i for i, s in enumerate(obj.sections) if s is not None and s.name == name)


def test_equal_strings_and_constants_of_two_objects_become_one_copy(
        assemble: Callable[..., Path]) -> None:
    table = _symtab(assemble(STRINGS_A, "ma"), assemble(STRINGS_B, "mb"))
    merge_sections(table)
    a, b = table.objects
    strings = a.sections[_section(a, ".rodata.str1.1")]
    assert strings is not None and strings.file is a
    assert bytes(strings.data or b"") == b"shared\0only in a\0only in b\0"
    assert b.sections[_section(b, ".rodata.str1.1")] is strings  # an alias of the carrier
    wide = a.sections[_section(a, ".rodata.str4.4")]
    assert wide is not None and wide.size == 12 and b.sections[_section(b, ".rodata.str4.4")] is wide
    consts = a.sections[_section(a, ".rodata.cst8")]
    assert consts is not None and consts.size == 8
    # section-symbol references move with their piece, keeping their place inside it
    data_b = b.sections[_section(b, ".data")]
    assert data_b is not None
    assert data_b.relocs.rows["addend"].tolist()[:2] == [0, 17 + 5]  # "shared"; "in b"
    data_a = a.sections[_section(a, ".data")]
    assert data_a is not None
    assert data_a.relocs.rows["addend"].tolist()[0] == 12  # "in a": a's pieces did not move
    assert table.by_name["pi"].section is consts and table.by_name["pi"].value == 0


def test_a_string_section_without_a_final_terminator_is_left_alone(
        assemble: Callable[..., Path]) -> None:
    obj = assemble('.section .rodata.str1.1,"aMS",@progbits,1\n.ascii "open"\n', "open")
    table = _symtab(obj)
    before = table.objects[0].sections[_section(table.objects[0], ".rodata.str1.1")]
    merge_sections(table)
    assert table.objects[0].sections[_section(table.objects[0], ".rodata.str1.1")] is before


ALIGNED_A = """
    .section .rodata.str1.16,"aMS",@progbits,1
    .p2align 4
    .string "ab"
    .string "cdefg"
    .string "hi"
    .string "xyz"
    .section .rodata.cst4,"aM",@progbits,4
    .p2align 4
    .long 1, 2, 3
"""
ALIGNED_B = """
    .section .rodata.str1.16,"aMS",@progbits,1
    .p2align 4
    .string "q"
    .string "hi"
    .string "cdefg"
    .section .rodata.cst4,"aM",@progbits,4
    .p2align 4
    .long 3, 5
"""


def test_a_string_keeps_the_alignment_of_its_offset_and_overaligned_constants_stay(
        assemble: Callable[..., Path]) -> None:
    """GNU ld's rule: a string is aligned as its input offset was, up to the section's
    alignment (the strictest of its copies); constants aligned beyond their size are not
    merged.  Every string aligned to the section's 16 would take 5 * 16 bytes."""
    table = _symtab(assemble(ALIGNED_A, "aa"), assemble(ALIGNED_B, "ab"))
    merge_sections(table)
    a, b = table.objects
    strings = a.sections[_section(a, ".rodata.str1.16")]
    assert strings is not None and strings.align == 16
    # "ab" at 0 (16), "cdefg" at 3 (1), "hi" at 0xa (2: offset 2 in b), "xyz" at 0x10 (4),
    # "q" at 0x20 (16)
    assert bytes(strings.data or b"") == (b"ab\0cdefg\0\0hi\0" + bytes(3) + b"xyz\0"
                                          + bytes(12) + b"q\0")
    for obj, size in ((a, 12), (b, 8)):  # each its own section, its 3 kept twice
        consts = obj.sections[_section(obj, ".rodata.cst4")]
        assert consts is not None and consts.file is obj and consts.size == size


CTORS = """
    .section .ctors,"aw",@progbits
    .p2align 3
    .quad first, second
    .section .ctors.00200,"aw",@progbits
    .quad third
    .text
first: ret
second: ret
third: ret
"""


def test_ctors_are_reversed_into_init_array_with_their_relocations(
        assemble: Callable[..., Path]) -> None:
    obj = read_object(memoryview(assemble(CTORS, "ctors").read_bytes()), "ctors.o")
    ctors = obj.sections[_section(obj, ".ctors")]
    assert ctors is not None
    before = sorted(zip(ctors.relocs.rows["offset"].tolist(), ctors.relocs.rows["addend"].tolist()))
    fold_ctors_into_init_arrays([obj], 8)
    assert ctors.role is SectionRole.INIT_ARRAY and output_name(ctors) == ".init_array"
    after = sorted(zip(ctors.relocs.rows["offset"].tolist(), ctors.relocs.rows["addend"].tolist()))
    assert [a for _, a in after] == [a for _, a in reversed(before)]  # second, then first
    numbered = obj.sections[_section(obj, ".ctors.00200")]
    assert numbered is not None and init_priority(numbered) == 65535 - 200


def test_crtbegin_keeps_its_ctors(assemble: Callable[..., Path]) -> None:
    path = assemble(CTORS, "crtbeginT")
    obj = read_object(memoryview(path.read_bytes()), str(path))
    fold_ctors_into_init_arrays([obj], 8)
    ctors = obj.sections[_section(obj, ".ctors")]
    assert ctors is not None and ctors.role is not SectionRole.INIT_ARRAY
