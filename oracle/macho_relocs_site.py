"""One relocation being judged by the Mach-O field oracle (x86-64 and i386 alike): where the
field is in the output, and how each of its operands resolves there (a symbol's winning
definition, an import, an address inside an input section moved to where that section
landed, or an address inside an object's own symbol-pointer section moved to the output's
slot for the same symbol)."""

from __future__ import annotations

from oracle.emulate.macho import image as mi
from oracle.macho_relocs_inputs import MachOObject, MachOReloc, Target
from oracle.macho_relocs_output import Output, Placement

N_WEAK_REF, N_WEAK_DEF, N_ABS = 0x40, 0x80, 0x2
# symbols the static linker defines for every executable: the Mach-O header's address
SYNTHESIZED = ("___dso_handle", "__mh_execute_header")
MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: (1 << 64) - 1}


class Unresolved(Exception):
    """The field cannot be recomputed (a symbol, slot or section the output lacks)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Site:
    """One relocation being judged: where it is, and how to name and resolve its parts."""

    def __init__(self, out: Output, obj: MachOObject, place: Placement, r: MachOReloc) -> None:
        self.out, self.obj, self.place, self.r = out, obj, place, r
        sect = obj.sections[r.section]
        self.section_name = sect.name
        self.obj_p = sect.addr + r.offset
        where = place.address(r.section, r.offset)
        if not where:
            raise Unresolved("unplaced", f"{sect.name} of {obj.path} is not in the output")
        self.p = where[0]

    def name(self, t: Target) -> str:
        if t.extern:
            return self.obj.symbols[t.index].name if t.index < len(self.obj.symbols) else "?"
        return f"section#{t.index}"

    def symbol_address(self, t: Target) -> int | None:
        """S of an extern target, None for an import (no definition anywhere)."""
        if t.index >= len(self.obj.symbols):
            raise Unresolved("unresolved", f"symbol index {t.index} out of range")
        sym = self.obj.symbols[t.index]
        if sym.type & mi.N_TYPE == N_ABS and not sym.type & mi.N_STAB:
            return int(sym.value)  # an absolute symbol of this object: its value is S
        if sym.type & 1 and sym.name in self.out.absolute:  # another object's, kept absolute
            return self.out.absolute[sym.name]
        if sym.type & 1:  # N_EXT: the definition that won, wherever it came from
            if sym.name in self.out.external:
                return self.out.external[sym.name]
            if sym.name in SYNTHESIZED:
                return self.out.img.header_address()
            if len(self.out.defined.get(sym.name, [])) == 1:  # made private (N_PEXT) by the link
                return self.out.defined[sym.name][0]
        if sym.defined_in_section:
            found = self.place.address(sym.sect - 1, sym.value - self.obj.sections[sym.sect - 1].addr)
            if found:
                return found[0]
        addresses = self.out.defined.get(sym.name, [])
        if len(addresses) == 1 or (addresses and sym.type & 1):
            return addresses[0]
        if sym.defined_in_section:
            raise Unresolved("unplaced", f"{sym.name}'s section is not in the output")
        return None

    def is_absolute(self, t: Target) -> bool:
        """Whether an extern target is an absolute symbol (N_ABS): S is a value."""
        if not t.extern or t.index >= len(self.obj.symbols):
            return False
        sym = self.obj.symbols[t.index]
        return sym.type & mi.N_TYPE == N_ABS or (bool(sym.type & 1)
                                                  and sym.name in self.out.absolute)

    def weak_ref(self, t: Target) -> bool:
        return t.index < len(self.obj.symbols) and bool(self.obj.symbols[t.index].desc
                                                        & N_WEAK_REF)

    def moved(self, t: Target, obj_addr: int) -> list[int]:
        """Output addresses of `obj_addr`, an address inside section ordinal t.index."""
        index = t.index - 1
        if not 0 <= index < len(self.obj.sections):
            raise Unresolved("unresolved", f"section ordinal {t.index} out of range")
        if self.obj.sections[index].type == mi.S_NON_LAZY_SYMBOL_POINTERS:
            return self._slot(index, obj_addr)
        if self.obj.sections[index].type == mi.S_SYMBOL_STUBS:
            return self._stub(index, obj_addr)
        found = self.place.address(index, obj_addr - self.obj.sections[index].addr)
        if not found:
            raise Unresolved("unplaced", f"{self.obj.sections[index].name} of {self.obj.path}"
                                          " is not in the output")
        return found

    def moved_address(self, obj_addr: int) -> list[int]:
        """Output addresses of `obj_addr`, in whichever section of the object holds it (or
        ends at it: `L_end - L_start`): what a scattered r_value or a PAIR names."""
        sections = self.obj.sections
        inside = [k for k, s in enumerate(sections) if s.addr <= obj_addr < s.addr + s.size]
        ending = [k for k, s in enumerate(sections) if obj_addr == s.addr + s.size]
        found = inside or ending
        if not found:
            raise Unresolved("unresolved", f"object address {obj_addr:#x} is in no section")
        return self.moved(Target(False, found[0] + 1), obj_addr)

    def _slot(self, index: int, obj_addr: int) -> list[int]:
        """An address inside the object's own non-lazy pointer section (i386 PIC code reads
        `L_x$non_lazy_ptr`): the linker merges each pointer into the output's slot for the
        symbol its indirect entry names, so the address moves to that slot."""
        sect, word = self.obj.sections[index], self.obj.word
        k, within = divmod(obj_addr - sect.addr, word)
        at = sect.reserved1 + k
        if not 0 <= at < len(self.obj.indirect):  # k < 0: an address before the section
            raise Unresolved("unresolved", f"{sect.name} entry {k} is outside the object's "
                                           f"indirect symbol table")
        entry = self.obj.indirect[at]
        if entry & mi.INDIRECT_SYMBOL_ABS:
            raise Unresolved("unsupported", f"{sect.name} entry {k} is INDIRECT_SYMBOL_ABS")
        if entry & mi.INDIRECT_SYMBOL_LOCAL:
            held = int.from_bytes(self.obj.data[index][k * word : (k + 1) * word], "little")
            values = self.moved_address(held)
            name = f"local pointer to {held:#x}"
        else:
            if entry >= len(self.obj.symbols):
                raise Unresolved("unresolved", f"indirect entry {at} names symbol {entry}")
            name = self.obj.symbols[entry].name
            s = self.symbol_address(Target(True, entry))
            if s is None and self.weak_ref(Target(True, entry)):
                s = 0  # an absent weak import: the linker may resolve it to 0 itself
            values = [] if s is None else [s]
        slots = [] if entry & mi.INDIRECT_SYMBOL_LOCAL else list(self.out.got.get(name, []))
        slots += [slot for v in values for slot in self.out.local_got.get(v, [])]
        # or the linker kept the object's pointer as data, which dyld fills (a bind or an
        # external relocation of the symbol) or which holds the moved local address
        for copy in self.place.address(index, k * word):
            if self._holds(copy, name, values, local=bool(entry & mi.INDIRECT_SYMBOL_LOCAL)):
                slots.append(copy)
        if not slots:
            raise Unresolved("unresolved", f"{name} has no non-lazy pointer in the output")
        return [slot + within for slot in slots]

    def _holds(self, addr: int, name: str, values: list[int], local: bool) -> bool:
        """Whether the pointer at output address `addr` ends up holding the symbol (or the
        local address) once dyld has run."""
        word = self.obj.word
        if not local and (self.out.binds.get(addr) == (name, 0)
                          or (self.out.extrel.get(addr) == name
                              and self.out.read_int(addr, word) == 0)):
            return True
        return self.out.read_int(addr, word) in values

    def _stub(self, index: int, obj_addr: int) -> list[int]:
        """An entry of the object's own stub section (i386's `__IMPORT,__jump_table`, five
        `hlt` bytes named by the indirect table): a call to it may reach the output's stub
        for that symbol, its definition, or a kept copy of the entry that jumps to one of
        those (`jmp rel32`)."""
        sect = self.obj.sections[index]
        size = sect.reserved2
        if not size:
            raise Unresolved("unresolved", f"{sect.name}: stub size (reserved2) is 0")
        k, within = divmod(obj_addr - sect.addr, size)
        at = sect.reserved1 + k
        if within or not 0 <= at < len(self.obj.indirect):
            raise Unresolved("unsupported", f"{sect.name}+{obj_addr - sect.addr:#x} is not "
                                            "the start of an entry the indirect table names")
        entry = self.obj.indirect[at]
        if entry & (mi.INDIRECT_SYMBOL_LOCAL | mi.INDIRECT_SYMBOL_ABS) \
                or entry >= len(self.obj.symbols):
            raise Unresolved("unsupported", f"{sect.name} entry {k} names no symbol")
        name = self.obj.symbols[entry].name
        s = self.symbol_address(Target(True, entry))
        targets = [t for t in (self.out.stubs.get(name), s) if t is not None]
        copies = [o for o in self.out.img.sections() if o.sectname == sect.sectname]
        for copy in copies:
            # no more bytes than the file holds: a hostile section size would loop for ever
            span = min(copy.size, len(self.out.img.data))
            for addr in range(copy.addr, copy.addr + span - 4, size):
                code = self.out.read(addr, 5)
                if code and code[0] == 0xE9 and (
                        addr + 5 + int.from_bytes(code[1:], "little", signed=True)) in targets:
                    targets.append(addr)
        if not targets:
            raise Unresolved("unresolved", f"{name} has no stub or definition in the output")
        return targets


S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x11, 0x12, 0x13


def tlv_offset_word(site: Site) -> bool:
    """Whether the field is a thread-local descriptor's third word (of three words: 24
    bytes on x86-64, 12 on i386), which holds the variable's offset in the template."""
    sect = site.obj.sections[site.r.section]
    word = site.r.width
    return sect.type == S_THREAD_LOCAL_VARIABLES and word == site.out.img.word \
        and site.r.offset % (3 * word) == 2 * word


