"""Symbol and relocation tables read in bulk (struct.iter_unpack), not entry by entry.

pyelftools parses each entry through `construct`, which is far too slow for objects with
thousands of sections and symbols; these readers take the raw table bytes pyelftools
located and decode them in one pass, naming types and bindings the way pyelftools does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_TYPES = {0: "STT_NOTYPE", 1: "STT_OBJECT", 2: "STT_FUNC", 3: "STT_SECTION", 4: "STT_FILE",
          5: "STT_COMMON", 6: "STT_TLS", 10: "STT_GNU_IFUNC"}
_BINDS = {0: "STB_LOCAL", 1: "STB_GLOBAL", 2: "STB_WEAK", 10: "STB_GNU_UNIQUE"}
_SPECIAL = {0: "SHN_UNDEF", 0xFFF1: "SHN_ABS", 0xFFF2: "SHN_COMMON"}


@dataclass(frozen=True)
class RawSymbol:
    name: str
    value: int
    size: int
    type: str
    bind: str
    shndx: int | str
    visibility: int = 0  # st_other & 3: STV_DEFAULT 0, INTERNAL 1, HIDDEN 2, PROTECTED 3


@dataclass(frozen=True)
class RawReloc:
    offset: int
    type: int
    symbol: int
    addend: int | None  # None for REL


def _name(strtab: bytes, offset: int) -> str:
    end = strtab.find(b"\0", offset)
    return strtab[offset:end if end >= 0 else len(strtab)].decode("utf-8", "replace")


def symbols(data: bytes, strtab: bytes, is64: bool) -> Iterator[RawSymbol]:
    size = 24 if is64 else 16
    usable = data[:len(data) - len(data) % size]
    for entry in struct.iter_unpack("<IBBHQQ" if is64 else "<IIIBBH", usable):
        if is64:
            name, info, other, shndx, value, sym_size = entry
        else:
            name, value, sym_size, info, other, shndx = entry
        yield RawSymbol(_name(strtab, name), value, sym_size,
                        _TYPES.get(info & 0xF, f"STT_{info & 0xF}"),
                        _BINDS.get(info >> 4, f"STB_{info >> 4}"),
                        _SPECIAL.get(shndx, shndx), other & 3)


def relocations(data: bytes, is64: bool, rela: bool) -> Iterator[RawReloc]:
    fmt = {(True, True): "<QQq", (True, False): "<QQ", (False, True): "<IIi",
           (False, False): "<II"}[(is64, rela)]
    size = struct.calcsize(fmt)
    usable = data[:len(data) - len(data) % size]
    for entry in struct.iter_unpack(fmt, usable):
        offset, info = entry[0], entry[1]
        sym, kind = (info >> 32, info & 0xFFFFFFFF) if is64 else (info >> 8, info & 0xFF)
        yield RawReloc(offset, kind, sym, entry[2] if rela else None)
