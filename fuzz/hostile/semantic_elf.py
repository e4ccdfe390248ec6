"""Structure-level rewrites of an ELF file (the `semantic` family, fuzz/hostile/semantic.py).

The byte family sets a field to an extreme (0, all-ones, past the end); these rewrites set
it to a value that is *plausible and wrong*: another section's index, a symbol count plus
one, the middle of another name, another relocation's offset, the section-count escapes
(e_shnum = 0 with the count in section 0) done right or half right, a second symbol table,
a section header duplicated, a group naming itself, a hash chain looping onto itself, a
version chain pointing back, an `.eh_frame` pointer encoding from the whole DW_EH_PE space.
Such values pass the readers' range checks and reach the code behind them.

Parsing is our own and tolerant (fuzz/ never imports linker internals): it reads valid
seeds, or seeds another rewrite already changed, and an operator that finds nothing to
change says so (None) and the caller draws another.  Here: the model and the rewrites of
the tables (headers, symbols, relocations, groups, string tables); semantic_elf_contents.py
rewrites what sections hold (.eh_frame, notes, DWARF, dynamic, hashes, versions) and the
program headers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .mutate import Picker, choose
from .semantic_fields import LittleEndianFields

# Field (offset, width) in the ELF header, section header, symbol and program header, by
# class (True: ELFCLASS64).
EHDR = {True: {"e_type": (16, 2), "e_entry": (24, 8), "e_phoff": (32, 8), "e_shoff": (40, 8),
               "e_phnum": (56, 2), "e_shentsize": (58, 2), "e_shnum": (60, 2),
               "e_shstrndx": (62, 2)},
        False: {"e_type": (16, 2), "e_entry": (24, 4), "e_phoff": (28, 4), "e_shoff": (32, 4),
                "e_phnum": (44, 2), "e_shentsize": (46, 2), "e_shnum": (48, 2),
                "e_shstrndx": (50, 2)}}
SHDR = {True: {"sh_name": (0, 4), "sh_type": (4, 4), "sh_flags": (8, 8), "sh_addr": (16, 8),
               "sh_offset": (24, 8), "sh_size": (32, 8), "sh_link": (40, 4),
               "sh_info": (44, 4), "sh_addralign": (48, 8), "sh_entsize": (56, 8)},
        False: {"sh_name": (0, 4), "sh_type": (4, 4), "sh_flags": (8, 4), "sh_addr": (12, 4),
                "sh_offset": (16, 4), "sh_size": (20, 4), "sh_link": (24, 4),
                "sh_info": (28, 4), "sh_addralign": (32, 4), "sh_entsize": (36, 4)}}
SYM = {True: {"st_name": (0, 4), "st_info": (4, 1), "st_other": (5, 1), "st_shndx": (6, 2),
              "st_value": (8, 8), "st_size": (16, 8)},
       False: {"st_name": (0, 4), "st_value": (4, 4), "st_size": (8, 4), "st_info": (12, 1),
               "st_other": (13, 1), "st_shndx": (14, 2)}}
PHDR = {True: {"p_type": (0, 4), "p_flags": (4, 4), "p_offset": (8, 8), "p_vaddr": (16, 8),
               "p_filesz": (32, 8), "p_memsz": (40, 8), "p_align": (48, 8)},
        False: {"p_type": (0, 4), "p_offset": (4, 4), "p_vaddr": (8, 4), "p_filesz": (16, 4),
                "p_memsz": (20, 4), "p_flags": (24, 4), "p_align": (28, 4)}}

SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS = 2, 3, 4, 5, 6, 7, 8
SHT_REL, SHT_DYNSYM, SHT_GROUP = 9, 11, 17
SHT_GNU_HASH, SHT_VERDEF, SHT_VERNEED, SHT_VERSYM = 0x6FFFFFF6, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
SECTION_TYPES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, 0x60000000,
                 0x6FFFFFF5, 0x6FFFFFF6, 0x6FFFFFF7, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF,
                 0x70000001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x6FFF4C00)
# SHF_WRITE|ALLOC|EXECINSTR, MERGE, STRINGS, INFO_LINK, LINK_ORDER, GROUP, TLS, COMPRESSED,
# EXCLUDE, and mixes no assembler writes
SECTION_FLAGS = (0, 1, 2, 4, 6, 0x10, 0x30, 0x32, 0x40, 0x80, 0x200, 0x400, 0x403, 0x800,
                 0x802, 0x80000000, 0xFFFFFFFF, 0x3 | 0x400 | 0x800)
SPECIAL_SHNDX = (0, 0xFF00, 0xFF1F, 0xFFF1, 0xFFF2, 0xFFFF, 0xFF20, 0xFFFE)
DT_TAGS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
           23, 24, 25, 26, 27, 28, 29, 30, 32, 33, 34, 35, 36, 37, 0x6FFFFEF5, 0x6FFFFFF0,
           0x6FFFFFF9, 0x6FFFFFFA, 0x6FFFFFFB, 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF,
           0x7FFFFFFF, 0x6FFFFDF5)
EH_ENCODINGS = (0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0F, 0x10, 0x1B,
                0x1C, 0x20, 0x30, 0x40, 0x50, 0x70, 0x80, 0x9B, 0xFF, 0x07, 0x05)


@dataclass
class Section:
    index: int
    header: int  # file offset of its header
    name: bytes
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


@dataclass
class Elf(LittleEndianFields):
    data: bytearray
    is64: bool
    sections: list[Section]
    phoff: int
    phnum: int
    phentsize: int

    def eh(self, name: str, value: int | None = None) -> int:
        at, width = EHDR[self.is64][name]
        if value is not None:
            self.put(at, width, value)
        return self.get(at, width)

    def sh(self, section: Section, name: str, value: int) -> None:
        at, width = SHDR[self.is64][name]
        self.put(section.header + at, width, value)

    def of_type(self, *types: int) -> list[Section]:
        return [s for s in self.sections if s.type in types]

    def contents(self, s: Section) -> tuple[int, int]:
        """[start, end) of a section's bytes in the file (clipped)."""
        return s.offset, min(len(self.data), s.offset + s.size)

    def entries(self, s: Section, size: int) -> list[int]:
        start, end = self.contents(s)
        if s.type == SHT_NOBITS or size <= 0:
            return []
        return list(range(start, end - size + 1, size))[:4096]


