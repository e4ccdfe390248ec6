"""linker.macho.read on i386 objects (read_generic.py, relocs_i386.py): what llvm-mc-14 and
clang-14 -target i386-apple-macosx10.6 really put in the fields, kept as experiments.

The central check, `_reproduces_the_fields`: evaluating every relocation the reader
produced with the object's own addresses (S, T = a symbol's object address, undefined = 0;
P = the field's object address) gives back exactly the bytes the assembler wrote.  That
is the reader's contract -- "field = value in the object's address space" -- and it pins
each addend convention, e.g. that the pc-relative extern field of `calll _printf` holds
addend - (P + 4).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import link
from linker.errors import LinkError
from linker.kinds import RelocKind
from linker.macho.read import read_macho_object
from linker.model import COMMON, UNDEF, Binding, ObjectFile, SectionRole

ASM = """
    .text
L_text:
    .globl _f
_f:
    calll _g                  # same section: resolved by the assembler, no entry
    calll _ext
    calll _ext+8
    jecxz _ext                # 1-byte pc-relative extern field
    jmp _h
    movl _arr+20, %eax        # scattered: the addend leaves the symbol
    movl $_g, %eax
    .globl _g
_g: ret
_h: ret
    .data
    .globl _d
_d: .long _f+4                # scattered VANILLA (a defined symbol plus an offset)
    .long _ext+12             # extern absolute: the addend in the field
    .short _g                 # non-extern, 2 bytes
    .byte _g                  # non-extern, 1 byte
    .long _g - _h             # SECTDIFF (global minuend) + PAIR
    .long _d + 4
L_start:
    .long L_text - L_start + 2  # LOCAL_SECTDIFF (a difference across sections)
    .long L_end - L_start     # one section: resolved by the assembler, no entry
L_end:
_arr: .long 0, 1, 2, 3, 4, 5, 6, 7
    .comm _cbuf, 64, 5
    .weak_definition _wdef
    .globl _wdef
_wdef: .long 1
    .weak_reference _wref
    .long _wref
