"""Structure-level rewrites of a Mach-O file or a universal (fat) one: the `semantic`
family's Mach-O half (fuzz/hostile/semantic.py).

As in semantic_elf: values that are plausible and wrong.  Load command sizes and counts
one step off, a segment's section count past its command, sections on each other's bytes,
symbol and string table ranges overlapping, symbols naming the middle of another's name or
a section past the last, indirect symbol indexes past the table or with the LOCAL/ABS
bits, a SUBTRACTOR or SECTDIFF left without its partner, dyld-info opcode streams that
loop (a bind repeated 2**62 times), overlong ULEBs, export tries whose children point back
at the root, chained-fixup starts and chains that leave their page, fat headers whose
slices overlap or repeat an architecture.  Parsing is our own and tolerant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .mutate import Picker, choose
from .semantic_fields import LittleEndianFields

LC_SEGMENT, LC_SYMTAB, LC_DYSYMTAB, LC_SEGMENT_64 = 0x1, 0x2, 0xB, 0x19
LC_DYLD_INFO, LC_DYLD_INFO_ONLY = 0x22, 0x80000022
LC_DYLD_CHAINED_FIXUPS, LC_DYLD_EXPORTS_TRIE = 0x80000034, 0x80000033
LC_LOAD_DYLIB, LC_ID_DYLIB, LC_MAIN = 0xC, 0xD, 0x80000028
LOAD_COMMANDS = (0x1, 0x2, 0x5, 0xB, 0xC, 0xD, 0xE, 0x19, 0x1B, 0x1D, 0x22, 0x24, 0x26, 0x29,
                 0x2A, 0x32, 0x80000018, 0x8000001C, 0x8000001F, 0x80000022, 0x80000028,
                 0x80000033, 0x80000034, 0x0, 0xFFFFFFFF, 0x80000000)
FAT_MAGIC = 0xCAFEBABE


@dataclass
class Command:
    at: int
    cmd: int
    size: int


@dataclass
class MSection:
    header: int  # file offset of the section header
    addr: int
    size: int
    offset: int
    reloff: int
    nreloc: int
    flags: int


@dataclass
class MachO(LittleEndianFields):
    data: bytearray
    base: int  # the slice's offset in a universal file
    is64: bool
    commands: list[Command] = field(default_factory=list)
    sections: list[MSection] = field(default_factory=list)

    def find(self, *cmds: int) -> list[Command]:
        return [c for c in self.commands if c.cmd in cmds]

    def symtab(self) -> tuple[int, int, int, int] | None:
        found = self.find(LC_SYMTAB)
        if not found:
            return None
        at = found[0].at
        return (self.get(at + 8, 4), self.get(at + 12, 4), self.get(at + 16, 4),
                self.get(at + 20, 4))


def _slices(data: bytes) -> list[int]:
    if int.from_bytes(data[:4], "big") != FAT_MAGIC:
        return [0]
    count = int.from_bytes(data[4:8], "big")
    return [int.from_bytes(data[8 + 20 * i + 8:8 + 20 * i + 12], "big")
            for i in range(min(count, 8))]


def parse_macho(data: bytes, pick: Picker) -> MachO | None:
    offsets = [o for o in _slices(data) if o + 28 <= len(data)]
    if not offsets:
        return None
    base = choose(pick, offsets)
    magic = int.from_bytes(data[base:base + 4], "little")
    if magic not in (0xFEEDFACE, 0xFEEDFACF):
        return None
    m = MachO(bytearray(data), base, magic == 0xFEEDFACF)
    ncmds = m.get(base + 16, 4)
    at = base + (32 if m.is64 else 28)
    for _ in range(min(ncmds, 256)):
        if at + 8 > len(data):
            break
        cmd, size = m.get(at, 4), m.get(at + 4, 4)
        m.commands.append(Command(at, cmd, size))
        if cmd in (LC_SEGMENT, LC_SEGMENT_64):
            header, sect_size = (at + 72, 80) if cmd == LC_SEGMENT_64 else (at + 56, 68)
            nsects = m.get(at + (64 if cmd == LC_SEGMENT_64 else 48), 4)
            for k in range(min(nsects, 64)):
                h = header + k * sect_size
                if h + sect_size > len(data):
                    break
                if cmd == LC_SEGMENT_64:
                    m.sections.append(MSection(h, m.get(h + 32, 8), m.get(h + 40, 8),
                                               m.get(h + 48, 4), m.get(h + 56, 4),
                                               m.get(h + 60, 4), m.get(h + 64, 4)))
                else:
                    m.sections.append(MSection(h, m.get(h + 32, 4), m.get(h + 36, 4),
                                               m.get(h + 40, 4), m.get(h + 48, 4),
                                               m.get(h + 52, 4), m.get(h + 56, 4)))
        if size < 8:
            break
        at += size
    return m


def _sect_field(m: MachO, s: MSection, name: str, value: int) -> None:
    off64 = {"addr": (32, 8), "size": (40, 8), "offset": (48, 4), "align": (52, 4),
             "reloff": (56, 4), "nreloc": (60, 4), "flags": (64, 4), "reserved1": (68, 4),
             "reserved2": (72, 4)}
    off32 = {"addr": (32, 4), "size": (36, 4), "offset": (40, 4), "align": (44, 4),
             "reloff": (48, 4), "nreloc": (52, 4), "flags": (56, 4), "reserved1": (60, 4),
             "reserved2": (64, 4)}
    off, width = (off64 if m.is64 else off32)[name]
    m.put(s.header + off, width, value)


def commands(pick: Picker, m: MachO) -> str | None:
    """cmdsize one step off, ncmds/sizeofcmds lying, a command retyped."""
    if not m.commands:
        return None
    c = choose(pick, m.commands)
    kind = pick.integer(0, 3)
    if kind == 0:
        value = choose(pick, [0, 4, 8, c.size - 4, c.size + 4, c.size + 8, c.size + 1,
                              m.get(m.base + 20, 4), 1 << 31])
        m.put(c.at + 4, 4, value)
        return f"load command {c.cmd:#x} at {c.at:#x} cmdsize {c.size} -> {value:#x}"
    if kind == 1:
        which = choose(pick, [16, 20])
        current = m.get(m.base + which, 4)
        value = choose(pick, [current + 1, current - 1, 0, current + 8, current - 8,
                              len(m.data), 0xFFFFFFFF])
        m.put(m.base + which, 4, value)
        return f"{'ncmds' if which == 16 else 'sizeofcmds'} {current} -> {value:#x}"
    if kind == 2:
        value = choose(pick, LOAD_COMMANDS)
        m.put(c.at, 4, value)
        return f"load command at {c.at:#x} {c.cmd:#x} -> {value:#x}"
    other = choose(pick, m.commands)
    size = min(c.size, other.size)
    m.data[c.at + 8:c.at + size] = m.data[other.at + 8:other.at + size]
    m.put(c.at, 4, other.cmd)
    return f"load command at {c.at:#x} made a copy of the one at {other.at:#x} ({other.cmd:#x})"


def segments(pick: Picker, m: MachO) -> str | None:
    """nsects past the command, segments overlapping, vmsize below filesize."""
    found = m.find(LC_SEGMENT, LC_SEGMENT_64)
    if not found:
        return None
    c, other = choose(pick, found), choose(pick, found)
    layout = ({"vmaddr": (24, 8), "vmsize": (32, 8), "fileoff": (40, 8), "filesize": (48, 8),
               "maxprot": (56, 4), "nsects": (64, 4), "flags": (68, 4)}
              if c.cmd == LC_SEGMENT_64 else
              {"vmaddr": (24, 4), "vmsize": (28, 4), "fileoff": (32, 4), "filesize": (36, 4),
               "maxprot": (40, 4), "nsects": (48, 4), "flags": (52, 4)})
    what = choose(pick, list(layout))
    off, width = layout[what]
    current, theirs = m.get(c.at + off, width), m.get(other.at + off, width)
    value = choose(pick, [theirs, current + 1, current - 1, 0, len(m.data),
                          len(m.data) - m.get(c.at + layout["fileoff"][0], width) + 1,
                          current * 2, theirs + m.get(other.at + layout["vmsize"][0], width)])
    m.put(c.at + off, width, value)
    return f"segment at {c.at:#x}.{what} {current:#x} -> {value:#x}"


def sections(pick: Picker, m: MachO) -> str | None:
    """Sections on each other's bytes or addresses, past their segment, retyped, with
    relocations past the file, an indirect-symbol start or stub size off."""
    if not m.sections:
        return None
    s, other = choose(pick, m.sections), choose(pick, m.sections)
    what = choose(pick, ["addr", "size", "offset", "align", "reloff", "nreloc", "flags",
                         "reserved1", "reserved2"])
    current = getattr(s, what, 0)
    theirs = getattr(other, what, 0)
    value = choose(pick, [theirs, theirs + 1, current + 1, max(current - 1, 0), 0,
                          len(m.data) - s.offset, other.addr + other.size - s.addr,
                          31, 0xFFFFFFFF, 1, 5, 255,
                          *((6, 7, 8, 0xD, 0x13, 0x11, 0x12, 0x80000400, 0x1A, 0x1E, 0x10)
                            if what == "flags" else ())])
    _sect_field(m, s, what, value)
    return f"section at {s.header:#x}.{what} {current:#x} -> {value:#x}"


def symtab_ranges(pick: Picker, m: MachO) -> str | None:
    table = m.symtab()
    if table is None:
        return None
    at = m.find(LC_SYMTAB)[0].at
    symoff, nsyms, stroff, strsize = table
    what = choose(pick, [8, 12, 16, 20])
    current = m.get(at + what, 4)
    value = choose(pick, [current + 1, max(current - 1, 0), stroff, symoff, nsyms + 1,
                          len(m.data) - m.base - current, strsize + 1, 0, 0x10000000,
                          symoff + 4])
    m.put(at + what, 4, value)
    return f"LC_SYMTAB+{what} {current:#x} -> {value:#x}"


def _nlists(m: MachO) -> list[int]:
    table = m.symtab()
    if table is None:
        return []
    symoff, nsyms, _, _ = table
    size = 16 if m.is64 else 12
    return [m.base + symoff + k * size for k in range(min(nsyms, 4096))
            if m.base + symoff + (k + 1) * size <= len(m.data)]


def nlist(pick: Picker, m: MachO) -> str | None:
    """A symbol's name in the middle of another's or past the table, its section past
    the last, its type a stab, N_INDR or N_PBUD, its description a library ordinal past
    the dylibs or weak bits, its value past its section."""
    entries = _nlists(m)
    table = m.symtab()
    if not entries or table is None:
        return None
    at = choose(pick, entries)
    strsize = table[3]
    kind = pick.integer(0, 4)
    if kind == 0:
        other = m.get(choose(pick, entries), 4)
        value = choose(pick, [strsize, strsize - 1, other + 1, other, 0, strsize + 1])
        m.put(at, 4, value)
        return f"nlist at {at:#x}.n_strx -> {value:#x}"
    if kind == 1:
        value = choose(pick, [0x0E, 0x0F, 0x01, 0x02, 0x03, 0x0A, 0x0B, 0x0C, 0x1E, 0x24,
                              0x26, 0x2E, 0x64, 0x66, 0x84, 0x20, 0xFF, 0x10, 0x1F])
        m.put(at + 4, 1, value)
        return f"nlist at {at:#x}.n_type -> {value:#x}"
    if kind == 2:
        value = choose(pick, [0, len(m.sections), len(m.sections) + 1, 255,
                              pick.integer(1, max(len(m.sections), 1))])
        m.put(at + 5, 1, value)
        return f"nlist at {at:#x}.n_sect -> {value}"
    if kind == 3:
        value = choose(pick, [0x80, 0x40, 0xC0, 0x100, 0xFF00, 0xFE00, 0x0200, 0x0500, 0x10,
                              0x20, 0x08, 0xFFFF, 0x0180])
        m.put(at + 6, 2, value)
        return f"nlist at {at:#x}.n_desc -> {value:#x}"
    sect = m.get(at + 5, 1)
    s = m.sections[sect - 1] if 0 < sect <= len(m.sections) else None
    end = s.addr + s.size if s else 0
    value = choose(pick, [end, end + 1, end - 1, (1 << (8 * m.word)) - 1, 0,
                          1 << (8 * m.word - 1)])
    m.put(at + 8, m.word, value)
    return f"nlist at {at:#x}.n_value -> {value:#x}"


def dysymtab(pick: Picker, m: MachO) -> str | None:
    """The symbol ranges overlapping or past nsyms; indirect entries past the table or
    with INDIRECT_SYMBOL_LOCAL/ABS."""
    found = m.find(LC_DYSYMTAB)
    table = m.symtab()
    if not found or table is None:
        return None
    at, nsyms = found[0].at, table[1]
    indirectoff, nindirect = m.get(at + 56, 4), m.get(at + 60, 4)
    if pick.integer(0, 1) and nindirect:
        entry = m.base + indirectoff + 4 * pick.integer(0, nindirect - 1)
        value = choose(pick, [nsyms, nsyms + 1, 0x80000000, 0x40000000, 0xC0000000,
                              0xFFFFFFFF, pick.integer(0, max(nsyms - 1, 0))])
        m.put(entry, 4, value)
        return f"indirect symbol at {entry:#x} -> {value:#x}"
    what = choose(pick, list(range(8, 80, 4)))
    current = m.get(at + what, 4)
    value = choose(pick, [nsyms, nsyms + 1, current + 1, max(current - 1, 0), 0,
                          m.get(at + choose(pick, list(range(8, 32, 4))), 4), 0xFFFFFFFF,
                          len(m.data) - m.base])
    m.put(at + what, 4, value)
    return f"LC_DYSYMTAB+{what} {current:#x} -> {value:#x}"


def relocations(pick: Picker, m: MachO) -> str | None:
    """A relocation's symbol or section number past the tables, its type/length/pcrel
    from the whole space, its address at or past the section's end; a SUBTRACTOR or a
    SECTDIFF whose partner is retyped, swapped in front, or cut off."""
    with_relocs = [s for s in m.sections if s.nreloc and
                   m.base + s.reloff + 8 * s.nreloc <= len(m.data)]
    if not with_relocs:
        return None
    s = choose(pick, with_relocs)
    first = m.base + s.reloff
    k = pick.integer(0, min(s.nreloc, 4096) - 1)
    at = first + 8 * k
    word = m.get(at + 4, 4)
    scattered = m.get(at, 4) & 0x80000000
    kind = pick.integer(0, 4)
    if kind == 0 and not scattered:
        table = m.symtab()
        nsyms = table[1] if table else 0
        value = choose(pick, [nsyms, nsyms + 1, len(m.sections) + 1, 0, 0xFFFFFF,
                              len(m.sections)])
        m.put(at + 4, 4, word & ~0xFFFFFF | value)
        return f"relocation at {at:#x}.r_symbolnum -> {value}"
    if kind == 1:
        if scattered:
            value = m.get(at, 4) & ~0x0F000000 | pick.integer(0, 15) << 24
            m.put(at, 4, value)
        else:
            value = (word & 0x00FFFFFF | pick.integer(0, 15) << 28 | pick.integer(0, 3) << 25
                     | pick.integer(0, 1) << 24 | pick.integer(0, 1) << 27)
            m.put(at + 4, 4, value)
        return f"relocation at {at:#x} type/length/pcrel/extern -> {value:#x}"
    if kind == 2:
        size = s.size & 0xFFFFFF
        value = choose(pick, [size, size - 1, size - 2, size - 4, size + 1, 0x7FFFFF,
                              m.get(first + 8 * pick.integer(0, s.nreloc - 1), 4)])
        if scattered:
            m.put(at, 4, m.get(at, 4) & ~0xFFFFFF | value & 0xFFFFFF)
        else:
            m.put(at, 4, value)
        return f"relocation at {at:#x}.r_address -> {value:#x}"
    if kind == 3 and s.nreloc >= 2:
        # the pair's partner: for x86_64 the UNSIGNED after a SUBTRACTOR, for i386 the PAIR
        # after a SECTDIFF; retyping the partner leaves the first without one
        k = pick.integer(0, s.nreloc - 2)
        a, b = first + 8 * k, first + 8 * (k + 1)
        first_bytes = bytes(m.data[a:a + 8])
        m.data[a:a + 8] = m.data[b:b + 8]
        m.data[b:b + 8] = first_bytes
        return f"relocations at {a:#x} and {b:#x} swapped (pairs broken)"
    last = first + 8 * (s.nreloc - 1)
    if m.get(last, 4) & 0x80000000:
        value = m.get(last, 4) & ~0x0F000000 | choose(pick, [2, 4, 6, 1]) << 24
        m.put(last, 4, value)
    else:
        value = m.get(last + 4, 4) & 0x0FFFFFFF | choose(pick, [5, 1, 10]) << 28
        m.put(last + 4, 4, value)
    return f"last relocation of section at {s.header:#x} made a pair's first ({value:#x})"


TABLE_OPS = (commands, segments, sections, symtab_ranges, nlist, dysymtab, relocations)
