"""ELF32 ET_REL writer for i386: an `ObjectImage` in, object file bytes out.

The section order is fuzz.emit_elf's (GNU as's): null, COMDAT groups, each content section
followed by its relocations, `.note.GNU-stack`, `.symtab`, `.strtab`, `.shstrtab`.  The
differences are the ELF32 record layouts and REL: `.rel<name>` entries carry no addend,
the addend is written into the relocated field of the section's bytes (its width is the
relocation type's), which is where the linker must read it from.  Independent of linker/.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .assemble_x86 import ObjectImage, SymbolImage
from .emit_elf import (
    GRP_COMDAT,
    KIND_FLAGS,
    SHF_GROUP,
    SHF_INFO_LINK,
    SHN_ABS,
    SHN_COMMON,
    SHT_GROUP,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB,
    STT_FUNC,
    STT_NOTYPE,
    STT_OBJECT,
    STT_SECTION,
    Header,
    StringTable,
)
from .encode_i386 import FIELD_WIDTH
from .model import Binding, SectionKind

RELOC_TYPES_386 = {
    "R_386_32": 1, "R_386_PC32": 2, "R_386_GOT32": 3, "R_386_PLT32": 4, "R_386_GOTOFF": 9,
    "R_386_GOTPC": 10, "R_386_16": 20, "R_386_PC16": 21, "R_386_8": 22, "R_386_PC8": 23,
    "R_386_GOT32X": 43,
}
SHT_REL = 9
STV_HIDDEN = 2
EM_386 = 3


def _symbol_entry(name: int, info: int, other: int, shndx: int, value: int, size: int) -> bytes:
    return struct.pack("<IIIBBH", name, value, size, info, other, shndx)


def _with_addends(data: bytes, relocs: Iterable[tuple[int, str, int]]) -> bytes:
    """The section bytes with each (offset, type, addend) written into its field."""
    out = bytearray(data)
    for offset, type_, addend in relocs:
        width = FIELD_WIDTH[type_]
        out[offset:offset + width] = (addend & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    return bytes(out)


def write_elf32(image: ObjectImage, hidden: frozenset[str] = frozenset()) -> bytes:
    """The object file; symbols named in `hidden` get STV_HIDDEN."""
    groups = sorted({s.group for s in image.sections if s.group})
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
    symbols = [_symbol_entry(0, 0, 0, 0, 0, 0)]
    sym_index: dict[str, int] = {}
    for sec in image.sections:
        sym_index["\0sec:" + sec.name] = len(symbols)
        symbols.append(_symbol_entry(0, STT_SECTION, 0, index[sec.name], 0, 0))
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
        symbols.append(_symbol_entry(strtab.add(s.name), STB[s.binding] << 4 | kind,
                                     STV_HIDDEN if s.name in hidden else 0, shndx,
                                     s.value & 0xFFFFFFFF, s.size))

    headers: list[Header] = []
    for g in groups:
        members = [i for sec in image.sections if sec.group == g
                   for i in (index[sec.name], rel_index.get(sec.name)) if i is not None]
        headers.append(Header(".group", SHT_GROUP, data=struct.pack(
            f"<{1 + len(members)}I", GRP_COMDAT, *members), link=symtab_i,
            info=sym_index[g], align=4, entsize=4))
    for sec in image.sections:
        flags = KIND_FLAGS[sec.kind] | (SHF_GROUP if sec.group else 0)
        if sec.kind is SectionKind.BSS:
            headers.append(Header(sec.name, SHT_NOBITS, flags, size=sec.size, align=sec.align))
        else:
            data = _with_addends(sec.data, ((r.offset, r.type, r.addend) for r in sec.relocs))
            headers.append(Header(sec.name, SHT_PROGBITS, flags, data, align=sec.align))
        if sec.relocs:
            rel = b"".join(
                struct.pack("<II", r.offset, sym_index[("\0sec:" if r.section_symbol else "")
                                                       + r.symbol] << 8
                            | RELOC_TYPES_386[r.type])
                for r in sec.relocs)
            headers.append(Header(".rel" + sec.name, SHT_REL,
                                  SHF_INFO_LINK | (SHF_GROUP if sec.group else 0), rel,
                                  link=symtab_i, info=index[sec.name], align=4, entsize=8))
    headers.append(Header(".note.GNU-stack", SHT_PROGBITS))
    headers.append(Header(".symtab", SHT_SYMTAB, data=b"".join(symbols), link=strtab_i,
                          info=first_global, align=4, entsize=16))
    headers.append(Header(".strtab", SHT_STRTAB, data=bytes(strtab.data)))
    shstrtab = StringTable()
    names = [shstrtab.add(h.name) for h in headers]
    names.append(shstrtab.add(".shstrtab"))
    headers.append(Header(".shstrtab", SHT_STRTAB, data=bytes(shstrtab.data)))

    body = bytearray(52)
    table = [bytes(40)]
    for h, name in zip(headers, names, strict=True):
        if h.type != SHT_NOBITS:
            body += bytes(-len(body) % max(h.align, 1))
        offset = len(body)
        if h.type != SHT_NOBITS:
            body += h.data
        size = h.size if h.size is not None else len(h.data)
        table.append(struct.pack("<IIIIIIIIII", name, h.type, h.flags, 0, offset, size, h.link,
                                 h.info, h.align, h.entsize))
    body += bytes(-len(body) % 4)
    shoff = len(body)
    body += b"".join(table)
    ident = b"\x7fELF\x01\x01\x01" + bytes(9)
    body[:52] = ident + struct.pack("<HHIIIIIHHHHHH", 1, EM_386, 1, 0, 0, shoff, 0, 52, 0, 0, 40,
                                    len(table), shstrtab_i)
    return bytes(body)
