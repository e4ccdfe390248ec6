"""A small MH_OBJECT writer for i386 (CPU_TYPE_I386), independent of linker/.

The 32-bit layout: a 28-byte mach_header, one LC_SEGMENT (56 bytes + 68 per section)
holding every section, LC_VERSION_MIN_MACOSX (as llvm-mc writes for a macosx10.6 triple),
LC_SYMTAB and LC_DYSYMTAB; then section contents, relocation entries (4-byte aligned), the
indirect symbol table (one entry per slot of a non-lazy pointer section, from its reserved1
on; a `__jump_table` the same per 5-byte entry), 12-byte nlist symbols (locals, external definitions, undefined and common symbols,
each group sorted by name) and the string table.

Relocation entries are the GENERIC ones (<mach-o/reloc.h>): a plain entry is (r_address,
r_symbolnum | pcrel << 24 | length << 25 | extern << 27 | type << 28); a scattered entry
(r_address's top bit) is (0x80000000 | pcrel << 30 | length << 28 | type << 24 |
r_address, r_value).  SECTDIFF and LOCAL_SECTDIFF are scattered and followed by a
scattered PAIR carrying the subtrahend's address.  Entries are written in the order
llvm-mc writes them: the section's fixups last to first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .emit_macho import (
    MH_OBJECT,
    S_ATTR_DEBUG,
    S_ATTR_PURE_INSTRUCTIONS,
    S_ATTR_SOME_INSTRUCTIONS,
    S_ZEROFILL,
    VM_PROT_ALL,
    MachoSymbol,
    align_up,
    name16,
    nlist,
    ordered_symbols,
    string_table,
)

MH_MAGIC = 0xFEEDFACE
CPU_TYPE_I386 = 7
CPU_SUBTYPE_I386_ALL = 3
LC_SEGMENT = 0x1
LC_SYMTAB = 0x2
LC_DYSYMTAB = 0xB
LC_VERSION_MIN_MACOSX = 0x24
MACOSX_10_6 = 0x000A0600
S_NON_LAZY_SYMBOL_POINTERS = 0x6
S_SYMBOL_STUBS = 0x8
S_ATTR_SELF_MODIFYING_CODE = 0x04000000
R_SCATTERED = 0x80000000
GENERIC_TYPES = {"VANILLA": 0, "PAIR": 1, "SECTDIFF": 2, "LOCAL_SECTDIFF": 4}
LENGTH = {1: 0, 2: 1, 4: 2}
HEADER_SIZE = 28
NLIST_SIZE = 12


@dataclass(frozen=True)
class GenericReloc:
    """One generic relocation entry.  Plain: extern against `symbol`, or non-extern against
    `section` ("SEGMENT,section").  Scattered: `value` (r_value) is set.  A difference
    (SECTDIFF, LOCAL_SECTDIFF) is scattered and carries its PAIR's r_value in `pair`."""

    offset: int
    type: str
    length: int  # bytes: 1, 2 or 4
    pcrel: bool = False
    symbol: str = ""
    section: str = ""
    value: int | None = None
    pair: int | None = None


@dataclass(frozen=True)
class Section32:
    segment: str
    name: str
    align: int
    addr: int  # in the object's address space
    data: bytes  # empty for zerofill
    size: int
    code: bool
    zerofill: bool
    relocs: tuple[GenericReloc, ...]
    indirect: tuple[str, ...] = ()  # an indirect section: the symbol of each slot or entry
    stub_size: int = 0  # a jump table (S_SYMBOL_STUBS): bytes per entry


@dataclass(frozen=True)
class MachoImage32:
    sections: tuple[Section32, ...]
    symbols: tuple[MachoSymbol, ...]


def _scattered(offset: int, r_type: str, length: int, pcrel: bool, value: int) -> bytes:
    assert 0 <= offset < 1 << 24, offset
    word = (R_SCATTERED | int(pcrel) << 30 | LENGTH[length] << 28
            | GENERIC_TYPES[r_type] << 24 | offset)
    return struct.pack("<II", word, value & 0xFFFFFFFF)


def _reloc(r: GenericReloc, ordinal: dict[str, int], index: dict[str, int]) -> bytes:
    if r.value is not None:
        out = _scattered(r.offset, r.type, r.length, r.pcrel, r.value)
        if r.pair is not None:
            out += _scattered(0, "PAIR", r.length, r.pcrel, r.pair)
        return out
    extern = not r.section
    num = index[r.symbol] if extern else ordinal[r.section]
    packed = (num | int(r.pcrel) << 24 | LENGTH[r.length] << 25 | int(extern) << 27
              | GENERIC_TYPES[r.type] << 28)
    return struct.pack("<iI", r.offset, packed)


