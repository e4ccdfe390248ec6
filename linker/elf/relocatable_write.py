"""Serialise a RelocatableOutput (elf/relocatable.py) as an ET_REL file.

Section header order: the null section, the COMDAT groups (a group must come before its
members, gABI), each output section followed by its relocation section, `.note.GNU-stack`,
then `.symtab`, `.strtab` and `.shstrtab`.  Contents follow the ELF header in that order,
each at its alignment, and the section header table comes last.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import LinkError
from ..targets import ArchTraits
from .dynamic import StringTable
from .headers import (
    SHF_EXECINSTR,
    SHF_GROUP,
    SHT_GROUP,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
)
from .reloc_table import pack_relocations
from .relocatable import RelocatableOutput, RelSection

ET_REL = 1
SHF_INFO_LINK = 0x40
GRP_COMDAT = 1
SHN_LORESERVE = 0xFF00


class _Header:
    """One section header of the output and the bytes it owns."""

    def __init__(self, name: str, sh_type: int, flags: int, data: bytes, *, align: int = 1,
                 entsize: int = 0, size: int | None = None) -> None:
        self.name, self.type, self.flags, self.data = name, sh_type, flags, data
        self.align, self.entsize = align, entsize
        self.size = len(data) if size is None else size
        self.link = self.info = 0
        self.offset = 0


def write_relocatable(out: RelocatableOutput) -> bytearray:
    arch = out.arch
    layout = arch.elf
    headers: list[_Header] = [_Header("", 0, 0, b"")]
    group_headers = []
    for signature, _symbol, _members in out.groups:
        group_headers.append(_Header(".group", SHT_GROUP, 0, b"", align=4, entsize=4))
    headers += group_headers
    rel_of: dict[int, _Header] = {}
    owner: dict[int, _Header] = {}
    for sec in out.sections:
        sec.index = len(headers)
        hdr = _Header(sec.name, sec.sh_type, sec.sh_flags, sec.data, align=sec.align,
                      entsize=sec.entsize, size=sec.size)
        owner[id(sec)] = hdr
        headers.append(hdr)
        if sec.relocs is not None and len(sec.relocs):
            prefix = ".rela" if arch.is_rela else ".rel"
            flags = SHF_INFO_LINK | (SHF_GROUP if sec.group is not None else 0)
            rel = _Header(prefix + sec.name, SHT_RELA if arch.is_rela else SHT_REL, flags,
                          pack_relocations(_rows_of(sec), arch.is_rela, layout), align=arch.word,
                          entsize=arch.dynamic_reloc_size)
            rel.info = sec.index
            rel_of[id(sec)] = rel
            headers.append(rel)
    if len(headers) + 4 >= SHN_LORESERVE:
        raise LinkError(f"-r: {len(headers)} output sections; linkharness writes at most "
                        f"{SHN_LORESERVE - 5} (no extended section numbering)")
    if out.exec_stack is not None:
        headers.append(_Header(".note.GNU-stack", SHT_PROGBITS,
                               SHF_EXECINSTR if out.exec_stack else 0, b""))
    symtab_index = len(headers)
    strtab = StringTable()
    symbols = _symbol_bytes(out, strtab, arch)
    symtab = _Header(".symtab", SHT_SYMTAB, 0, symbols, align=arch.word,
                     entsize=layout.symbol_size)
    symtab.link, symtab.info = symtab_index + 1, out.first_global
    headers += [symtab, _Header(".strtab", SHT_STRTAB, 0, strtab.bytes())]
    for hdr in rel_of.values():
        hdr.link = symtab_index
    for hdr, (_signature, symbol, members) in zip(group_headers, out.groups):
        indices = []
        for sec in members:
            indices.append(sec.index)
            if id(sec) in rel_of:
                indices.append(headers.index(rel_of[id(sec)]))
        hdr.data = struct.pack(f"<{1 + len(indices)}I", GRP_COMDAT, *indices)
        hdr.size = len(hdr.data)
        hdr.link, hdr.info = symtab_index, symbol
    shstrtab = StringTable()
    names = [shstrtab.add(h.name) for h in headers]
    shstr = _Header(".shstrtab", SHT_STRTAB, 0, b"")
    names.append(shstrtab.add(shstr.name))
    shstr.data = shstrtab.bytes()
    shstr.size = len(shstr.data)
    headers.append(shstr)
    return _serialise(headers, names, arch)


def _rows_of(sec: RelSection) -> np.ndarray:
    assert sec.relocs is not None
    return sec.relocs


def _symbol_bytes(out: RelocatableOutput, strtab: StringTable, arch: ArchTraits) -> bytes:
    rows = []
    mask = (1 << arch.word_bits) - 1
    for sym in out.symbols:
        shndx = sym.shndx if isinstance(sym.shndx, int) else sym.shndx.index
        name = strtab.add(sym.name) if sym.name else 0
        rows.append(arch.elf.pack_symbol(name=name, info=sym.info, other=sym.other,
                                         shndx=shndx, value=sym.value & mask, size=sym.size))
    return b"".join(rows)


def _serialise(headers: list[_Header], names: list[int], arch: ArchTraits) -> bytearray:
    layout, word = arch.elf, arch.word
    ehsize, shentsize = layout.header_size, layout.section_header_size
    pos = ehsize
    for hdr in headers[1:]:
        pos = -(-pos // max(1, hdr.align)) * max(1, hdr.align)
        hdr.offset = pos
        if hdr.type != SHT_NOBITS:
            pos += len(hdr.data)
    shoff = -(-pos // word) * word
    image = bytearray(shoff + shentsize * len(headers))
    ident = b"\x7fELF" + bytes([arch.elf_class, 1, 1, 0]) + bytes(8)
    image[:ehsize] = ident + struct.pack(layout.header_format, ET_REL, arch.elf_machine, 1, 0,
                                         0, shoff, 0, ehsize, 0, 0, shentsize, len(headers),
                                         len(headers) - 1)
    for n, hdr in enumerate(headers):
        if hdr.type != SHT_NOBITS and hdr.data:
            image[hdr.offset:hdr.offset + len(hdr.data)] = hdr.data
        if n == 0:
            continue
        struct.pack_into(layout.section_header_format, image, shoff + n * shentsize, names[n], hdr.type, hdr.flags, 0,
                         hdr.offset, hdr.size, hdr.link, hdr.info, hdr.align, hdr.entsize)
    return image