def parse_elf(data: bytes) -> Elf | None:
    if data[:4] != b"\x7fELF" or len(data) < 52 or data[5] != 1:
        return None
    is64 = data[4] == 2
    elf = Elf(bytearray(data), is64, [], 0, 0, 0)
    shoff, shnum, shentsize = elf.eh("e_shoff"), elf.eh("e_shnum"), elf.eh("e_shentsize")
    elf.phoff, elf.phnum = elf.eh("e_phoff"), elf.eh("e_phnum")
    elf.phentsize = 56 if is64 else 32
    fmt = "<IIQQQQIIQQ" if is64 else "<IIIIIIIIII"
    if shnum == 0 and shoff and shoff + shentsize <= len(data):
        shnum = struct.unpack_from(fmt, data, shoff)[5]
    raw = []
    for i in range(min(shnum, 4096)):
        at = shoff + i * shentsize
        if shentsize < struct.calcsize(fmt) or at + shentsize > len(data):
            break
        raw.append((i, at, struct.unpack_from(fmt, data, at)))
    names = b""
    strndx = elf.eh("e_shstrndx")
    if strndx < len(raw):
        sh = raw[strndx][2]
        names = bytes(data[sh[4]:sh[4] + sh[5]])
    for i, at, sh in raw:
        end = names.find(b"\0", sh[0])
        name = names[sh[0]:end] if 0 <= sh[0] < len(names) and end >= 0 else b""
        elf.sections.append(Section(i, at, name, sh[1], sh[2], sh[3], sh[4], sh[5], sh[6],
                                    sh[7], sh[9]))
    return elf


def _section_index(pick: Picker, elf: Elf, of: Section) -> int:
    """A plausible wrong section index: another section's, its own, one past the last."""
    n = len(elf.sections)
    return choose(pick, [pick.integer(0, max(n - 1, 0)), of.index, n, n - 1, 0,
                         *(s.index for s in elf.of_type(SHT_SYMTAB, SHT_STRTAB, SHT_GROUP,
                                                        SHT_NOBITS, SHT_RELA, SHT_REL))])


