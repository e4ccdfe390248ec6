"""Classic dynamic relocations: LC_DYSYMTAB's external and local relocation entries.

Before LC_DYLD_INFO (Mac OS X 10.6), a static linker told dyld about the pointers in an
image through two tables of `relocation_info` entries in __LINKEDIT:

- external relocations (extreloff/nextrel): a pointer-sized word to fill with the address
  of an undefined symbol.  r_extern = 1, r_symbolnum = that symbol's index in the symbol
  table (dyld resolves it through n_desc's library ordinal), and the addend is whatever the
  word already holds: dyld adds the symbol's address to it.
- local relocations (locreloff/nlocrel): a pointer-sized word that holds an address inside
  the image and must move with the slide.  r_extern = 0, r_symbolnum = the ordinal of the
  section the pointer points into (never R_ABS, 0, which dyld skips on i386).

Both kinds are r_pcrel = 0, r_length = log2(pointer size) (3 for 64-bit images, 2 for
32-bit), and the arch's plain pointer type (X86_64_RELOC_UNSIGNED / GENERIC_RELOC_VANILLA).

r_address is not an address: it is an offset from a base that depends on the arch.  dyld's
ImageLoaderMachOClassic::getRelocBase (and dyld3's MachOAnalyzer::localRelocBaseAddress)
use the first *writable* segment's address on x86_64, and the first segment's address
(__PAGEZERO's 0 in an executable, so r_address is the address itself) on every other arch,
i386 included.

Word-size neutral on purpose: i386 classic links use the same entries with length 2.
"""

from __future__ import annotations

import struct

from ..records import dataclass

RELOCATION_INFO_SIZE = 8


@dataclass(frozen=True, slots=True)
class DyldReloc:
    address: int  # of the pointer-sized word
    symbolnum: int  # symbol index (external) or section ordinal (local)


@dataclass(frozen=True, slots=True)
class SegmentSpan:
    vmaddr: int
    writable: bool


def relocation_base(from_first_writable: bool, segments: list[SegmentSpan]) -> int:
    """What r_address counts from (`from_first_writable`: the arch's
    MachoTraits.reloc_base_writable).  `segments` in load-command order, __PAGEZERO
    first."""
    if from_first_writable:
        # An image without a writable segment has nothing to relocate: any base will do
        # (found by a code-only archive sample, now fuzz/macho/archive.py's CODE_ONLY).
        return next((s.vmaddr for s in segments if s.writable), segments[0].vmaddr)
    return segments[0].vmaddr


def encode(entries: list[DyldReloc], *, extern: bool, pointer_type: int, word: int,
           base: int) -> bytes:
    """relocation_info entries, sorted by address: r_address (int32), then r_symbolnum:24,
    r_pcrel:1, r_length:2, r_extern:1, r_type:4 packed little-endian.  `pointer_type`: the
    arch's plain pointer relocation (MachoTraits.pointer_reloc)."""
    length = word.bit_length() - 1
    rtype = pointer_type
    out = bytearray()
    for e in sorted(entries, key=lambda e: e.address):
        offset = e.address - base
        assert -(1 << 31) <= offset < 1 << 31 and 0 <= e.symbolnum < 1 << 24, e
        out += struct.pack("<iI", offset, e.symbolnum | length << 25 | int(extern) << 27
                           | rtype << 28)
    return bytes(out)