"""


def _read(path: Path) -> ObjectFile:
    return read_macho_object(memoryview(path.read_bytes()), str(path))


def _object_addresses(path: Path) -> tuple[list[int], list[int]]:
    """Section addresses (by ordinal, [0] unused) and nlist values, read independently."""
    data = path.read_bytes()
    ncmds = struct.unpack_from("<I", data, 16)[0]
    pos, addrs, symbols = 28, [0], []
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x1:  # LC_SEGMENT
            nsects = struct.unpack_from("<I", data, pos + 48)[0]
            for n in range(nsects):
                addrs.append(struct.unpack_from("<I", data, pos + 56 + 68 * n + 32)[0])
        elif cmd == 0x2:  # LC_SYMTAB
            symoff, nsyms = struct.unpack_from("<II", data, pos + 8)
            symbols = [struct.unpack_from("<I", data, symoff + 12 * n + 8)[0]
                       for n in range(nsyms)]
        pos += size
    return addrs, symbols


def _reproduces_the_fields(path: Path) -> int:
    """Evaluate every relocation in object space; return how many were checked."""
    obj = _read(path)
    addrs, _ = _object_addresses(path)
    t = obj.symbols
    checked = 0

    def place(symbol: int) -> int:
        sect = int(t.section[symbol])
        return 0 if sect < 0 else addrs[sect] + int(t.value[symbol])

    for sec in obj.sections:
        if sec is None or not len(sec.relocs) or sec.role is SectionRole.NON_LAZY_POINTERS:
            continue
        sub = sec.relocs.subtrahend
        for n, (offset, howto_index, symbol, addend) in enumerate(sec.relocs.rows.tolist()):
            howto = obj.howtos[howto_index]
            p = addrs[sec.index] + offset
            s = place(symbol)
            if howto.kind is RelocKind.ABS:
                value = s + addend
            elif howto.kind is RelocKind.PLT_PC:
                value = s + addend - p
            else:
                assert howto.kind is RelocKind.SUB and sub is not None
                value = s - place(int(sub[n])) + addend
            assert sec.data is not None
            field = int.from_bytes(bytes(sec.data[offset:offset + howto.width]), "little")
            mask = (1 << (8 * howto.width)) - 1
            assert value & mask == field, (sec.name, hex(offset), howto.name,
                                           t.names[symbol], addend)
            checked += 1
    return checked


def _rows(obj: ObjectFile, section: str) -> list[tuple[int, str, str, int, str | None]]:
    sec = next(s for s in obj.sections if s is not None and s.name == section)
    sub = sec.relocs.subtrahend
    out = []
    for n, (offset, howto, symbol, addend) in enumerate(sec.relocs.rows.tolist()):
        k = int(sub[n]) if sub is not None else -1
        out.append((offset, obj.howtos[howto].name, obj.symbols.names[symbol], addend,
                    obj.symbols.names[k] if k >= 0 else None))
    return sorted(out)


def test_assembler_forms_are_read_back_exactly(macho32_asm: Callable[[str, str], Path]) -> None:
    path = macho32_asm(ASM, "forms")
    obj = _read(path)
    assert obj.arch == "i386"
    text = _rows(obj, "__TEXT,__text")
    ext = [r for r in text if r[2] == "_ext"]
    # calll _ext at 0x5: field -(0xa + 4)... the abstract addend is addend - width.
    assert [(r[0], r[1], r[3]) for r in ext] == [
        (0x6, "GENERIC_RELOC_VANILLA(pcrel)", -4),
        (0xb, "GENERIC_RELOC_VANILLA(pcrel)", 8 - 4),
        (0x10, "GENERIC_RELOC_VANILLA(pcrel8)", -1)]
    assert not [r for r in text if r[2] == "_g" and "pcrel" in r[1]]  # assembler-resolved
    data = _rows(obj, "__DATA,__data")
    by_name = {(r[1], r[2]) for r in data}
    assert ("GENERIC_RELOC_VANILLA", "_f") in by_name  # scattered -> the global at r_value
    assert ("GENERIC_RELOC_VANILLA", "_ext") in by_name
    assert ("GENERIC_RELOC_VANILLA(16)", "<section __TEXT,__text>") in by_name
    assert ("GENERIC_RELOC_VANILLA(8)", "<section __TEXT,__text>") in by_name
    sectdiff = [r for r in data if r[1] == "GENERIC_RELOC_SECTDIFF"]
    assert [(r[2], r[4]) for r in sectdiff] == [("_g", "<section __TEXT,__text>")]
    local = [r for r in data if r[1] == "GENERIC_RELOC_LOCAL_SECTDIFF"]
    assert [(r[2], r[4]) for r in local] == [("<section __TEXT,__text>",
                                              "<section __DATA,__data>")]
    assert all(h.kind is RelocKind.SUB for h in obj.howtos if "SECTDIFF" in h.name)
    assert _reproduces_the_fields(path) == 13


def test_symbols_twelve_byte_nlist(macho32_asm: Callable[[str, str], Path]) -> None:
    obj = _read(macho32_asm(ASM, "symbols"))
    t = obj.symbols
    index = {name: n for n, name in enumerate(t.names)}
    assert int(t.section[index["_cbuf"]]) == COMMON
    assert (int(t.size[index["_cbuf"]]), int(t.value[index["_cbuf"]])) == (64, 32)
    assert t.binding[index["_wdef"]] == Binding.WEAK
    assert t.binding[index["_wref"]] == Binding.WEAK and t.section[index["_wref"]] == UNDEF
    assert t.binding[index["_h"]] == Binding.LOCAL
    text = obj.sections[int(t.section[index["_g"]])]
    assert text is not None and text.name == "__TEXT,__text"
    addrs, values = _object_addresses(macho32_asm(ASM, "symbols"))
    data_ordinal = int(t.section[index["_d"]])
    assert int(t.value[index["_d"]]) == values[index["_d"]] - addrs[data_ordinal] == 0


HELLO = r"""
#include <stdio.h>
static int counter = 3;
int g = 5;
int *gp = &g;
extern int ext_data;
int arr[10];
int *ptrs[] = { &arr[3], &ext_data };
int main(void) { printf("hello %d %d %d\n", counter, *gp, ext_data + arr[4]); return 0; }
"""


@pytest.mark.parametrize("flags", [(), ("-mdynamic-no-pic",), ("-O2",)])
def test_clang_objects_reproduce_their_fields(macho32_cc: Callable[..., Path],
                                              flags: tuple[str, ...]) -> None:
    """clang's PIC (pic base + LOCAL_SECTDIFF/SECTDIFF pairs), -mdynamic-no-pic (absolute,
    scattered) and -O2 objects all read back to their own bytes."""
    path = macho32_cc(HELLO, "hello" + "".join(flags).replace("-", "_"), *flags)
    obj = _read(path)
    assert _reproduces_the_fields(path) >= 4
    text = _rows(obj, "__TEXT,__text")
    printf = [r for r in text if r[2] == "_printf"]
    assert len(printf) == 1 and printf[0][1] == "GENERIC_RELOC_VANILLA(pcrel)"
    assert printf[0][3] == -4  # the field held -(P + 4): addend 0


def test_calll_printf_field_is_minus_p_plus_4(macho32_cc: Callable[..., Path]) -> None:
    """The brief's example, byte for byte: the field of `calll _printf` at P holds -(P+4)."""
    path = macho32_cc(HELLO, "hello_field")
    obj = _read(path)
    (row,) = [r for r in _rows(obj, "__TEXT,__text") if r[2] == "_printf"]
    text = next(s for s in obj.sections if s is not None and s.name == "__TEXT,__text")
    assert text.data is not None
    field = struct.unpack_from("<i", bytes(text.data), row[0])[0]
    assert field == -(row[0] + 4)  # __text is at object address 0