def _entries(r: GenericReloc) -> int:
    return 2 if r.pair is not None else 1


def write_macho_i386(image: MachoImage32) -> bytes:
    """The bytes of the MH_OBJECT file."""
    secs = image.sections
    ordinal = {f"{s.segment},{s.name}": i + 1 for i, s in enumerate(secs)}
    symbols, n_local, n_ext, n_undef = ordered_symbols(image.symbols)
    index = {s.name: i for i, s in enumerate(symbols)}
    seg_cmd_size = 56 + 68 * len(secs)
    cmds_size = seg_cmd_size + 16 + 24 + 80
    start = HEADER_SIZE + cmds_size  # a section's contents lie at start + its address
    offsets = [0 if s.zerofill else start + s.addr for s in secs]
    data_end = max((o + len(s.data) for o, s in zip(offsets, secs) if not s.zerofill),
                   default=start)
    at = data_end
    reloc_at = []
    at = align_up(at, 4)
    for s in secs:
        reloc_at.append(at if s.relocs else 0)
        at += 8 * sum(map(_entries, s.relocs))
    indirect_at = at
    first_slot: list[int] = []
    n_indirect = 0
    for s in secs:
        first_slot.append(n_indirect)
        n_indirect += len(s.indirect)
    symoff = indirect_at + 4 * n_indirect
    strtab, names = string_table(symbols)
    strtab += bytes(align_up(len(strtab), 4) - len(strtab))
    stroff = symoff + NLIST_SIZE * len(symbols)
    vmsize = max((s.addr + s.size for s in secs), default=0)
    filesize = data_end - start
    vmsize = max(vmsize, filesize)  # as emit_macho.py: llvm-ar refuses filesize > vmsize
    out = bytearray(struct.pack("<IiiIIII", MH_MAGIC, CPU_TYPE_I386, CPU_SUBTYPE_I386_ALL,
                                MH_OBJECT, 4, cmds_size, 0))
    out += struct.pack("<II16sIIIIiiII", LC_SEGMENT, seg_cmd_size, b"\0" * 16, 0, vmsize,
                       start, filesize, VM_PROT_ALL, VM_PROT_ALL, len(secs),
                       0)
    for s, off, rel, first in zip(secs, offsets, reloc_at, first_slot):
        flags = S_ZEROFILL if s.zerofill else 0
        if s.stub_size:
            flags = (S_SYMBOL_STUBS | S_ATTR_SELF_MODIFYING_CODE | S_ATTR_PURE_INSTRUCTIONS
                     | S_ATTR_SOME_INSTRUCTIONS)
        elif s.indirect:
            flags = S_NON_LAZY_SYMBOL_POINTERS
        if s.code:
            flags |= S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS
        if s.segment == "__DWARF":
            flags |= S_ATTR_DEBUG  # fuzz/macho/dwarf.py's sections
        out += name16(s.name) + name16(s.segment)
        out += struct.pack("<IIIIIIIII", s.addr, s.size, off, s.align.bit_length() - 1, rel,
                           sum(map(_entries, s.relocs)), flags, first if s.indirect else 0,
                           s.stub_size)
    out += struct.pack("<IIII", LC_VERSION_MIN_MACOSX, 16, MACOSX_10_6, 0)
    out += struct.pack("<IIIIII", LC_SYMTAB, 24, symoff, len(symbols), stroff, len(strtab))
    out += struct.pack("<II18I", LC_DYSYMTAB, 80, 0, n_local, n_local, n_ext,
                       n_local + n_ext, n_undef, 0, 0, 0, 0, 0, 0,
                       indirect_at if n_indirect else 0, n_indirect, 0, 0, 0, 0)
    for s, off in zip(secs, offsets):
        if not s.zerofill:
            out += bytes(off - len(out)) + s.data
    out += bytes(align_up(len(out), 4) - len(out))
    for s in secs:
        for r in sorted(s.relocs, key=lambda r: -r.offset):
            out += _reloc(r, ordinal, index)
    assert len(out) == indirect_at, (len(out), indirect_at)
    for s in secs:
        for name in s.indirect:
            out += struct.pack("<I", index[name])
    for sym, strx in zip(symbols, names):
        out += nlist(sym, strx, ordinal, wide=False)
    out += strtab
    return bytes(out)
