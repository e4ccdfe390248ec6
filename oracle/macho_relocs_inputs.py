"""The relocation-field oracle's reading of Mach-O relocatable objects (MH_OBJECT), x86-64
and i386: sections with their bytes, nlist symbols, the indirect symbol table, and every
relocation_info record decoded by hand (macholib does not decode them), SUBTRACTOR entries
paired with the UNSIGNED that follows.

relocation_info is two 32-bit words: r_address (offset in the section), then r_symbolnum
(24 bits: a symbol index when r_extern, else a 1-based section ordinal), r_pcrel (1 bit),
r_length (2 bits: log2 of the width), r_extern (1 bit) and r_type (4 bits).

i386 (GENERIC_RELOC_*) adds the scattered form (mach-o/reloc.h scattered_relocation_info):
when bit 31 of the first word is set, that word is r_scattered (1), r_pcrel (1), r_length
(2), r_type (4), r_address (24 bits), and the second word is r_value, the address in the
object of the target, which names the target's section when the field holds "symbol +
offset" that may lie outside it.  GENERIC_RELOC_SECTDIFF and LOCAL_SECTDIFF are scattered
and followed by a GENERIC_RELOC_PAIR whose r_value is the subtrahend's address.  Every
fact was established by assembling with llvm-mc-14 -triple i386-apple-macosx10.6
(tests/oracle/macho/test_i386_relocs.py keeps those experiments).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import Section, Symbol
from oracle.records import quick_init
from oracle.regular_file import read_regular

MH_OBJECT = 1
UNSIGNED, SIGNED, BRANCH, GOT_LOAD, GOT, SUBTRACTOR = 0, 1, 2, 3, 4, 5
SIGNED_1, SIGNED_2, SIGNED_4, TLV = 6, 7, 8, 9
TYPE_NAMES = {UNSIGNED: "UNSIGNED", SIGNED: "SIGNED", BRANCH: "BRANCH", GOT_LOAD: "GOT_LOAD",
              GOT: "GOT", SUBTRACTOR: "SUBTRACTOR", SIGNED_1: "SIGNED_1", SIGNED_2: "SIGNED_2",
              SIGNED_4: "SIGNED_4", TLV: "TLV"}
# bytes between the end of a SIGNED_N field and the end of its instruction
TRAILING = {SIGNED: 0, SIGNED_1: 1, SIGNED_2: 2, SIGNED_4: 4, BRANCH: 0, GOT_LOAD: 0, GOT: 0}
# i386 (mach-o/reloc.h)
VANILLA, PAIR, SECTDIFF, PB_LA_PTR, LOCAL_SECTDIFF, GENERIC_TLV = 0, 1, 2, 3, 4, 5
GENERIC_NAMES = {VANILLA: "VANILLA", PAIR: "PAIR", SECTDIFF: "SECTDIFF",
                 PB_LA_PTR: "PB_LA_PTR", LOCAL_SECTDIFF: "LOCAL_SECTDIFF", GENERIC_TLV: "TLV"}
R_SCATTERED = 0x80000000


class ObjectError(Exception):
    """The input is not a readable x86-64 or i386 MH_OBJECT."""


@quick_init
@dataclass(frozen=True)
class Target:
    """One operand of a relocation: a symbol (extern) or a section ordinal."""

    extern: bool
    index: int  # symbol index, or 1-based section ordinal


@quick_init
@dataclass(frozen=True)
class MachOReloc:
    section: int  # 0-based index of the section holding the field
    offset: int  # r_address
    type: int
    pcrel: bool
    width: int  # bytes
    target: Target
    subtrahend: Target | None = None  # the SUBTRACTOR half of a pair
    generic: bool = False  # an i386 GENERIC_RELOC_* entry (the fields below are i386's)
    scattered: bool = False
    value: int | None = None  # a scattered entry's r_value: the target's object address
    pair_value: int | None = None  # a SECTDIFF's PAIR r_value: the subtrahend's address

    @property
    def type_name(self) -> str:
        if self.generic:
            name = GENERIC_NAMES.get(self.type, f"type {self.type}")
            return f"GENERIC_RELOC_{name}" + (" (scattered)" if self.scattered else "")
        name = TYPE_NAMES.get(self.type, f"type {self.type}")
        return f"X86_64_RELOC_{name}" + ("+SUBTRACTOR" if self.subtrahend else "")


@dataclass(frozen=True)
class MachOObject:
    path: str
    sections: list[Section]
    data: list[bytes]  # each section's bytes (zeros for zerofill)
    symbols: list[Symbol]
    relocs: list[MachOReloc]
    indirect: tuple[int, ...] = ()  # the indirect symbol table (S_*_SYMBOL_POINTERS, stubs)
    word: int = 8  # 4 for i386

    def inplace(self, r: MachOReloc, signed: bool = True) -> int:
        """The addend or address the assembler left in the field."""
        raw = self.data[r.section][r.offset : r.offset + r.width]
        return int.from_bytes(raw, "little", signed=signed)


ZEROFILL_HELD = 1 << 20


FAT_MAGIC = b"\xca\xfe\xba\xbe"


def _slice(path: str | Path, data: bytes, cputype: int) -> bytes:
    """The `cputype` slice of a universal (fat) file, as a linker picks it; else `data`."""
    if not data.startswith(FAT_MAGIC) or len(data) < 8:
        return data
    count = int.from_bytes(data[4:8], "big")
    for at in range(8, min(8 + 20 * count, len(data) - 19), 20):
        cpu, _sub, offset, size = struct.unpack_from(">IIII", data, at)
        if cpu == cputype:
            if offset + size > len(data):
                raise ObjectError(f"{path}: fat_arch slice {offset:#x}+{size:#x} past the end")
            return data[offset:offset + size]
    raise ObjectError(f"{path}: universal file without a slice of cputype {cputype:#x}")


def read_object(path: str | Path, cputype: int | None = None) -> MachOObject:
    """`cputype`: the output's, which picks the slice of a universal (fat) input."""
    data = read_regular(path)
    if cputype is not None:
        data = _slice(path, data, cputype)
    try:
        img = mi.parse(data)
    except mi.MachOError as err:
        raise ObjectError(f"{path}: {err}") from None
    cpu = mi.CPU_TYPE_X86_64 if img.is64 else mi.CPU_TYPE_I386
    if img.filetype != MH_OBJECT or img.cputype != cpu:
        raise ObjectError(f"{path}: not an x86-64 or i386 MH_OBJECT")
    sections = img.sections()
    symbols = img.symbols()
    for sym in symbols:  # the sites index sections by n_sect: one past them is no object
        if sym.defined_in_section and not 1 <= sym.sect <= len(sections):
            raise ObjectError(f"{path}: symbol {sym.name}: n_sect {sym.sect}, but there are "
                              f"{len(sections)} sections")
    # A zero-fill section's bytes are never relocated (it has none in the file), so a
    # bounded run of zeros stands for it: a hostile size (2**60) must not be allocated.
    contents = [bytes(min(s.size, ZEROFILL_HELD)) if s.zerofill
                else img.bytes_at(s.offset, s.size, s.name) for s in sections]
    if not img.is64:
        relocs = [r for index, sect in enumerate(sections)
                  for r in _generic_relocs(path, img, index, sect)]
        return MachOObject(str(path), sections, contents, symbols, relocs,
                           tuple(img.indirect_symbols()), 4)
    relocs = []
    for index, sect in enumerate(sections):
        raw = img.bytes_at(sect.reloff, 8 * sect.nreloc, f"{sect.name} relocations")
        pending: Target | None = None
        for address, info in struct.iter_unpack("<iI", raw):
            if address < 0:
                raise ObjectError(f"{path}: scattered relocation in {sect.name} (not x86-64)")
            rtype, extern = info >> 28, bool(info >> 27 & 1)
            target = Target(extern, info & 0xFFFFFF)
            if rtype == SUBTRACTOR:
                pending = target
                continue
            relocs.append(MachOReloc(index, address, rtype, bool(info >> 24 & 1),
                                     1 << (info >> 25 & 3), target, pending))
            pending = None
    return MachOObject(str(path), sections, contents, symbols, relocs,
                       tuple(img.indirect_symbols()))