def test_pointers_section_slots_name_their_symbols(macho32_cc: Callable[..., Path]) -> None:
    """`extern int ext_data` is reached through __IMPORT,__pointers, whose slot carries no
    relocation in the object; the reader adds an absolute word against the symbol the
    indirect symbol table names."""
    obj = _read(macho32_cc(HELLO, "hello_ptrs"))
    sec = next(s for s in obj.sections if s is not None and s.name == "__IMPORT,__pointers")
    assert sec.role is SectionRole.NON_LAZY_POINTERS
    rows = _rows(obj, "__IMPORT,__pointers")
    assert rows == [(0, "GENERIC_RELOC_VANILLA", "_ext_data", 0, None)]


JUMP_TABLE = """
    .text
    .globl _main
_main:
    call L_puts$stub
    ret
    .section __IMPORT,__jump_table,symbol_stubs,self_modifying_code+pure_instructions,5
L_puts$stub:
    .indirect_symbol _puts
    hlt ; hlt ; hlt ; hlt ; hlt
"""


def test_jump_table_entries_become_jumps(macho32_asm: Callable[[str, str], Path]) -> None:
    obj = _read(macho32_asm(JUMP_TABLE, "jt"))
    sec = next(s for s in obj.sections if s is not None and s.name == "__IMPORT,__jump_table")
    assert bytes(sec.data or b"") == b"\xe9\0\0\0\0"
    rows = _rows(obj, "__IMPORT,__jump_table")
    assert rows == [(1, "GENERIC_RELOC_VANILLA(pcrel)", "_puts", -4, None)]


def test_refusals(macho32_asm: Callable[[str, str], Path]) -> None:
    good = macho32_asm(ASM, "refuse").read_bytes()
    wrong_cpu = bytearray(good)
    struct.pack_into("<i", wrong_cpu, 4, 0x01000007)
    with pytest.raises(LinkError, match="is not CPU_TYPE_I386"):
        read_macho_object(memoryview(bytes(wrong_cpu)), "mixed.o")
    tlv = macho32_asm("""
        .section __DATA,__thread_vars,thread_local_variables
        .globl _t
_t: .long 0
        .text
        .globl _main
_main: ret
    """, "tlv")
    # i386 thread-locals are read (tests/linker/macho/test_tlv_i386.py); a __thread_vars
    # that is not whole 12-byte descriptors is refused when linked, in one line
    _read(tlv)
    with pytest.raises(LinkError, match="not whole 12-byte descriptors") as info:
        link([tlv, "-lSystem"], tlv.with_suffix(".out"), target="macho-i386")
    assert "\n" not in str(info.value) and "tlv.o" in str(info.value)  # names the input


def _patch_first_reloc_type(path: Path, section: str, new_type: int) -> bytes:
    """The object with its first plain relocation entry's r_type replaced."""
    data = bytearray(path.read_bytes())
    ncmds = struct.unpack_from("<I", data, 16)[0]
    pos = 28
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x1:
            for n in range(struct.unpack_from("<I", data, pos + 48)[0]):
                at = pos + 56 + 68 * n
                name = bytes(data[at:at + 16]).rstrip(b"\0").decode()
                reloff = struct.unpack_from("<I", data, at + 48)[0]
                if name == section:
                    info = struct.unpack_from("<I", data, reloff + 4)[0]
                    struct.pack_into("<I", data, reloff + 4, (info & 0x0FFFFFFF)
                                     | (new_type << 28))
                    return bytes(data)
        pos += size
    raise AssertionError(section)