def _symbols(elf: Elf) -> list[tuple[Section, int]]:
    size = 24 if elf.is64 else 16
    return [(s, at) for s in elf.of_type(SHT_SYMTAB, SHT_DYNSYM) for at in elf.entries(s, size)]


def _sym_field(elf: Elf, at: int, name: str, value: int | None = None) -> int:
    off, width = SYM[elf.is64][name]
    if value is not None:
        elf.put(at + off, width, value)
    return elf.get(at + off, width)


Op = Callable[[Picker, Elf], "str | None"]


def sh_link(pick: Picker, elf: Elf) -> str | None:
    if not elf.sections:
        return None
    s = choose(pick, elf.sections)
    value = _section_index(pick, elf, s)
    elf.sh(s, "sh_link", value)
    return f"[{s.index}] {s.name!r}.sh_link {s.link} -> {value}"


def sh_info(pick: Picker, elf: Elf) -> str | None:
    if not elf.sections:
        return None
    s = choose(pick, elf.sections)
    nsyms = s.size // s.entsize if s.entsize else 0
    value = choose(pick, [_section_index(pick, elf, s), nsyms, nsyms + 1, s.info + 1,
                          max(s.info - 1, 0), 0])
    elf.sh(s, "sh_info", value)
    return f"[{s.index}] {s.name!r}.sh_info {s.info} -> {value}"


def sh_type_flags(pick: Picker, elf: Elf) -> str | None:
    if not elf.sections:
        return None
    s = choose(pick, elf.sections)
    if pick.integer(0, 1):
        value = choose(pick, SECTION_TYPES)
        elf.sh(s, "sh_type", value)
        return f"[{s.index}] {s.name!r}.sh_type {s.type:#x} -> {value:#x}"
    value = choose(pick, SECTION_FLAGS) ^ (s.flags if pick.integer(0, 1) else 0)
    elf.sh(s, "sh_flags", value)
    return f"[{s.index}] {s.name!r}.sh_flags {s.flags:#x} -> {value:#x}"


def sh_geometry(pick: Picker, elf: Elf) -> str | None:
    """Size, offset, entsize and alignment set to another section's or one off."""
    if len(elf.sections) < 2:
        return None
    s, other = choose(pick, elf.sections[1:]), choose(pick, elf.sections)
    what = choose(pick, ["sh_offset", "sh_size", "sh_entsize", "sh_addralign", "sh_addr"])
    current = {"sh_offset": s.offset, "sh_size": s.size, "sh_entsize": s.entsize,
               "sh_addr": s.addr, "sh_addralign": 0}[what]
    value = choose(pick, [getattr(other, what[3:], 0) if what != "sh_addralign" else 3,
                          current + 1, max(current - 1, 0), current + s.entsize,
                          len(elf.data) - s.offset, len(elf.data) - s.offset + 1, 3, 0,
                          1 << 31, 1 << 63, other.offset + other.size - s.offset])
    elf.sh(s, what, value)
    return f"[{s.index}] {s.name!r}.{what} {current:#x} -> {value:#x}"


def sym_shndx(pick: Picker, elf: Elf) -> str | None:
    symbols = _symbols(elf)
    if not symbols:
        return None
    _, at = choose(pick, symbols)
    value = choose(pick, [pick.integer(0, max(len(elf.sections), 1)), len(elf.sections),
                          *SPECIAL_SHNDX, *(s.index for s in elf.of_type(SHT_GROUP, SHT_NOBITS,
                                                                          SHT_SYMTAB))])
    old = _sym_field(elf, at, "st_shndx", value)
    return f"symbol at {at:#x}.st_shndx {old} -> {value:#x}"