def _generic_relocs(path: str | Path, img: mi.MachOImage, index: int,
                    sect: Section) -> list[MachOReloc]:
    """The i386 entries of one section: plain and scattered, each SECTDIFF with its PAIR."""
    raw = img.bytes_at(sect.reloff, 8 * sect.nreloc, f"{sect.name} relocations")
    words = list(struct.iter_unpack("<II", raw))
    out: list[MachOReloc] = []
    k = 0
    while k < len(words):
        first, second = words[k]
        k += 1
        if first & R_SCATTERED:
            rtype, width = first >> 24 & 0xF, 1 << (first >> 28 & 3)
            pcrel, address = bool(first >> 30 & 1), first & 0xFFFFFF
            pair = None
            if rtype in (SECTDIFF, LOCAL_SECTDIFF):
                if k >= len(words) or not words[k][0] & R_SCATTERED \
                        or words[k][0] >> 24 & 0xF != PAIR:
                    raise ObjectError(f"{path}: {sect.name}+{address:#x}: "
                                      f"{GENERIC_NAMES[rtype]} without a scattered PAIR after it")
                pair = words[k][1]
                k += 1
            target = Target(False, _section_ordinal(img, second))
            out.append(MachOReloc(index, address, rtype, pcrel, width, target, None, True,
                                  True, second, pair))
            continue
        rtype = second >> 28
        if rtype in (PAIR, SECTDIFF, LOCAL_SECTDIFF):
            raise ObjectError(f"{path}: {sect.name}+{first:#x}: a plain (not scattered) "
                              f"{GENERIC_NAMES[rtype]}")
        out.append(MachOReloc(index, first, rtype, bool(second >> 24 & 1),
                              1 << (second >> 25 & 3), Target(bool(second >> 27 & 1),
                                                              second & 0xFFFFFF),
                              None, True))
    return out


def _section_ordinal(img: mi.MachOImage, addr: int) -> int:
    """The 1-based ordinal of the section holding object address `addr` (or ending at it);
    0 when none does (an absolute value)."""
    sections = img.sections()
    for k, sect in enumerate(sections):
        if sect.addr <= addr < sect.addr + sect.size:
            return k + 1
    for k, sect in enumerate(sections):
        if addr == sect.addr + sect.size:
            return k + 1
    return 0