def test_pb_la_ptr_and_tlv_relocations_are_one_line(macho32_asm: Callable[[str, str],
                                                                          Path]) -> None:
    path = macho32_asm("""
        .text
_f: calll _ext
    """, "pb")
    with pytest.raises(LinkError, match="GENERIC_RELOC_PB_LA_PTR: prebound lazy") as info:
        read_macho_object(memoryview(_patch_first_reloc_type(path, "__text", 3)), "pb.o")
    assert "\n" not in str(info.value) and "__TEXT,__text" in str(info.value)
    # a TLV entry is read only in its forms: extern and 4 bytes (pc-relative, or absolute
    # from -mdynamic-no-pic); here a non-extern one (a local's address)
    data = macho32_asm(".data\n_q: .long 0\n_p: .long _q\n", "tlvlocal")
    with pytest.raises(LinkError, match="GENERIC_RELOC_TLV must be extern and 4 bytes") as info:
        read_macho_object(memoryview(_patch_first_reloc_type(data, "__data", 5)), "tlv.o")
    assert "\n" not in str(info.value) and "__DATA,__data" in str(info.value)


def test_sectdiff_without_pair_is_refused(macho32_asm: Callable[[str, str], Path]) -> None:
    path = macho32_asm("""
        .text
_b: ret
        .data
_a: .long _b - _a
    """, "nopair")
    data = bytearray(path.read_bytes())
    # Find __data's two entries and turn the PAIR (second, scattered) into a VANILLA.
    ncmds = struct.unpack_from("<I", data, 16)[0]
    pos = 28
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x1:
            at = pos + 56 + 68  # __data, after __text
            reloff, nreloc = struct.unpack_from("<II", data, at + 48)
            assert nreloc == 2
            word0 = struct.unpack_from("<I", data, reloff + 8)[0]
            assert word0 & 0x80000000 and (word0 >> 24) & 0xF == 1  # a scattered PAIR
            struct.pack_into("<I", data, reloff + 8, word0 & ~0x0F000000)
        pos += size
    with pytest.raises(LinkError, match="not followed by a scattered GENERIC_RELOC_PAIR"):
        read_macho_object(memoryview(bytes(data)), "nopair.o")


def test_indirect_sections_refused_where_unsupported(macho32_asm: Callable[[str, str], Path],
                                                     macho_asm: Callable[[str, str], Path]
                                                     ) -> None:
    lazy = macho32_asm("""
        .section __DATA,__la_symbol_ptr,lazy_symbol_pointers
        .indirect_symbol _puts
        .long 0
    """, "lazy32")
    with pytest.raises(LinkError, match="lazy symbol pointers in an object"):
        _read(lazy)
    pointers64 = macho_asm("""
        .section __DATA,__nl_symbol_ptr,non_lazy_symbol_pointers
        .indirect_symbol _puts
        .quad 0
    """, "nl64")
    with pytest.raises(LinkError, match="indirect .* sections in an x86-64 object"):
        _read(pointers64)


def test_symbol_outside_its_section_and_control_characters(
        macho32_asm: Callable[[str, str], Path]) -> None:
    path = macho32_asm("""
        .text
        .globl _f
_f: ret
    """, "outside")
    data = bytearray(path.read_bytes())
    ncmds = struct.unpack_from("<I", data, 16)[0]
    pos = 28
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x2:  # LC_SYMTAB: _f is the only symbol
            symoff, _, stroff, _ = struct.unpack_from("<4I", data, pos + 8)
            strx = struct.unpack_from("<I", data, symoff)[0]
        pos += size
    moved = bytearray(data)
    struct.pack_into("<I", moved, symoff + 8, 0x1000)
    with pytest.raises(LinkError, match="value 0x1000 lies outside its section"):
        read_macho_object(memoryview(bytes(moved)), "outside.o")
    renamed = bytearray(moved)
    renamed[stroff + strx + 1] = ord("\n")  # "_f" -> "_\n"
    with pytest.raises(LinkError) as info:
        read_macho_object(memoryview(bytes(renamed)), "outside.o")
    assert "\n" not in str(info.value) and "symbol _\\x0a" in str(info.value)