def sym_name(pick: Picker, elf: Elf) -> str | None:
    symbols = _symbols(elf)
    if not symbols:
        return None
    table, at = choose(pick, symbols)
    strsize = (elf.sections[table.link].size if table.link < len(elf.sections) else 0)
    _, other = choose(pick, symbols)
    other_name = _sym_field(elf, other, "st_name")
    value = choose(pick, [strsize, strsize - 1, other_name + 1, other_name, 0, strsize + 1,
                          pick.integer(0, max(strsize, 0))])
    old = _sym_field(elf, at, "st_name", value)
    return f"symbol at {at:#x}.st_name {old} -> {value:#x}"


def sym_value_size(pick: Picker, elf: Elf) -> str | None:
    symbols = _symbols(elf)
    if not symbols:
        return None
    _, at = choose(pick, symbols)
    shndx = _sym_field(elf, at, "st_shndx")
    size = elf.sections[shndx].size if shndx < len(elf.sections) else 0
    mask = (1 << (8 * elf.word)) - 1
    what = choose(pick, ["st_value", "st_size"])
    _, other = choose(pick, _symbols(elf))
    value = choose(pick, [size, size + 1, size - 1, mask, mask >> 1, 1 << (8 * elf.word - 1),
                          _sym_field(elf, other, what), size * 2 + 8, 1 << 32])
    old = _sym_field(elf, at, what, value & mask)
    return f"symbol at {at:#x}.{what} {old:#x} -> {value & mask:#x}"


def sym_info(pick: Picker, elf: Elf) -> str | None:
    symbols = _symbols(elf)
    if not symbols:
        return None
    _, at = choose(pick, symbols)
    if pick.integer(0, 2) == 0:
        value = choose(pick, [0, 1, 2, 3, 0x80, 0xFF, 0x13])
        old = _sym_field(elf, at, "st_other", value)
        return f"symbol at {at:#x}.st_other {old:#x} -> {value:#x}"
    bind = choose(pick, [0, 1, 2, 10, 12, 13, 15])
    kind = choose(pick, [0, 1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 15])
    old = _sym_field(elf, at, "st_info", bind << 4 | kind)
    return f"symbol at {at:#x}.st_info {old:#x} -> {bind << 4 | kind:#x}"


def sym_swap(pick: Picker, elf: Elf) -> str | None:
    """Two symbol entries exchanged (locals after globals, a section symbol moved)."""
    symbols = _symbols(elf)
    if len(symbols) < 3:
        return None
    size = 24 if elf.is64 else 16
    (_, a), (_, b) = choose(pick, symbols), choose(pick, symbols)
    first, second = bytes(elf.data[a:a + size]), bytes(elf.data[b:b + size])
    elf.data[a:a + size], elf.data[b:b + size] = second, first
    return f"symbols at {a:#x} and {b:#x} swapped"


def _relocs(elf: Elf) -> list[tuple[Section, int]]:
    out = []
    for s in elf.of_type(SHT_RELA, SHT_REL):
        size = (24 if s.type == SHT_RELA else 16) if elf.is64 else (
            12 if s.type == SHT_RELA else 8)
        out += [(s, at) for at in elf.entries(s, size)]
    return out


def _rel_info(elf: Elf, at: int) -> tuple[int, int]:
    info = elf.get(at + elf.word, elf.word)
    return (info >> 32, info & 0xFFFFFFFF) if elf.is64 else (info >> 8, info & 0xFF)


def _set_rel_info(elf: Elf, at: int, sym: int, kind: int) -> None:
    if elf.is64:
        elf.put(at + 8, 8, (sym & 0xFFFFFFFF) << 32 | (kind & 0xFFFFFFFF))
    else:
        elf.put(at + 4, 4, (sym & 0xFFFFFF) << 8 | (kind & 0xFF))


def rel_sym(pick: Picker, elf: Elf) -> str | None:
    relocs = _relocs(elf)
    if not relocs:
        return None
    table, at = choose(pick, relocs)
    symtab = elf.sections[table.link] if table.link < len(elf.sections) else None
    nsyms = symtab.size // symtab.entsize if symtab and symtab.entsize else 0
    sym, kind = _rel_info(elf, at)
    value = choose(pick, [nsyms, nsyms - 1, nsyms + 1, 0, pick.integer(0, max(nsyms, 1)),
                          0xFFFFFF, sym + 1])
    _set_rel_info(elf, at, max(value, 0), kind)
    return f"relocation at {at:#x}.r_sym {sym} -> {max(value, 0)}"


