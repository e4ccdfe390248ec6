"""The classic dynamic relocations of an executable: LC_DYSYMTAB's external relocations
(extreloff/nextrel) and local relocations (locreloff/nlocrel), as dyld before LC_DYLD_INFO
(ImageLoaderMachOClassic) reads and applies them.

Each entry is a `relocation_info`: r_address (int32), then r_symbolnum:24, r_pcrel:1,
r_length:2, r_extern:1, r_type:4 (<mach-o/reloc.h>).  r_address counts from a base that
depends on the arch (ImageLoaderMachOClassic::getRelocBase, and dyld3's
MachOAnalyzer::localRelocBaseAddress): the first writable segment's address on x86_64, the
first segment's address (__PAGEZERO's 0 in an executable) on i386.

- An external entry (r_extern=1) fills the pointer at its place with the address of the
  undefined symbol r_symbolnum (found through its n_desc library ordinal) plus what the
  pointer already holds (the addend).
- A local entry (r_extern=0, r_symbolnum a section ordinal) adds the slide.

What dyld refuses (`dyld_problem`): a length other than the pointer's, a type other than
the plain pointer (X86_64_RELOC_UNSIGNED / GENERIC_RELOC_VANILLA, both 0), pc-relative or
extern local entries, and a place outside the mapped image.  Scattered entries (i386's
R_SCATTERED bit in r_address) are not read: our linker never writes them, and they are
reported as such.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage, Symbol

R_SCATTERED = 0x80000000
POINTER_RELOC = 0  # X86_64_RELOC_UNSIGNED and GENERIC_RELOC_VANILLA
ENTRY = struct.Struct("<iI")
MAX_ENTRIES = 1 << 18  # more than any program under test: a corrupt count


@dataclass(frozen=True)
class RelocationEntry:
    table: str  # "external" or "local"
    index: int
    r_address: int
    symbolnum: int
    pcrel: bool
    length: int  # log2 of the field's size
    extern: bool
    type: int
    address: int  # r_address + the relocation base

    @property
    def where(self) -> str:
        return f"{self.table} relocation {self.index}"


def relocation_base(img: MachOImage) -> int:
    """What r_address counts from (see the module note)."""
    if img.cputype == mi.CPU_TYPE_X86_64:
        writable = next((s for s in img.segments if s.writable), None)
        if writable is None:
            raise mi.MachOError("LC_DYSYMTAB", "relocations, but no writable segment to "
                                               "count x86_64 r_address from")
        return writable.vmaddr
    if not img.segments:
        raise mi.MachOError("LC_DYSYMTAB", "relocations, but no segment")
    return img.segments[0].vmaddr


def entries(img: MachOImage, table: str) -> list[RelocationEntry]:
    """The entries of the "external" or "local" table (MachOError when outside the file)."""
    if img.dysymtab is None:
        return []
    offset, count = (img.dysymtab[14], img.dysymtab[15]) if table == "external" else (
        img.dysymtab[16], img.dysymtab[17])
    if not count:
        return []
    if count > MAX_ENTRIES:
        raise mi.MachOError("LC_DYSYMTAB", f"{count} {table} relocations is a corrupt count")
    raw = img.bytes_at(offset, ENTRY.size * count, f"LC_DYSYMTAB {table} relocations")
    base = relocation_base(img)
    out = []
    for index, (r_address, word) in enumerate(ENTRY.iter_unpack(raw)):
        out.append(RelocationEntry(table, index, r_address, word & 0xFFFFFF,
                                   bool(word >> 24 & 1), word >> 25 & 3, bool(word >> 27 & 1),
                                   word >> 28, base + r_address))
    return out


def dyld_problem(img: MachOImage, e: RelocationEntry) -> str | None:
    """Why dyld would refuse this entry, or None."""
    word = img.word
    if e.r_address & R_SCATTERED and img.cputype != mi.CPU_TYPE_X86_64:  # the sign bit
        return "a scattered relocation (not read here)"
    if 1 << e.length != word:
        return f"r_length {e.length} is not the pointer's ({word.bit_length() - 1})"
    if e.type != POINTER_RELOC:
        return f"r_type {e.type} is not the plain pointer type (0)"
    if e.pcrel:
        return "r_pcrel is set"
    if e.extern != (e.table == "external"):
        return f"r_extern {int(e.extern)} in the {e.table} table"
    if img.segment_at(e.address, word) is None:
        return f"its place {e.address:#x} is not in a segment of the image"
    return None


class RelocationError(Exception):
    """dyld refuses an entry: the launch fails."""

    def __init__(self, address: int, message: str) -> None:
        super().__init__(message)
        self.address = address
        self.message = message


def apply(img: MachOImage, read_word: Callable[[int], int], store: Callable[[int, int], None],
          resolve: Callable[[Symbol, int], int], slide: int = 0) -> None:
    """Apply the local relocations (add the slide) and then the external ones (add the
    symbol's address), in dyld's order: rebase, then bind.  `resolve(symbol, place)` is the
    address of an undefined symbol (raising as dyld would when it is not found)."""
    word = img.word
    symbols = img.symbols()
    for table in ("local", "external"):
        for e in entries(img, table):
            problem = dyld_problem(img, e)
            seg = img.segment_at(e.address, word)
            if problem is None and seg is not None and not seg.writable:
                problem = f"its place {e.address:#x} is in {seg.name}, which is not writable"
            if problem is None and e.extern and e.symbolnum >= len(symbols):
                problem = f"r_symbolnum {e.symbolnum} is past the symbol table ({len(symbols)})"
            if problem is not None:
                raise RelocationError(e.address, f"{e.where}: {problem}")
            if e.extern:
                value = read_word(e.address) + resolve(symbols[e.symbolnum], e.address)
            else:
                value = read_word(e.address) + slide
            store(e.address, value & ((1 << 8 * word) - 1))
