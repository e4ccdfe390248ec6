"""The i386 half of the MH_OBJECT reader: generic relocations, and the sections the
assembler itself made indirect.

Relocations.  Every entry is turned into (offset, howto, symbol, addend) against either a
real symbol (extern entries) or the per-section symbols read.py appends after the real
ones (number `nsyms + ordinal - 1`), exactly as for x86-64; what differs is where the
target comes from (relocs_i386.py has the encodings):

* a plain non-extern entry names a section ordinal, and the field holds the target's
  object address (pc-relative: minus P + width);
* a scattered entry (top bit of r_address) gives the target's object address in r_value,
  and the field holds that plus the addend -- the form "symbol + offset" takes when the
  offset would carry the field into another item (`&arr[3]`, `_arr+20`);
* SECTDIFF / LOCAL_SECTDIFF, then a PAIR: minuend and subtrahend addresses.

A target address becomes "symbol + addend" thus: for a scattered or SECTDIFF minuend, an
external symbol defined at exactly that address, if there is one (so a weak definition
that loses resolution is replaced by the winner, as ld64 does by finding the atom); else
the symbol of the section holding the address.  The subtrahend is always a section symbol:
the difference of two places in sections that move as wholes is then S - T + A with A =
field - (S_obj - T_obj).

Indirect sections.  An i386 object reaches imported data through `__IMPORT,__pointers`
(S_NON_LAZY_SYMBOL_POINTERS): each 4-byte slot is named by an entry of the object's
indirect symbol table (from the section's reserved1 on), and carries no relocation.  The
reader gives each named slot an absolute word relocation against its symbol, so the
slot is an ordinary pointer in writable data: bound by dyld (modern: bind opcodes; classic:
the indirect table the writer rebuilds for `__pointers`) or filled at link time when the
symbol is defined.  Slots marked INDIRECT_SYMBOL_LOCAL/ABS keep their bytes and
relocations.  A `__jump_table` (S_SYMBOL_STUBS, 5-byte entries, older assemblers) becomes
`jmp rel32` per entry with a PLT_PC relocation to its symbol, so a call through it reaches
the output's stub.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import LinkError
from ..model import (
    RELOC_DTYPE,
    Binding,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
)
from . import relocs_i386 as G

if TYPE_CHECKING:  # read.py imports this module: the header type only for the checker
    from .read import SectionHeader

Fail = Callable[..., LinkError]
SCATTERED = 0x80000000
INDIRECT_SYMBOL_LOCAL, INDIRECT_SYMBOL_ABS = 0x80000000, 0x40000000
SECTION_TYPE = 0xFF
S_NON_LAZY_SYMBOL_POINTERS, S_LAZY_SYMBOL_POINTERS, S_SYMBOL_STUBS = 0x6, 0x7, 0x8
S_LAZY_DYLIB_SYMBOL_POINTERS = 0x10
JUMP = b"\xe9\0\0\0\0"  # jmp rel32: a __jump_table entry, rewritten
_FIELD = {1: "<b", 2: "<h", 4: "<i"}


class Places:
    """Object addresses -> (symbol, its object address), for one object."""

    def __init__(self, obj: ObjectFile, headers: Sequence[SectionHeader], nsyms: int) -> None:
        self.obj, self.headers, self.nsyms = obj, headers, nsyms
        t = obj.symbols
        self.external: dict[tuple[int, int], int] = {}
        for n in range(nsyms):
            sect = int(t.section[n])
            if sect > 0 and t.binding[n] != Binding.LOCAL:
                addr = headers[sect - 1].addr + int(t.value[n])
                self.external.setdefault((sect, addr), n)

    def section_of(self, addr: int, hint: int = 0) -> int:
        """Ordinal of the section holding `addr` (its end counts, for the hint)."""
        if hint and self.headers[hint - 1].addr <= addr <= self.headers[hint - 1].addr \
                + self.headers[hint - 1].size:
            return hint
        for n, h in enumerate(self.headers, start=1):
            if h.addr <= addr < h.addr + h.size:
                return n
        for n, h in enumerate(self.headers, start=1):
            if addr == h.addr + h.size:
                return n
        return 0

    def symbol_at(self, addr: int, fail: Fail, sec: InputSection, at: int,
                  hint: int = 0, external: bool = True) -> tuple[int, int]:
        """(symbol index, its object address) standing for the place `addr`."""
        ordinal = self.section_of(addr, hint)
        if not ordinal:
            raise fail(f"relocation target {addr:#x} lies in no section of the object",
                       section=sec.name, offset=at)
        if self.obj.sections[ordinal] is None:
            raise fail(f"relocation targets the dropped section "
                       f"{self.headers[ordinal - 1].sectname}", section=sec.name, offset=at)
        if external and (ordinal, addr) in self.external:
            return self.external[(ordinal, addr)], addr
        return self.nsyms + ordinal - 1, self.headers[ordinal - 1].addr


def relocations(fail: Fail, file: memoryview, obj: ObjectFile, sec: InputSection,
                headers: Sequence[SectionHeader], reloff: int, nreloc: int, nsyms: int,
                places: Places | None = None) -> RelocTable:
    data = sec.data
    if reloff + nreloc * 8 > len(file):
        raise fail("relocation entries run past end of file", section=sec.name, offset=reloff)
    raw_bytes = bytes(file[reloff:reloff + nreloc * 8])
    places = places or Places(obj, headers, nsyms)
    sec_addr = headers[sec.index - 1].addr
    rows: list[tuple[int, int, int, int]] = []
    subtrahends: list[int] = []
    entries = [struct.unpack_from("<II", raw_bytes, 8 * n) for n in range(nreloc)]
    n = 0
    while n < len(entries):
        word0, word1 = entries[n]
        n += 1
        if word0 & SCATTERED:
            address = word0 & 0xFFFFFF
            rtype, length, pcrel = (word0 >> 24) & 0xF, (word0 >> 28) & 3, (word0 >> 30) & 1
            extern, symnum, value = 0, 0, word1
        else:
            address, value = word0, 0
            symnum, pcrel = word1 & 0xFFFFFF, (word1 >> 24) & 1
            length, extern, rtype = (word1 >> 25) & 3, (word1 >> 27) & 1, word1 >> 28
        scattered = bool(word0 & SCATTERED)
        if rtype == G.PB_LA_PTR:
            raise fail(f"{G.NAMES[rtype]}: prebound lazy pointers are not supported",
                       section=sec.name, offset=address)
        if rtype == G.TLV and not (extern and length == 2):
            raise fail(f"{G.NAMES[rtype]} must be extern and 4 bytes (a descriptor load)",
                       section=sec.name, offset=address)
        if rtype == G.PAIR:
            raise fail("GENERIC_RELOC_PAIR without a SECTDIFF before it", section=sec.name,
                       offset=address)
        key = (rtype, pcrel, length)
        if key not in G.HOWTO_INDEX:
            raise fail(f"unsupported relocation {G.describe(rtype, pcrel, length)}",
                       section=sec.name, offset=address)
        width = G.WIDTH[length]
        if data is None or address + width > sec.size:
            raise fail(f"relocation at {address:#x} runs past the end of the section",
                       section=sec.name, offset=address)
        field = struct.unpack_from(_FIELD[width], data, address)[0]
        p_obj = sec_addr + address  # the field's object address
        howto = G.HOWTO_INDEX[key]
        if rtype in G.DIFFERENCES:
            if n >= len(entries) or not entries[n][0] & SCATTERED \
                    or (entries[n][0] >> 24) & 0xF != G.PAIR:
                raise fail(f"{G.NAMES[rtype]} not followed by a scattered GENERIC_RELOC_PAIR",
                           section=sec.name, offset=address)
            subtrahend_addr = entries[n][1]
            n += 1
            minuend, m_addr = places.symbol_at(value, fail, sec, address,
                                               external=rtype == G.SECTDIFF)
            subtrahend, s_addr = places.symbol_at(subtrahend_addr, fail, sec, address,
                                                  external=False)
            rows.append((address, howto, minuend, field - m_addr + s_addr))
            subtrahends.append(subtrahend)
            continue
        if extern:
            if symnum >= nsyms:
                raise fail(f"relocation refers to symbol {symnum}, but there are only "
                           f"{nsyms}", section=sec.name, offset=address)
            symbol = symnum
            # pc-relative: field = addend - (P_obj + width); L + A - P wants A = addend - width.
            # TLV's field holds the addend alone (relocs_i386.py): pc-relative, it counts
            # from the field's end like the rest.
            if rtype == G.TLV:
                addend = field - width if pcrel else field
            else:
                addend = field + p_obj if pcrel else field
        else:
            target = field + p_obj + width if pcrel else field
            if scattered:
                symbol, base = places.symbol_at(value, fail, sec, address)
            else:
                if not 1 <= symnum <= len(headers):
                    raise fail(f"relocation names section {symnum}, outside "
                               f"1..{len(headers)}", section=sec.name, offset=address)
                symbol, base = places.symbol_at(target, fail, sec, address, hint=symnum,
                                                external=False)
            addend = target - base - (width if pcrel else 0)
        rows.append((address, howto, symbol, addend))
        subtrahends.append(-1)
    table = np.array(rows, dtype=RELOC_DTYPE) if rows else np.zeros(0, RELOC_DTYPE)
    sub = np.array(subtrahends, dtype=np.int64)
    return RelocTable(table, sub if (sub >= 0).any() else None)


def indirect_sections(fail: Fail, obj: ObjectFile, headers: Sequence[SectionHeader],
                      indirect: list[int], nsyms: int, word: int) -> None:
    """Give pointer slots and jump-table entries the relocations their indirect symbols
    imply (see the module's essay)."""
    for ordinal, h in enumerate(headers, start=1):
        sec = obj.sections[ordinal]
        kind = h.flags & SECTION_TYPE
        if sec is None or kind not in (S_NON_LAZY_SYMBOL_POINTERS, S_LAZY_SYMBOL_POINTERS,
                                       S_SYMBOL_STUBS, S_LAZY_DYLIB_SYMBOL_POINTERS):
            continue
        if kind in (S_LAZY_SYMBOL_POINTERS, S_LAZY_DYLIB_SYMBOL_POINTERS):
            raise fail("lazy symbol pointers in an object are not supported", section=sec.name)
        if word != 4:  # x86-64 objects reach imports through GOT relocations instead
            raise fail("indirect (pointer or stub) sections in an x86-64 object are not "
                       "supported", section=sec.name)
        entry = word if kind == S_NON_LAZY_SYMBOL_POINTERS else h.reserved2
        if entry <= 0 or h.size % entry:
            raise fail(f"indirect section size {h.size:#x} is not a multiple of its "
                       f"entry size {entry}", section=sec.name)
        count = h.size // entry
        if h.reserved1 + count > len(indirect):
            raise fail(f"indirect section needs indirect symbols {h.reserved1}.."
                       f"{h.reserved1 + count - 1}, the table has {len(indirect)}",
                       section=sec.name)
        names = indirect[h.reserved1:h.reserved1 + count]
        if kind == S_NON_LAZY_SYMBOL_POINTERS:
            _pointers(fail, obj, sec, names, nsyms, word)
        else:
            _jump_table(fail, obj, sec, names, nsyms, entry)


def _named(fail: Fail, sec: InputSection, index: int, nsyms: int, at: int) -> int | None:
    if index & (INDIRECT_SYMBOL_LOCAL | INDIRECT_SYMBOL_ABS):
        return None
    if index >= nsyms:
        raise fail(f"indirect symbol {index} is past the symbol table ({nsyms})",
                   section=sec.name, offset=at)
    return index


def _pointers(fail: Fail, obj: ObjectFile, sec: InputSection, names: list[int], nsyms: int,
              word: int) -> None:
    howto = G.HOWTO_INDEX[(G.VANILLA, 0, 2)]
    named = {}
    for n, index in enumerate(names):
        symbol = _named(fail, sec, index, nsyms, n * word)
        if symbol is not None:
            named[n * word] = symbol
    sec.flags |= SectionFlags.WRITE
    sec.role = SectionRole.NON_LAZY_POINTERS
    _replace_rows(sec, {off: (off, howto, sym, 0) for off, sym in named.items()})


def _jump_table(fail: Fail, obj: ObjectFile, sec: InputSection, names: list[int], nsyms: int,
                entry: int) -> None:
    if entry < len(JUMP):
        raise fail(f"stub entries of {entry} bytes cannot hold a jmp rel32", section=sec.name)
    howto = G.HOWTO_INDEX[(G.VANILLA, 1, 2)]
    data = bytearray(sec.data if sec.data is not None else bytes(sec.size))
    new = {}
    for n, index in enumerate(names):
        symbol = _named(fail, sec, index, nsyms, n * entry)
        if symbol is None:
            raise fail("a jump-table entry must name a symbol", section=sec.name,
                       offset=n * entry)
        data[n * entry:n * entry + len(JUMP)] = JUMP
        new[n * entry + 1] = (n * entry + 1, howto, symbol, -4)
    sec.data = bytes(data)
    sec.flags |= SectionFlags.EXEC
    _replace_rows(sec, new, span=entry)


def _replace_rows(sec: InputSection, new: dict[int, tuple[int, int, int, int]],
                  span: int = 0) -> None:
    """Drop the section's relocations at the rewritten places, add the new ones."""
    old = sec.relocs
    rows = old.rows
    keep = np.ones(len(rows), dtype=bool)
    if len(rows):
        offsets = rows["offset"]
        for at in new:
            start = at - 1 if span else at
            keep &= ~((offsets >= start) & (offsets < start + max(span, 1)))
    kept = rows[keep]
    added = np.array(list(new.values()), dtype=RELOC_DTYPE) if new else np.zeros(0, RELOC_DTYPE)
    subs = old.subtrahend[keep] if old.subtrahend is not None else np.full(len(kept), -1)
    table = np.concatenate([kept, added])
    sub = np.concatenate([subs.astype(np.int64), np.full(len(added), -1, dtype=np.int64)])
    order = np.argsort(table["offset"], kind="stable")
    sec.relocs = RelocTable(table[order], sub[order] if (sub >= 0).any() else None)


__all__ = ["Places", "indirect_sections", "relocations"]