def rel_type(pick: Picker, elf: Elf) -> str | None:
    """Any type number: both classes' tables, past them, the other class's kinds."""
    relocs = _relocs(elf)
    if not relocs:
        return None
    _, at = choose(pick, relocs)
    sym, kind = _rel_info(elf, at)
    value = choose(pick, [pick.integer(0, 47), pick.integer(0, 255), 0, 250, 251, 253,
                          0x100 + kind, 0xFFFFFFFF])
    _set_rel_info(elf, at, sym, value)
    return f"relocation at {at:#x}.r_type {kind} -> {value & (0xFFFFFFFF if elf.is64 else 0xFF)}"


def rel_offset(pick: Picker, elf: Elf) -> str | None:
    """At or past the target's end, on another relocation's place, overlapping it."""
    relocs = _relocs(elf)
    if not relocs:
        return None
    table, at = choose(pick, relocs)
    target = elf.sections[table.info] if table.info < len(elf.sections) else None
    size = target.size if target else 0
    _, other = choose(pick, relocs)
    there = elf.get(other, elf.word)
    value = choose(pick, [size - pick.integer(0, 8), size, size + 1, there, there + 1,
                          there + 2, there - 1, (1 << (8 * elf.word)) - 1])
    old = elf.get(at, elf.word)
    elf.put(at, elf.word, value)
    return f"relocation at {at:#x}.r_offset {old:#x} -> {value:#x}"


def rel_addend(pick: Picker, elf: Elf) -> str | None:
    relocs = [(s, at) for s, at in _relocs(elf) if s.type == SHT_RELA]
    if not relocs:
        return None
    _, at = choose(pick, relocs)
    value = choose(pick, [(1 << 31) - 1, -(1 << 31), 1 << 31, -(1 << 31) - 1, (1 << 63) - 1,
                          -(1 << 63), (1 << 32) - 4, -4096])
    elf.put(at + 2 * elf.word, elf.word, value)
    return f"relocation at {at:#x}.r_addend -> {value:#x}"


def group(pick: Picker, elf: Elf) -> str | None:
    """A group naming itself, empty, a member of two groups, a flag word unknown."""
    groups = elf.of_type(SHT_GROUP)
    if not groups:
        return None
    g = choose(pick, groups)
    start, end = elf.contents(g)
    members = list(range(start + 4, end - 3, 4))
    kind = pick.integer(0, 4)
    if kind == 0 and members:
        at = choose(pick, members)
        value = choose(pick, [g.index, len(elf.sections), 0, *(s.index for s in groups),
                              *(s.index for s in elf.of_type(SHT_SYMTAB, SHT_RELA, SHT_REL))])
        elf.put(at, 4, value)
        return f"group [{g.index}] member at {at:#x} -> section {value}"
    if kind == 1:
        elf.sh(g, "sh_size", choose(pick, [4, 0, 2, 6]))
        return f"group [{g.index}] emptied"
    if kind == 2 and members and len(groups) > 1:
        other = choose(pick, groups)
        o_start, o_end = elf.contents(other)
        if o_end - o_start >= 8:
            elf.put(choose(pick, members), 4, elf.get(o_start + 4, 4))
            return f"group [{g.index}] shares a member with group [{other.index}]"
    if kind == 3:
        value = choose(pick, [0, 2, 3, 0xFFFFFFFF, 0x80000001])
        elf.put(start, 4, value)
        return f"group [{g.index}] flags -> {value:#x}"
    value = choose(pick, [0, pick.integer(0, 64), g.info + 1, 0xFFFFFF])
    elf.sh(g, "sh_info", value)
    return f"group [{g.index}] signature symbol {g.info} -> {value}"


