"""The relocation-field oracle's reading of Mach-O x86-64 relocatable objects (MH_OBJECT):
sections with their bytes, nlist symbols, and every relocation_info record decoded by hand
(macholib does not decode them), SUBTRACTOR entries paired with the UNSIGNED that follows.

relocation_info is two 32-bit words: r_address (offset in the section), then r_symbolnum
(24 bits: a symbol index when r_extern, else a 1-based section ordinal), r_pcrel (1 bit),
r_length (2 bits: log2 of the width), r_extern (1 bit) and r_type (4 bits).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import Section, Symbol

MH_OBJECT = 1
UNSIGNED, SIGNED, BRANCH, GOT_LOAD, GOT, SUBTRACTOR = 0, 1, 2, 3, 4, 5
SIGNED_1, SIGNED_2, SIGNED_4, TLV = 6, 7, 8, 9
TYPE_NAMES = {UNSIGNED: "UNSIGNED", SIGNED: "SIGNED", BRANCH: "BRANCH", GOT_LOAD: "GOT_LOAD",
              GOT: "GOT", SUBTRACTOR: "SUBTRACTOR", SIGNED_1: "SIGNED_1", SIGNED_2: "SIGNED_2",
              SIGNED_4: "SIGNED_4", TLV: "TLV"}
# bytes between the end of a SIGNED_N field and the end of its instruction
TRAILING = {SIGNED: 0, SIGNED_1: 1, SIGNED_2: 2, SIGNED_4: 4, BRANCH: 0, GOT_LOAD: 0, GOT: 0}


class ObjectError(Exception):
    """The input is not a readable x86-64 MH_OBJECT."""


@dataclass(frozen=True)
class Target:
    """One operand of a relocation: a symbol (extern) or a section ordinal."""

    extern: bool
    index: int  # symbol index, or 1-based section ordinal


@dataclass(frozen=True)
class MachOReloc:
    section: int  # 0-based index of the section holding the field
    offset: int  # r_address
    type: int
    pcrel: bool
    width: int  # bytes
    target: Target
    subtrahend: Target | None = None  # the SUBTRACTOR half of a pair

    @property
    def type_name(self) -> str:
        name = TYPE_NAMES.get(self.type, f"type {self.type}")
        return f"X86_64_RELOC_{name}" + ("+SUBTRACTOR" if self.subtrahend else "")


@dataclass(frozen=True)
class MachOObject:
    path: str
    sections: list[Section]
    data: list[bytes]  # each section's bytes (zeros for zerofill)
    symbols: list[Symbol]
    relocs: list[MachOReloc]

    def inplace(self, r: MachOReloc, signed: bool = True) -> int:
        """The addend or address the assembler left in the field."""
        raw = self.data[r.section][r.offset : r.offset + r.width]
        return int.from_bytes(raw, "little", signed=signed)


def read_object(path: str | Path) -> MachOObject:
    data = Path(path).read_bytes()
    try:
        img = mi.parse(data)
    except mi.MachOError as err:
        raise ObjectError(f"{path}: {err}") from None
    if img.filetype != MH_OBJECT or img.cputype != mi.CPU_TYPE_X86_64:
        raise ObjectError(f"{path}: not an x86-64 MH_OBJECT")
    sections = img.sections()
    contents = [bytes(s.size) if s.zerofill else img.bytes_at(s.offset, s.size, s.name)
                for s in sections]
    relocs: list[MachOReloc] = []
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
    return MachOObject(str(path), sections, contents, img.symbols(), relocs)
