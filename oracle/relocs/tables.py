"""Symbol and relocation tables read in bulk (struct.iter_unpack), not entry by entry.

pyelftools parses each entry through `construct`, which is far too slow for objects with
thousands of sections and symbols; these readers take the raw table bytes elf_file.py
located and decode them in one pass, naming types and bindings the way pyelftools does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from oracle import relr

TYPE_NAMES = {0: "STT_NOTYPE", 1: "STT_OBJECT", 2: "STT_FUNC", 3: "STT_SECTION",
              4: "STT_FILE", 5: "STT_COMMON", 6: "STT_TLS", 10: "STT_GNU_IFUNC"}
BIND_NAMES = {0: "STB_LOCAL", 1: "STB_GLOBAL", 2: "STB_WEAK", 10: "STB_GNU_UNIQUE"}
SPECIAL_SHNDX = {0: "SHN_UNDEF", 0xFFF1: "SHN_ABS", 0xFFF2: "SHN_COMMON"}
_TYPES, _BINDS, _SPECIAL = TYPE_NAMES, BIND_NAMES, SPECIAL_SHNDX


class RawSymbol(NamedTuple):
    """One symbol table entry (a tuple: thousands are made per output, and a frozen
    dataclass's __init__ costs several times a tuple's)."""

    name: str
    value: int
    size: int
    type: str
    bind: str
    shndx: int | str
    visibility: int = 0  # st_other & 3: STV_DEFAULT 0, INTERNAL 1, HIDDEN 2, PROTECTED 3


class RawReloc(NamedTuple):
    offset: int
    type: int
    symbol: int
    addend: int | None  # None for REL


def _name(strtab: bytes, offset: int) -> str:
    end = strtab.find(b"\0", offset)
    return strtab[offset:end if end >= 0 else len(strtab)].decode("utf-8", "replace")


def symbols(data: bytes, strtab: bytes, is64: bool) -> list[RawSymbol]:
    size = 24 if is64 else 16
    usable = data[:len(data) - len(data) % size]
    rows = struct.iter_unpack("<IBBHQQ" if is64 else "<IIIBBH", usable)
    # (one comprehension per layout: a generator's resumption per symbol cost more than
    # decoding it)
    if is64:
        return [_symbol(strtab, name, value, sym_size, info, other, shndx)
                for name, info, other, shndx, value, sym_size in rows]
    return [_symbol(strtab, name, value, sym_size, info, other, shndx)
            for name, value, sym_size, info, other, shndx in rows]


def _symbol(strtab: bytes, name: int, value: int, size: int, info: int, other: int,
            shndx: int) -> RawSymbol:
    end = strtab.find(b"\0", name)
    return RawSymbol(strtab[name:end if end >= 0 else len(strtab)].decode("utf-8", "replace"),
                     value, size, _TYPES.get(info & 0xF) or f"STT_{info & 0xF}",
                     _BINDS.get(info >> 4) or f"STB_{info >> 4}",
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


MAX_RELR_SLOTS = 1 << 22  # words a .relr.dyn may relocate: a hostile bitmap run is refused


def relr_slots(data: bytes, is64: bool) -> list[int]:
    """The words a SHT_RELR section relocates (each gets the load bias added to what it
    holds; oracle/relr.py decodes them); past MAX_RELR_SLOTS, ValueError."""
    word = 8 if is64 else 4
    words = (entry for (entry,) in struct.iter_unpack(
        "<Q" if is64 else "<I", data[:len(data) - len(data) % word]))
    out: list[int] = []
    for slot, _ in relr.relr_slots(words, word):
        out.append(slot)
        if len(out) > MAX_RELR_SLOTS:
            raise ValueError(f"a SHT_RELR table relocating more than {MAX_RELR_SLOTS} words")
    return out


def dynamic_tags(data: bytes, is64: bool) -> list[tuple[int, int]]:
    """(d_tag, d_val) pairs of a dynamic section, up to its DT_NULL."""
    fmt = "<qQ" if is64 else "<iI"
    size = struct.calcsize(fmt)
    out = []
    for tag, value in struct.iter_unpack(fmt, data[:len(data) - len(data) % size]):
        if tag == 0:
            break
        out.append((tag, value))
    return out


_VERNEED = struct.Struct("<HHIII")  # vn_version, vn_cnt, vn_file, vn_aux, vn_next
_VERNAUX = struct.Struct("<IHHII")  # vna_hash, vna_flags, vna_other, vna_name, vna_next


def needed_versions(data: bytes, count: int, strtab: bytes) -> dict[int, str]:
    """vna_other -> version name, over the `count` (sh_info) entries of .gnu.version_r.
    Each walk is bounded by the counts the section gives, so a hostile chain cannot loop."""
    names: dict[int, str] = {}
    at = 0
    for _ in range(count):
        if at < 0 or at + _VERNEED.size > len(data):
            break
        _, aux_count, _, aux, following = _VERNEED.unpack_from(data, at)
        pos = at + aux
        for _ in range(aux_count):
            if pos < 0 or pos + _VERNAUX.size > len(data):
                break
            _, _, other, name, next_aux = _VERNAUX.unpack_from(data, pos)
            names[other] = _name(strtab, name)
            if not next_aux:
                break
            pos += next_aux
        if not following:
            break
        at += following
    return names