def count_escapes(pick: Picker, elf: Elf) -> str | None:
    """e_shnum = 0 and e_shstrndx = SHN_XINDEX with the real values in section 0 (valid),
    or in section 0 but wrong; e_shstrndx naming another section."""
    if not elf.sections:
        return None
    zero, n = elf.sections[0], len(elf.sections)
    kind = pick.integer(0, 2)
    if kind == 0:
        value = choose(pick, [n, n, n + 1, n - 1, 0, 0xFFFFFFFF])
        elf.eh("e_shnum", 0)
        elf.sh(zero, "sh_size", value)
        return f"e_shnum 0 with section 0 sh_size {value:#x} (really {n})"
    if kind == 1:
        real = elf.eh("e_shstrndx")
        value = choose(pick, [real, real, real + 1, n, 0, 0xFFFF])
        elf.eh("e_shstrndx", 0xFFFF)
        elf.sh(zero, "sh_link", value)
        return f"e_shstrndx SHN_XINDEX with section 0 sh_link {value} (really {real})"
    value = _section_index(pick, elf, zero)
    elf.eh("e_shstrndx", value)
    return f"e_shstrndx -> {value}"


def nobits(pick: Picker, elf: Elf) -> str | None:
    """SHT_NOBITS given file contents (or a PROGBITS section made NOBITS)."""
    if not elf.sections:
        return None
    s = choose(pick, elf.sections[1:] or elf.sections)
    if s.type == SHT_NOBITS:
        elf.sh(s, "sh_type", 1)
        if pick.integer(0, 1):
            elf.sh(s, "sh_offset", choose(pick, [0, len(elf.data) - s.size, len(elf.data)]))
        return f"[{s.index}] {s.name!r} NOBITS -> PROGBITS"
    elf.sh(s, "sh_type", SHT_NOBITS)
    return f"[{s.index}] {s.name!r} type {s.type:#x} -> NOBITS"


def duplicate_header(pick: Picker, elf: Elf) -> str | None:
    """One section header copied over another (two symbol tables, two sections on the same
    bytes), or appended as a new section at the end of the file."""
    if len(elf.sections) < 3:
        return None
    src = choose(pick, [*elf.of_type(SHT_SYMTAB, SHT_STRTAB, SHT_GROUP, SHT_RELA, SHT_REL,
                                     SHT_DYNAMIC, SHT_DYNSYM), *elf.sections[1:]])
    size = SHDR[elf.is64]["sh_entsize"][0] + elf.word
    header = bytes(elf.data[src.header:src.header + size])
    if pick.integer(0, 1):
        dst = choose(pick, elf.sections[1:])
        elf.data[dst.header:dst.header + size] = header
        return f"header of [{src.index}] {src.name!r} copied over [{dst.index}] {dst.name!r}"
    table = b"".join(bytes(elf.data[s.header:s.header + size]) for s in elf.sections)
    at = (len(elf.data) + 7) & ~7
    elf.data += bytes(at - len(elf.data)) + table + header
    elf.eh("e_shoff", at)
    if elf.eh("e_shnum"):
        elf.eh("e_shnum", len(elf.sections) + 1)
    else:
        zero_size = SHDR[elf.is64]["sh_size"]
        elf.put(at + zero_size[0], zero_size[1], len(elf.sections) + 1)
    return f"header of [{src.index}] {src.name!r} appended as section {len(elf.sections)}"


def strtab(pick: Picker, elf: Elf) -> str | None:
    """A string table left unterminated, or cut in the middle of a name."""
    tables = [s for s in elf.of_type(SHT_STRTAB) if s.size]
    if not tables:
        return None
    s = choose(pick, tables)
    start, end = elf.contents(s)
    if pick.integer(0, 1) and end > start:
        elf.data[end - 1] = ord("A")
        return f"[{s.index}] {s.name!r} unterminated"
    cut = choose(pick, [s.size - 1, s.size // 2, 1, 0])
    elf.sh(s, "sh_size", cut)
    return f"[{s.index}] {s.name!r} cut to {cut}"


TABLE_OPS: tuple[Op, ...] = (sh_link, sh_info, sh_type_flags, sh_geometry, sym_shndx,
                             sym_name, sym_value_size, sym_info, sym_swap, rel_sym, rel_type,
                             rel_offset, rel_addend, group, count_escapes, nobits,
                             duplicate_header, strtab)
