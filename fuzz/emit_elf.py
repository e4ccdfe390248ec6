"""A small ELF ET_REL writer: an `ObjectImage` in, object file bytes out; ELF64 RELA for
x86-64 (`X86_64` here), ELF32 REL for i386 (fuzz.emit_elf32's `I386`), one `ElfClass` each.

Section header order, as GNU as writes it: the null section, COMDAT groups (SHT_GROUP, whose
members follow), each content section followed by its `.rela` (`.rel`) section, `.note.GNU-stack`,
then `.symtab` (null, section symbols, other locals, then globals; sh_info = first global),
`.strtab` and `.shstrtab`.  Independent of linker/ on purpose: the linker's reader is judged
by input it did not write.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .assemble_x86 import ObjectImage, Relocation, SymbolImage
from .model import Binding, SectionKind

RELOC_TYPES = {
    "R_X86_64_64": 1, "R_X86_64_PC32": 2, "R_X86_64_PLT32": 4, "R_X86_64_GOTPCREL": 9,
    "R_X86_64_32": 10, "R_X86_64_32S": 11, "R_X86_64_16": 12, "R_X86_64_PC16": 13,
    "R_X86_64_8": 14, "R_X86_64_PC8": 15, "R_X86_64_GOTPCRELX": 41,
    "R_X86_64_REX_GOTPCRELX": 42, "R_X86_64_PC64": 24, "R_X86_64_GOT32": 3,
    "R_X86_64_GOTOFF64": 25, "R_X86_64_GOTPC32": 26,
}
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL, SHT_GROUP = 1, 2, 3, 4, 8, 9, 17
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_INFO_LINK, SHF_GROUP = 1, 2, 4, 0x40, 0x200
SHN_ABS, SHN_COMMON = 0xFFF1, 0xFFF2
STB = {Binding.LOCAL: 0, Binding.GLOBAL: 1, Binding.WEAK: 2}
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
STV_HIDDEN = 2
GRP_COMDAT = 1
KIND_FLAGS = {
    SectionKind.TEXT: SHF_ALLOC | SHF_EXECINSTR,
    SectionKind.DATA: SHF_ALLOC | SHF_WRITE,
    SectionKind.RODATA: SHF_ALLOC,
    SectionKind.BSS: SHF_ALLOC | SHF_WRITE,
}


class StringTable:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.data)
            self.data += s.encode() + b"\0"
        return self.index[s]


@dataclass
class Header:
    """A section header under construction; `data` is what goes in the file."""

    name: str
    type: int
    flags: int = 0
    data: bytes = b""
    size: int | None = None  # for SHT_NOBITS
    link: int = 0
    info: int = 0
    align: int = 1
    entsize: int = 0


@dataclass(frozen=True)
class ElfClass:
    """What differs between the objects written here: ELF64 with RELA (x86-64) or ELF32 with
    REL (i386), whose addends live in the relocated fields instead of the entries."""

    machine: int  # e_machine
    reloc_types: Mapping[str, int]
    wide: bool  # ELFCLASS64 (its record layouts) or ELFCLASS32
    # REL only: the section bytes with each relocation's addend written into its field
    addends_in_fields: Callable[[bytes, Sequence[Relocation]], bytes] | None = None

    @property
    def word(self) -> int:
        return 8 if self.wide else 4

    def symbol(self, name: int, info: int, other: int, shndx: int, value: int,
               size: int) -> bytes:
        if self.wide:
            return _SYM64(name, info, other, shndx, value, size)
        return _SYM32(name, value & 0xFFFFFFFF, size, info, other, shndx)

    def relocations(self, relocs: Sequence[Relocation], index: Mapping[str, int]) -> bytes:
        """The entries of a section's relocations, `index` giving each symbol's (a
        section symbol's under "\\0sec:" + its name)."""
        types = self.reloc_types
        keys = [("\0sec:" + r.symbol) if r.section_symbol else r.symbol for r in relocs]
        if self.addends_in_fields is None:
            return b"".join(_RELA64(r.offset, index[k] << 32 | types[r.type], r.addend)
                            for r, k in zip(relocs, keys))
        return b"".join(_REL32(r.offset, index[k] << 8 | types[r.type])
                        for r, k in zip(relocs, keys))

    def section_header(self, *fields: int) -> bytes:
        return (_SHDR64 if self.wide else _SHDR32)(*fields)

    def file_header(self, shoff: int, shnum: int, shstrndx: int) -> bytes:
        ident = b"\x7fELF" + bytes([2 if self.wide else 1, 1, 1]) + bytes(9)
        if self.wide:
            return ident + struct.pack("<HHIQQQIHHHHHH", 1, self.machine, 1, 0, 0, shoff, 0,
                                       64, 0, 0, 64, shnum, shstrndx)
        return ident + struct.pack("<HHIIIIIHHHHHH", 1, self.machine, 1, 0, 0, shoff, 0,
                                   52, 0, 0, 40, shnum, shstrndx)


_SPECIAL_SHNDX = {"abs": SHN_ABS, "common": SHN_COMMON, "undef": 0}
# the records' layouts, compiled once
_SYM64, _SYM32 = struct.Struct("<IBBHQQ").pack, struct.Struct("<IIIBBH").pack
_RELA64, _REL32 = struct.Struct("<QQq").pack, struct.Struct("<II").pack
_SHDR64, _SHDR32 = struct.Struct("<IIQQQQIIQQ").pack, struct.Struct("<IIIIIIIIII").pack
# symbol binding bits and section flags by the model's enum members' identities (an enum
# member hashes in Python, a dozen times an object)
_STB_BITS = {id(binding): bits for binding, bits in STB.items()}
_KIND_FLAGS = {id(kind): flags for kind, flags in KIND_FLAGS.items()}
X86_64 = ElfClass(machine=62, reloc_types=RELOC_TYPES, wide=True)


def write_elf(image: ObjectImage) -> bytes:
    return write_object(image, X86_64)


def write_object(image: ObjectImage, elf: ElfClass,
                 hidden: frozenset[str] = frozenset()) -> bytes:
    """The object file of class `elf`; symbols named in `hidden` get STV_HIDDEN."""
    groups = sorted({s.group for s in image.sections if s.group})
    # Section indices: null, groups, (content, rel[a]?)*, note, symtab, strtab, shstrtab.
    index: dict[str, int] = {}
    rel_index: dict[str, int] = {}
    n = 1 + len(groups)
    for sec in image.sections:
        index[sec.name] = n
        n += 1
        if sec.relocs:
            rel_index[sec.name] = n
            n += 1
    symtab_i, strtab_i, shstrtab_i = n + 1, n + 2, n + 3  # n: .note.GNU-stack

    strtab = StringTable()
    symbols = [elf.symbol(0, 0, 0, 0, 0, 0)]
    sym_index: dict[str, int] = {}
    for sec in image.sections:  # section symbols (STB_LOCAL, STT_SECTION)
        sym_index["\0sec:" + sec.name] = len(symbols)
        symbols.append(elf.symbol(0, STT_SECTION, 0, index[sec.name], 0, 0))
    ordered: list[SymbolImage] = [s for s in image.symbols if s.binding is Binding.LOCAL]
    first_global = len(symbols) + len(ordered)
    ordered += [s for s in image.symbols if s.binding is not Binding.LOCAL]
    for s in ordered:
        kind = STT_FUNC if s.is_function else (STT_NOTYPE if s.special in ("abs", "undef")
                                               else STT_OBJECT)
        shndx = _SPECIAL_SHNDX.get(s.special, 0)
        if s.section is not None:
            shndx = index[s.section]
        sym_index[s.name] = len(symbols)
        symbols.append(elf.symbol(strtab.add(s.name), _STB_BITS[id(s.binding)] << 4 | kind,
                                  STV_HIDDEN if s.name in hidden else 0, shndx, s.value, s.size))

    rela = elf.addends_in_fields is None
    headers: list[Header] = []
    for g in groups:
        members = [i for sec in image.sections if sec.group == g
                   for i in (index[sec.name], rel_index.get(sec.name)) if i is not None]
        headers.append(Header(".group", SHT_GROUP, data=struct.pack(
            f"<{1 + len(members)}I", GRP_COMDAT, *members), link=symtab_i,
            info=sym_index[g], align=4, entsize=4))
    for sec in image.sections:
        flags = _KIND_FLAGS[id(sec.kind)] | (SHF_GROUP if sec.group else 0)
        if sec.kind is SectionKind.BSS:
            headers.append(Header(sec.name, SHT_NOBITS, flags, size=sec.size, align=sec.align))
        else:
            data = (sec.data if elf.addends_in_fields is None
                    else elf.addends_in_fields(sec.data, sec.relocs))
            headers.append(Header(sec.name, SHT_PROGBITS, flags, data, align=sec.align))
        if sec.relocs:
            entries = elf.relocations(sec.relocs, sym_index)
            headers.append(Header((".rela" if rela else ".rel") + sec.name,
                                  SHT_RELA if rela else SHT_REL,
                                  SHF_INFO_LINK | (SHF_GROUP if sec.group else 0), entries,
                                  link=symtab_i, info=index[sec.name], align=elf.word,
                                  entsize=len(entries) // len(sec.relocs)))
    headers.append(Header(".note.GNU-stack", SHT_PROGBITS))
    headers.append(Header(".symtab", SHT_SYMTAB, data=b"".join(symbols), link=strtab_i,
                          info=first_global, align=elf.word, entsize=len(symbols[0])))
    headers.append(Header(".strtab", SHT_STRTAB, data=bytes(strtab.data)))
    shstrtab = StringTable()
    names = [shstrtab.add(h.name) for h in headers]
    names.append(shstrtab.add(".shstrtab"))
    headers.append(Header(".shstrtab", SHT_STRTAB, data=bytes(shstrtab.data)))
    assert len(headers) + 1 == shstrtab_i + 1

    file_header_size = 64 if elf.wide else 52
    body = bytearray(file_header_size)
    table = [bytes(64 if elf.wide else 40)]  # the null section's header
    for h, name in zip(headers, names, strict=True):
        if h.type != SHT_NOBITS:
            body += bytes(-len(body) % max(h.align, 1))
        offset = len(body)
        if h.type != SHT_NOBITS:
            body += h.data
        size = h.size if h.size is not None else len(h.data)
        table.append(elf.section_header(name, h.type, h.flags, 0, offset, size, h.link,
                                        h.info, h.align, h.entsize))
    body += bytes(-len(body) % elf.word)
    shoff = len(body)
    body += b"".join(table)
    body[:file_header_size] = elf.file_header(shoff, len(table), shstrtab_i)
    return bytes(body)
