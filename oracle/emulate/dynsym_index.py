"""The exports of a real ELF object loaded by the emulated ld.so: its .dynsym's global,
visible definitions by name with their versions (.gnu.version, .gnu.version_d), and the
undefined symbols of an executable with a nonzero value (canonical PLT entries).

Read from the file's bytes with a few bulk unpacks, every offset and size checked against
the file: this runs while loading, inside the run's time limit, and pyelftools (which read
it before) took ~0.25 ms a symbol, so that a real library of 5,000 exports (libstdc++
under a host library) spent seconds here before the first guest instruction.  A table that
does not read (a hostile size, link or offset) indexes nothing, as ld.so would find no
symbol in it.  Only little-endian ELF is read: the emulator runs x86 and x86-64 alone.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

SHT_SYMTAB, SHT_DYNSYM, SHT_NOBITS = 2, 11, 8
SHN_UNDEF, SHN_XINDEX = 0, 0xFFFF
STB_LOCAL = 0
STV_INTERNAL, STV_HIDDEN = 1, 2
VERDEF_SIZE = 20  # Elf_Verdef: the least an entry of .gnu.version_d takes

_EHDR = {True: struct.Struct("<16xHHIQQQIHHHHHH"), False: struct.Struct("<16xHHIIIIIHHHHHH")}
_SHDR = {True: struct.Struct("<IIQQQQIIQQ"), False: struct.Struct("<IIIIIIIIII")}
_SYM = {True: struct.Struct("<IBBHQQ"), False: struct.Struct("<IIIBBH")}


@dataclass(frozen=True)
class Definition:
    index: int
    version: str | None
    hidden: bool  # a non-default version (name@VER rather than name@@VER)


Index = tuple[tuple[tuple[str, Definition], ...], tuple[tuple[str, int], ...]]


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


class _Unreadable(ValueError):
    """A header, table or offset the file does not hold."""


@functools.lru_cache(maxsize=16)
def symbol_index(data: bytes, is_executable: bool) -> Index:
    """(name, definition) and (name, canonical PLT index) pairs of a file's .dynsym.
    Cached by the file's bytes: a program's libraries are the same file run after run (a
    fuzz property or a hostile campaign runs thousands)."""
    try:
        sections = _sections(data)
        dynsym = next((s for s in sections if s.name == ".dynsym"), None)
        if dynsym is None or dynsym.type not in (SHT_SYMTAB, SHT_DYNSYM):
            return (), ()  # a section named .dynsym of another type holds no symbols
        rows = _symbol_rows(data, dynsym)
        strings = _contents(data, _section(sections, dynsym.link))
        versions = _symbol_versions(data, sections, len(rows))
    except (_Unreadable, struct.error):
        return (), ()
    definitions: list[tuple[str, Definition]] = []
    canonical: list[tuple[str, int]] = []
    for index, (name_offset, info, other, shndx, value) in enumerate(rows):
        if info >> 4 == STB_LOCAL or other & 3 in (STV_HIDDEN, STV_INTERNAL):
            continue  # the gABI: a hidden symbol is not visible outside its object
        name = _string_at(strings, name_offset)
        if not name:
            continue
        if shndx != SHN_UNDEF:
            version, hidden = versions[index] if index < len(versions) else (None, False)
            definitions.append((name, Definition(index, version, hidden)))
        elif value and is_executable:
            canonical.append((name, index))
    return tuple(definitions), tuple(canonical)


def _sections(data: bytes) -> list[_Section]:
    if len(data) < 16 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] != 1:
        raise _Unreadable("not a little-endian ELF file")
    is64 = data[4] == 2
    header = _EHDR[is64]
    fields = header.unpack_from(_bytes(data, 0, header.size))
    shoff, shentsize, shnum, shstrndx = fields[5], fields[10], fields[11], fields[12]
    entry = _SHDR[is64]
    if shoff == 0:
        return []
    if shentsize != entry.size:
        raise _Unreadable(f"section headers of {shentsize} bytes")
    if shnum == 0 or shstrndx == SHN_XINDEX:  # the real values live in section 0
        first = entry.unpack_from(_bytes(data, shoff, entry.size))
        shnum = shnum or first[5]
        shstrndx = first[6] if shstrndx == SHN_XINDEX else shstrndx
    rows = list(entry.iter_unpack(_bytes(data, shoff, shnum * entry.size)))
    names = b""
    if 0 < shstrndx < len(rows) and rows[shstrndx][1] != SHT_NOBITS:
        names = _bytes(data, rows[shstrndx][4], rows[shstrndx][5])
    return [_Section(_string_at(names, name), kind, offset, size, link, info, entsize)
            for name, kind, _, _, offset, size, link, info, _, entsize in rows]


def _bytes(data: bytes, offset: int, size: int) -> bytes:
    if offset < 0 or size < 0 or offset + size > len(data):
        raise _Unreadable(f"{size:#x} bytes at {offset:#x} run past the end of the file")
    return data[offset:offset + size]


def _section(sections: list[_Section], index: int) -> _Section:
    if not 0 <= index < len(sections):
        raise _Unreadable(f"no section {index}")
    return sections[index]


def _contents(data: bytes, section: _Section) -> bytes:
    return b"" if section.type == SHT_NOBITS else _bytes(data, section.offset, section.size)


def _symbol_rows(data: bytes, section: _Section) -> list[tuple[int, int, int, int, int]]:
    """(st_name, st_info, st_other, st_shndx, st_value) of each entry, in one unpack."""
    is64 = data[4] == 2
    entry = _SYM[is64]
    if section.entsize != entry.size:
        raise _Unreadable(f"symbol entries of {section.entsize} bytes")
    raw = _contents(data, section)
    raw = raw[:len(raw) - len(raw) % entry.size]
    if is64:
        return [(n, i, o, x, v) for n, i, o, x, v, _ in entry.iter_unpack(raw)]
    return [(n, i, o, x, v) for n, v, _, i, o, x in entry.iter_unpack(raw)]


def _string_at(table: bytes, offset: int) -> str:
    """The NUL-terminated name at `offset` (latin-1: any bytes are a name, as in ELF)."""
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("latin-1")


def _symbol_versions(data: bytes, sections: list[_Section],
                     count: int) -> list[tuple[str | None, bool]]:
    """(version name, hidden) per dynamic symbol, from .gnu.version and .gnu.version_d."""
    versym = next((s for s in sections if s.name == ".gnu.version"), None)
    verdef = next((s for s in sections if s.name == ".gnu.version_d"), None)
    if versym is None or verdef is None:
        return []
    strings = _contents(data, _section(sections, verdef.link))
    raw = _contents(data, verdef)
    names: dict[int, str] = {}
    at = 0
    for _ in range(min(verdef.info, len(raw) // VERDEF_SIZE)):  # a hostile count: the bytes
        _, _, ndx, cnt, _, aux, nxt = struct.unpack_from("<HHHHIII", raw, at)
        if cnt:
            names[ndx] = _string_at(strings, struct.unpack_from("<I", raw, at + aux)[0])
        if not nxt:
            break
        at += nxt
    values = struct.unpack_from(f"<{count}H", _contents(data, versym))
    return [(names.get(v & 0x7FFF), bool(v & 0x8000)) for v in values]