def tlv_template_start(site: Site) -> int:
    starts = [s.addr for s in site.out.img.sections()
              if s.type in (S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL)]
    if not starts:
        raise Unresolved("unresolved", "a thread-local descriptor, but the output has no "
                                       "__thread_data or __thread_bss")
    return min(starts)


def tlv_descriptor_loads(site: Site, field: int, end: int) -> list[tuple[int, str, bytes | None]]:
    """What a TLV reference (X86_64_RELOC_TLV, GENERIC_RELOC_TLV) may hold, `field` being
    its addend and `end` the address its value counts from: the descriptor's address loaded
    from a pointer slot, or (relaxed, as ld64 does for a descriptor in the image) computed by
    lea, whose opcode 0x8d must then stand before the ModRM byte."""
    r, out = site.r, site.out
    name = site.name(r.target)
    s = site.symbol_address(r.target)
    slots = list(out.got.get(name, []))
    if s is not None:
        slots += out.local_got.get(s, [])
    values: list[tuple[int, str, bytes | None]] = [
        (g + field - end, "G + A - end", None) for g in slots]
    if s is not None:
        values.append((s + field - end, "S + A - end (mov -> lea)", b"\x8d"))
    if not values:
        raise Unresolved("unresolved", f"{name} has no pointer slot")
    return values
