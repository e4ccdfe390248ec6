"""The relocation-field oracle's view of a linked Mach-O executable: defined symbols, the
stub and GOT slot of each import (through the indirect symbol table), the binds dyld will
make, the pointers it slides, and where each input section landed.

Placement: an input section is found through its named symbols (the output's symbol
table gives their addresses; the base most of them agree on wins).  A C-string section
has no symbols worth the name and its strings may be merged, so each string is placed on
its own, by finding the same NUL-terminated bytes in the output's __cstring.
"""

from __future__ import annotations

import bisect
from collections import Counter
from pathlib import Path

from oracle.emulate.macho import chained
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage
from oracle.emulate.macho.opcodes import OpcodeError, decode_binds, decode_rebases
from oracle.emulate.macho.relocations import entries as dysymtab_relocations
from oracle.macho_relocs_inputs import GENERIC_TLV, GOT_LOAD, TLV, MachOObject, MachOReloc
from oracle.regular_file import read_regular

S_CSTRING_LITERALS = 2
N_ABS = 0x2
N_WEAK_DEF = 0x80


class Output:
    def __init__(self, path: str | Path) -> None:
        self.img: MachOImage = mi.parse(read_regular(path))
        # chained fixups: the pointers hold chain entries; judge the values dyld writes
        chained_binds, self._chained_slid = self._resolve_chains()
        symbols = self.img.symbols()
        self.defined: dict[str, list[int]] = {}
        self.external: dict[str, int] = {}  # the winning definition of each global name
        self.absolute: dict[str, int] = {}  # N_ABS definitions: a value, not an address
        for sym in symbols:
            if sym.type & mi.N_TYPE == N_ABS and not sym.type & mi.N_STAB and sym.name:
                self.absolute[sym.name] = sym.value
            if sym.defined_in_section and sym.name:
                self.defined.setdefault(sym.name, []).append(sym.value)
                if sym.type & mi.N_EXT:
                    self.external[sym.name] = sym.value
        self.stubs: dict[str, int] = {}
        self.got: dict[str, list[int]] = {}
        self.local_got: dict[int, list[int]] = {}  # value -> INDIRECT_SYMBOL_LOCAL slots
        indirect = self.img.indirect_symbols()
        word = self.img.word
        for sect in self.img.sections():
            # entries past the indirect table name nothing (and a corrupt size is huge)
            room = max(0, len(indirect) - sect.reserved1)
            if sect.type == mi.S_SYMBOL_STUBS and sect.reserved2:
                for i in range(min(sect.size // sect.reserved2, room)):
                    name = self._indirect_name(indirect, symbols, sect.reserved1 + i)
                    if name:
                        self.stubs.setdefault(name, sect.addr + i * sect.reserved2)
            elif sect.type == mi.S_NON_LAZY_SYMBOL_POINTERS:
                for i in range(min(sect.size // word, room)):
                    slot = sect.addr + word * i
                    name = self._indirect_name(indirect, symbols, sect.reserved1 + i)
                    if name:
                        self.got.setdefault(name, []).append(slot)
                    else:
                        self.local_got.setdefault(self.read_int(slot, word), []).append(slot)
        self.binds: dict[int, tuple[str, int]] = dict(chained_binds)
        info = self.img.dyld_info
        if info is not None:
            try:
                for b in decode_binds(self.img.bytes_at(*info.bind, "bind opcodes"),
                                      pointer_size=word):
                    if b.segment < len(self.img.segments):
                        self.binds[self.img.segments[b.segment].vmaddr + b.offset] = (
                            b.symbol, b.addend)
            except OpcodeError:
                pass  # the structural checker reports it; fields bound there stay unchecked
        # classic files: what LC_DYSYMTAB's external relocations make dyld write (address ->
        # symbol; the addend is what the pointer holds)
        self.extrel: dict[int, str] = {}
        try:
            for e in dysymtab_relocations(self.img, "external"):
                if e.extern and e.symbolnum < len(symbols):
                    self.extrel[e.address] = symbols[e.symbolnum].name
        except mi.MachOError:
            pass  # the checker's MACHO-EXTREL reports it
        self.slid = self._slid()

    def _slid(self) -> set[int] | None:
        """The pointers dyld moves with the slide, in an MH_PIE executable (None: the image
        is never slid, or its rebase opcodes do not decode, so nothing is judged): rebased
        ones (dyld info), else the local relocations and INDIRECT_SYMBOL_LOCAL non-lazy
        pointers (classic)."""
        img = self.img
        if img.filetype != mi.MH_EXECUTE or not img.flags & mi.MH_PIE:
            return None
        if img.chained_fixups is not None:
            return self._chained_slid
        try:
            if img.dyld_info is not None:
                raw = img.bytes_at(*img.dyld_info.rebase, "rebase opcodes")
                return {img.segments[r.segment].vmaddr + r.offset
                        for r in decode_rebases(raw, pointer_size=img.word, limit=img.fixup_limit)
                        if r.segment < len(img.segments)}
            slid = {e.address for e in dysymtab_relocations(img, "local")}
        except (OpcodeError, mi.MachOError):
            return None  # the checker says why
        indirect = img.indirect_symbols()
        for sect in img.sections():
            if sect.type == mi.S_NON_LAZY_SYMBOL_POINTERS:
                for i in range(min(sect.size // img.word, max(0, len(indirect) - sect.reserved1))):
                    if indirect[sect.reserved1 + i] & mi.INDIRECT_SYMBOL_LOCAL \
                            and not indirect[sect.reserved1 + i] & mi.INDIRECT_SYMBOL_ABS:
                        slid.add(sect.addr + img.word * i)
        return slid

    def _resolve_chains(self) -> tuple[dict[int, tuple[str, int]], set[int] | None]:
        """With LC_DYLD_CHAINED_FIXUPS, re-read the image with every rebased pointer holding
        its unslid target and every bound one 0 (as the opcodes' form leaves them); returns
        the binds (address -> symbol, addend) and the rebased addresses (None: the chains
        do not decode, which the checker reports)."""
        img = self.img
        if img.chained_fixups is None:
            return {}, set()
        try:
            fixups = chained.read_fixups(img)
        except (chained.ChainError, mi.MachOError):
            return {}, None
        data = bytearray(img.data)
        binds: dict[int, tuple[str, int]] = {}
        slid: set[int] = set()
        for f in fixups.fixups:
            seg = img.segment_at(f.address, 8)
            if seg is None:
                continue
            at = seg.fileoff + f.address - seg.vmaddr
            if f.bind:
                imp = fixups.imports[f.value]
                binds[f.address] = (imp.name, imp.addend + f.addend)
                data[at:at + 8] = bytes(8)
            else:
                slid.add(f.address)
                data[at:at + 8] = f.value.to_bytes(8, "little")
        self.img = mi.parse(bytes(data))
        return binds, slid

    @staticmethod
    def _indirect_name(indirect: list[int], symbols: list[mi.Symbol], k: int) -> str | None:
        if k >= len(indirect):
            return None
        entry = indirect[k]
        if entry & (mi.INDIRECT_SYMBOL_LOCAL | mi.INDIRECT_SYMBOL_ABS) or entry >= len(symbols):
            return None
        return symbols[entry].name

    def section_name_at(self, addr: int) -> str | None:
        """The name of the output section holding `addr` (or ending there), if any."""
        sections = list(self.img.sections())
        for sect in sections:
            if sect.addr <= addr < sect.addr + sect.size:
                return str(sect.name)
        for sect in sections:
            if addr == sect.addr + sect.size:
                return str(sect.name)
        return None

    def read(self, addr: int, size: int) -> bytes | None:
        for seg in self.img.segments:
            if seg.vmsize and seg.contains(addr, size):
                start = addr - seg.vmaddr
                if start + size <= seg.filesize:
                    return self.img.data[seg.fileoff + start : seg.fileoff + start + size]
                if start >= seg.filesize:
                    # zero fill; no field or literal section of a real output is larger
                    # than the file (a hostile section size would allocate exabytes)
                    return bytes(size) if size <= len(self.img.data) else None
                return None
        return None

    def read_int(self, addr: int, size: int) -> int:
        raw = self.read(addr, size)
        return int.from_bytes(raw, "little") if raw else 0

    def cstrings(self) -> list[tuple[int, bytes]]:
        out = []
        for sect in self.img.sections():
            if sect.type == S_CSTRING_LITERALS:
                raw = self.read(sect.addr, sect.size) or b""
                out.append((sect.addr, raw))
        return out


def _rewritten_opcode(r: MachOReloc) -> int:
    """How many bytes before the field a linker may rewrite: the mov of a GOT_LOAD or TLV
    load of something defined in the image becomes lea (ld64's relaxation), two bytes
    before the field.  Placing a section by its content must not count that byte (clang
    -O0's C++ `__StaticInit`, whose only symbols are locals no output keeps)."""
    relaxable = (GENERIC_TLV,) if r.generic else (GOT_LOAD, TLV)
    return 2 if r.type in relaxable and r.offset >= 2 else 0


class Placement:
    """Where each input section of one object landed in the output.

    Sections without named symbols are placed where linkers put them, one after the other
    in input order within the output section of the same name (`cursor` carries that
    position across objects), provided the bytes there match the input's outside its
    relocated fields; else at the one place in that output section where they match."""

    def __init__(self, out: Output, obj: MachOObject, cursor: dict[str, int]) -> None:
        self.out = out
        self.obj = obj
        self.bases: dict[int, int] = {}
        votes: dict[int, Counter[int]] = {}
        for sym in obj.symbols:
            if not sym.defined_in_section or not sym.name or sym.name.startswith(("l", "L")):
                continue
            if sym.desc & N_WEAK_DEF:
                continue  # its name may belong to another object's definition that won
            index = sym.sect - 1
            if not 0 <= index < len(obj.sections):
                continue
            delta = sym.value - obj.sections[index].addr
            for addr in out.defined.get(sym.name, []):
                # static symbols of one name in several objects: only a definition in an
                # output section of the input section's name can be this one
                if out.section_name_at(addr) not in (None, obj.sections[index].name):
                    continue
                votes.setdefault(index, Counter())[addr - delta] += 1
        self._strings = out.cstrings()
        self._atoms: dict[int, list[mi.Symbol]] = {}  # section -> named symbols by value
        for sym in sorted(obj.symbols, key=lambda sym: sym.value):
            if sym.defined_in_section and sym.name and not sym.name.startswith(("l", "L")):
                self._atoms.setdefault(sym.sect - 1, []).append(sym)
        for index, sect in enumerate(obj.sections):
            if sect.type == S_CSTRING_LITERALS:
                continue
            found = (self._by_votes(index, votes[index], cursor) if index in votes
                     else self._by_content(index, cursor))
            if found is None:
                continue
            self.bases[index] = found
            cursor[sect.name] = max(cursor.get(sect.name, 0), found + sect.size)

    def _by_votes(self, index: int, counter: Counter[int], cursor: dict[str, int]) -> int:
        """The base most symbols agree on; a tie (static symbols of the same name in
        several objects) goes to a base whose bytes match, then to the first one at or
        after where the previous object's section of that name ended."""
        best = max(counter.values())
        tied = sorted(base for base, count in counter.items() if count == best)
        if len(tied) > 1:
            tied = [b for b in tied if self._matches(index, b)] or tied
            after = [b for b in tied if b >= cursor.get(self.obj.sections[index].name, 0)]
            tied = after or tied
        return tied[0]

    def _matches(self, index: int, base: int) -> bool:
        sect = self.obj.sections[index]
        if sect.zerofill:
            return True
        got = self.out.read(base, sect.size)
        if got is None:
            return False
        got_b, want = bytearray(got), bytearray(self.obj.data[index])
        for r in self.obj.relocs:
            if r.section == index:
                got_b[r.offset : r.offset + r.width] = want[r.offset : r.offset + r.width] = (
                    bytes(r.width))
        return got_b == want

    def _by_content(self, index: int, cursor: dict[str, int]) -> int | None:
        sect = self.obj.sections[index]
        homes = self.out.img.sections()
        # an input section may land in another segment's section of its name (i386's
        # __IMPORT,__pointers in __DATA,__pointers)
        home = next((s for s in homes if s.name == sect.name), None) or next(
            (s for s in homes if s.sectname == sect.sectname), None)
        if home is None:
            return None
        align = 1 << min(sect.align, 12)
        start = max(cursor.get(sect.name, home.addr), home.addr)
        first = (start + align - 1) & -align
        if sect.zerofill:
            return first if first + sect.size <= home.addr + home.size else None
        data = self.obj.data[index]
        fields = [(r.offset - _rewritten_opcode(r), r.offset + r.width)
                  for r in self.obj.relocs if r.section == index]
        whole = self.out.read(home.addr, home.size) or b""

        def matches(addr: int) -> bool:
            at = addr - home.addr
            if at < 0 or at + len(data) > len(whole):
                return False
            got = bytearray(whole[at : at + len(data)])
            want = bytearray(data)
            for lo, hi in fields:
                got[lo:hi] = want[lo:hi] = bytes(hi - lo)
            return got == want

        if matches(first):
            return first
        last = home.addr + len(whole) - len(data)
        hits = [a for a in range(home.addr, last + 1, align) if matches(a)]
        return hits[0] if len(hits) == 1 else None

    def _atom(self, section: int, offset: int) -> int | None:
        """The output address of `offset` through the atom holding it: linkers may drop or
        move atoms (MH_SUBSECTIONS_VIA_SYMBOLS), so a symbol whose name the output holds
        once places the bytes after it until the next symbol."""
        site = self.obj.sections[section].addr + offset
        atoms = self._atoms.get(section, [])
        at = bisect.bisect_right(atoms, site, key=lambda sym: sym.value) - 1
        owner = atoms[at] if at >= 0 else None
        if owner is None or owner.desc & N_WEAK_DEF:
            return None
        found = self.out.defined.get(owner.name, [])
        return found[0] + site - owner.value if len(found) == 1 else None

    def address(self, section: int, offset: int) -> list[int]:
        """Output addresses of byte `offset` of input section `section` (several when a
        merged string has equal copies; empty when the section cannot be placed)."""
        if 0 <= section < len(self.obj.sections):
            through_atom = self._atom(section, offset)
            if through_atom is not None:
                return [through_atom]
        if section in self.bases:
            return [self.bases[section] + offset]
        if not 0 <= section < len(self.obj.sections):
            return []
        if self.obj.sections[section].type == S_CSTRING_LITERALS:
            return self._string_address(self.obj.data[section], offset)
        return []

    def _string_address(self, data: bytes, offset: int) -> list[int]:
        start = data.rfind(b"\0", 0, offset) + 1 if offset else 0
        end = data.find(b"\0", offset)
        if end < 0:
            return []
        text = data[start : end + 1]
        # tails: the string is the end of a longer one (tail merging)
        whole: list[int] = []
        tails: list[int] = []
        for base, raw in self._strings:
            at = raw.find(text)
            while at >= 0:
                (whole if at == 0 or raw[at - 1] == 0 else tails).append(base + at + offset - start)
                at = raw.find(text, at + 1)
        return whole or tails
