"""A small ELF64 ET_REL writer for x86-64: an `ObjectImage` in, object file bytes out.

Section header order, as GNU as writes it: the null section, COMDAT groups (SHT_GROUP, whose
members follow), each content section followed by its `.rela` section, `.note.GNU-stack`,
then `.symtab` (null, section symbols, other locals, then globals; sh_info = first global),
`.strtab` and `.shstrtab`.  Independent of linker/ on purpose: the linker's reader is judged
by input it did not write.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .assemble_x86 import ObjectImage, SymbolImage
from .model import Binding, SectionKind

RELOC_TYPES = {
    "R_X86_64_64": 1, "R_X86_64_PC32": 2, "R_X86_64_PLT32": 4, "R_X86_64_GOTPCREL": 9,
    "R_X86_64_32": 10, "R_X86_64_32S": 11, "R_X86_64_16": 12, "R_X86_64_PC16": 13,
    "R_X86_64_8": 14, "R_X86_64_PC8": 15, "R_X86_64_GOTPCRELX": 41,
    "R_X86_64_REX_GOTPCRELX": 42, "R_X86_64_PC64": 24, "R_X86_64_GOT32": 3,
    "R_X86_64_GOTOFF64": 25, "R_X86_64_GOTPC32": 26,
}
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_GROUP = 1, 2, 3, 4, 8, 17
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_INFO_LINK, SHF_GROUP = 1, 2, 4, 0x40, 0x200
SHN_ABS, SHN_COMMON = 0xFFF1, 0xFFF2
STB = {Binding.LOCAL: 0, Binding.GLOBAL: 1, Binding.WEAK: 2}
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3
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


def _symbol_entry(name: int, info: int, shndx: int, value: int, size: int) -> bytes:
    return struct.pack("<IBBHQQ", name, info, 0, shndx, value, size)


def write_elf(image: ObjectImage) -> bytes:
    groups = sorted({s.group for s in image.sections if s.group})
    # Section indices: null, groups, (content, rela?)*, note, symtab, strtab, shstrtab.
    index: dict[str, int] = {}
    rela_index: dict[str, int] = {}
    n = 1 + len(groups)
    for sec in image.sections:
        index[sec.name] = n
        n += 1
        if sec.relocs:
            rela_index[sec.name] = n
            n += 1
    symtab_i, strtab_i, shstrtab_i = n + 1, n + 2, n + 3  # n: .note.GNU-stack

    strtab = StringTable()
    symbols = [_symbol_entry(0, 0, 0, 0, 0)]
    sym_index: dict[str, int] = {}
    for sec in image.sections:  # section symbols (STB_LOCAL, STT_SECTION)
        sym_index["\0sec:" + sec.name] = len(symbols)
        symbols.append(_symbol_entry(0, STT_SECTION, index[sec.name], 0, 0))
    ordered: list[SymbolImage] = [s for s in image.symbols if s.binding is Binding.LOCAL]
    first_global = len(symbols) + len(ordered)
    ordered += [s for s in image.symbols if s.binding is not Binding.LOCAL]
    for s in ordered:
        kind = STT_FUNC if s.is_function else (STT_NOTYPE if s.special in ("abs", "undef")
                                               else STT_OBJECT)
        shndx = {"abs": SHN_ABS, "common": SHN_COMMON, "undef": 0}.get(s.special, 0)
        if s.section is not None:
            shndx = index[s.section]
        sym_index[s.name] = len(symbols)
        symbols.append(_symbol_entry(strtab.add(s.name), STB[s.binding] << 4 | kind, shndx,
                                     s.value, s.size))

    headers: list[Header] = []
    for g in groups:
        members = [i for sec in image.sections if sec.group == g
                   for i in (index[sec.name], rela_index.get(sec.name)) if i is not None]
        headers.append(Header(".group", SHT_GROUP, data=struct.pack(
            f"<{1 + len(members)}I", GRP_COMDAT, *members), link=symtab_i,
            info=sym_index[g], align=4, entsize=4))
    for sec in image.sections:
        flags = KIND_FLAGS[sec.kind] | (SHF_GROUP if sec.group else 0)
        if sec.kind is SectionKind.BSS:
            headers.append(Header(sec.name, SHT_NOBITS, flags, size=sec.size, align=sec.align))
        else:
            headers.append(Header(sec.name, SHT_PROGBITS, flags, sec.data, align=sec.align))
        if sec.relocs:
            rela = b"".join(
                struct.pack("<QQq", r.offset, sym_index[("\0sec:" if r.section_symbol else "")
                                                        + r.symbol] << 32 | RELOC_TYPES[r.type],
                            r.addend)
                for r in sec.relocs)
            headers.append(Header(".rela" + sec.name, SHT_RELA,
                                  SHF_INFO_LINK | (SHF_GROUP if sec.group else 0), rela,
                                  link=symtab_i, info=index[sec.name], align=8, entsize=24))
    headers.append(Header(".note.GNU-stack", SHT_PROGBITS))
    headers.append(Header(".symtab", SHT_SYMTAB, data=b"".join(symbols), link=strtab_i,
                          info=first_global, align=8, entsize=24))
    headers.append(Header(".strtab", SHT_STRTAB, data=bytes(strtab.data)))
    shstrtab = StringTable()
    names = [shstrtab.add(h.name) for h in headers]
    names.append(shstrtab.add(".shstrtab"))
    headers.append(Header(".shstrtab", SHT_STRTAB, data=bytes(shstrtab.data)))
    assert len(headers) + 1 == shstrtab_i + 1

    body = bytearray(64)
    table = [bytes(64)]
    for h, name in zip(headers, names, strict=True):
        if h.type != SHT_NOBITS:
            body += bytes(-len(body) % max(h.align, 1))
        offset = len(body)
        if h.type != SHT_NOBITS:
            body += h.data
        size = h.size if h.size is not None else len(h.data)
        table.append(struct.pack("<IIQQQQIIQQ", name, h.type, h.flags, 0, offset, size, h.link,
                                 h.info, h.align, h.entsize))
    body += bytes(-len(body) % 8)
    shoff = len(body)
    body += b"".join(table)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    body[:64] = ident + struct.pack("<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                                    len(table), shstrtab_i)
    return bytes(body)
