"""Shared objects (ET_DYN) -> DynamicLibrary: what a `.so` exports, under which version.

We read the dynamic symbol table, DT_SONAME, and the GNU version tables.  A symbol with
several versions (glibc's `memcpy@GLIBC_2.2.5` and `memcpy@@GLIBC_2.14`) is exported to
new links only under its default version (the "@@" one: versym without the hidden bit);
hidden versions exist for binaries linked long ago and must not satisfy a new reference.
`DynamicSymbol.value` keeps the library address, which is how aliases (`environ` and
`__environ`) are recognised when a COPY relocation must move them together.
"""

from __future__ import annotations

import itertools
import os
import struct

import numpy as np

from ..errors import LinkError
from ..model import DynamicLibrary, DynamicSymbol, LazySymbols, SymType
from .headers import (
    SHF_ALLOC,
    SHF_WRITE,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_GNU_VERDEF,
    SHT_GNU_VERSYM,
    SHT_NOBITS,
    ElfHeaders,
    Strings,
    read_headers,
)
from .read import SYM32, SYM64

ET_DYN = 3
DT_NULL, DT_SONAME, DT_AUDIT = 0, 14, 0x6FFFFEFC
_TAG_NAMES = {DT_SONAME: "DT_SONAME", DT_AUDIT: "DT_AUDIT"}
VERSYM_HIDDEN = 0x8000
VER_NDX_GLOBAL = 1
STB_WEAK, STB_GNU_UNIQUE = 2, 10
_TYPES = {0: SymType.NOTYPE, 1: SymType.OBJECT, 2: SymType.FUNC, 5: SymType.OBJECT,
          6: SymType.TLS, 10: SymType.FUNC}


def read_shared(data: memoryview, path: str, needed_name: str | None = None) -> DynamicLibrary:
    """A shared library's exports; `needed_name` is its DT_NEEDED entry when it has no
    DT_SONAME (default: the file name)."""
    hdr = read_headers(data, path)
    if hdr.e_type != ET_DYN:
        raise hdr.error(f"not a shared object (e_type {hdr.e_type})", offset=16)
    types = hdr.shdrs["type"]
    found = np.nonzero(types == SHT_DYNSYM)[0]
    if not len(found):
        raise hdr.error("shared object has no .dynsym section", offset=0)
    dynsym = int(found[0])
    strtab_index = int(hdr.shdrs[dynsym]["link"])
    if not 0 <= strtab_index < len(hdr.shdrs):
        raise hdr.error(f"sh_link {strtab_index} out of range", dynsym)
    strings = Strings(bytes(hdr.section_bytes(strtab_index)))
    versions = _version_names(hdr, strings)
    versym = _section_array(hdr, SHT_GNU_VERSYM, "<u2")
    symbols, versioned = _exports(hdr, dynsym, strings, versions, versym)
    named = _dynamic_names(hdr, strings)
    soname = named.get(DT_SONAME) or needed_name or os.path.basename(path)
    return DynamicLibrary(path=path, soname=soname, symbols=symbols,
                          undefined=_undefined(hdr, dynsym, strings), versioned=versioned,
                          audit=named.get(DT_AUDIT))


def _exports(hdr: ElfHeaders, index: int, strings: Strings, versions: dict[int, str],
             versym: np.ndarray | None
             ) -> tuple[LazySymbols, LazySymbols]:
    """(default exports by name, every versioned export by "name@VERSION")."""
    dtype = SYM64 if hdr.is64 else SYM32
    raw = np.frombuffer(hdr.section_bytes(index)[: int(hdr.shdrs[index]["size"])
                        // dtype.itemsize * dtype.itemsize], dtype)
    bind = raw["info"] >> 4
    stype = raw["info"] & 0xF
    exported = (raw["shndx"] != 0) & ((bind == 1) | (bind == STB_WEAK) | (bind == STB_GNU_UNIQUE))
    visibility = raw["other"] & 3
    exported &= (visibility == 0) | (visibility == 3)  # DEFAULT or PROTECTED are exported
    hidden = np.zeros(len(raw), dtype=bool)
    if versym is not None and len(versym) >= len(raw):
        hidden = (versym[: len(raw)] & VERSYM_HIDDEN) != 0
    rows = np.nonzero(exported)[0]
    # Every per-symbol fact is computed over whole columns, kept as Python lists, and a
    # record made only for the names a link asks about (model.LazySymbols): a libc has
    # thousands of exports, and making them all was most of a small link's reading time.
    shndx = raw["shndx"][rows].astype(np.int64)
    value = raw["value"][rows].astype(np.uint64)
    in_table = shndx < len(hdr.shdrs)
    section = np.where(in_table, shndx, 0)
    section_align = np.maximum(hdr.shdrs["addralign"].astype(np.int64), 1) \
        if len(hdr.shdrs) else np.ones(1, np.int64)
    align = np.where(in_table, section_align[section] if len(hdr.shdrs) else 1, 1)
    # The address's own alignment (its lowest set bit) limits the section's; bit 63 alone
    # does not fit an int64 and limits nothing.
    own = (value & (~value + np.uint64(1))).astype(np.int64)
    align = np.where((value != 0) & (own > 0), np.minimum(align, own), align)
    nobits = in_table & ((hdr.shdrs["type"][section] == SHT_NOBITS) if len(hdr.shdrs)
                         else False)
    # read-only data, or data ld.so seals after relocating it (.data.rel.ro; the section
    # headers name it, as GNU ld's own test of "in the library's RELRO" finds it)
    sealed = np.array([name.startswith(".data.rel.ro") for name in hdr.names], dtype=bool) \
        if len(hdr.shdrs) else np.zeros(1, dtype=bool)
    readonly = in_table & (((hdr.shdrs["flags"][section] & (SHF_ALLOC | SHF_WRITE))
                            == SHF_ALLOC) | sealed[section] if len(hdr.shdrs) else False)
    versions_of: list[int | None] = [None] * len(rows)
    if versym is not None and len(versym):  # a short .gnu.version covers its first symbols
        covered = rows < len(versym)
        indices = np.where(covered, versym[np.minimum(rows, len(versym) - 1)] & 0x7FFF, -1)
        versions_of = [v if v >= 0 else None for v in indices.tolist()]
    names = _names(hdr, index, strings, rows, raw["name"][rows].astype(np.int64),
                   dtype.itemsize)
    kinds = [_TYPES.get(t, SymType.NOTYPE) for t in range(16)]
    types = [kinds[t] for t in stype[rows].tolist()]
    version_names = [versions.get(ver) if ver is not None else None for ver in versions_of]
    columns = (raw["size"][rows].tolist(), (bind[rows] == STB_WEAK).tolist(), value.tolist(),
               align.tolist(), np.broadcast_to(nobits, rows.shape).tolist(),
               np.broadcast_to(readonly, rows.shape).tolist())
    sizes, weak, addresses, alignments, zero_fill, read_only = columns

    made: dict[int, DynamicSymbol] = {}

    def make(k: int) -> DynamicSymbol:  # one record per row, shared by both tables
        dsym = made.get(k)
        if dsym is None:
            dsym = made[k] = DynamicSymbol(names[k], types[k], sizes[k], weak[k],
                                           version_names[k], addresses[k], alignments[k],
                                           zero_fill[k], read_only[k])
        return dsym

    visible = (~hidden[rows]).tolist()

    def default_names() -> dict[str, int]:  # a name's last unhidden row, in first order
        return dict(zip(itertools.compress(names, visible),
                        itertools.compress(range(len(names)), visible)))

    def versioned_names() -> dict[str, int]:
        return {f"{name}@{version}": k for k, (name, version)
                in enumerate(zip(names, version_names)) if version is not None}

    return (LazySymbols(default_names, types, addresses, make),
            LazySymbols(versioned_names, types, addresses, make))


def _names(hdr: ElfHeaders, index: int, strings: Strings, rows: np.ndarray,
           offsets: np.ndarray, entsize: int) -> list[str]:
    """The names at `offsets` in .dynstr: those that start right after a NUL (or at 0)
    from one decode of the whole table, found by a search over the strings' starts (one
    `Strings.get` per export was a third of reading a libc); a name inside another (a
    shared suffix) one by one; an offset outside the table is an error naming its row."""
    table = strings.table
    pieces = table.decode("utf-8", "surrogateescape").split("\0")
    starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(table, np.uint8) == 0) + 1])
    at = np.minimum(np.searchsorted(starts, offsets), len(pieces) - 1)
    names = list(map(pieces.__getitem__, at.tolist()))
    for k in np.flatnonzero(starts[at] != offsets).tolist():
        name = strings.get(int(offsets[k]))
        if name is None:
            n = int(rows[k])
            raise hdr.error(f"dynamic symbol {n} name outside .dynstr", index,
                            offset=n * entsize)
        names[k] = name
    return names


def _undefined(hdr: ElfHeaders, index: int, strings: Strings) -> frozenset[str]:
    dtype = SYM64 if hdr.is64 else SYM32
    body = hdr.section_bytes(index)
    raw = np.frombuffer(body[: len(body) // dtype.itemsize * dtype.itemsize], dtype)
    wanted = (raw["shndx"] == 0) & ((raw["info"] >> 4) != 0)  # undefined, not local
    wanted[:1] = False  # entry 0 is the null symbol (an empty table has none)
    names = (strings.get(int(off)) for off in raw["name"][wanted].tolist())
    return frozenset(n for n in names if n)


def _section_array(hdr: ElfHeaders, sh_type: int, dtype: str) -> np.ndarray | None:
    found = np.nonzero(hdr.shdrs["type"] == sh_type)[0]
    if not len(found):
        return None
    body = hdr.section_bytes(int(found[0]))
    item = np.dtype(dtype).itemsize
    return np.frombuffer(body[: len(body) // item * item], dtype)


def _version_names(hdr: ElfHeaders, strings: Strings) -> dict[int, str]:
    """verdef index -> version name (index 1, the file's own base version, is not one)."""
    found = np.nonzero(hdr.shdrs["type"] == SHT_GNU_VERDEF)[0]
    if not len(found):
        return {}
    index = int(found[0])
    body = bytes(hdr.section_bytes(index))
    count = int(hdr.shdrs[index]["info"]) or 0xFFFF
    names: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        if pos + 20 > len(body):
            raise hdr.error("verdef entry runs past the section", index, offset=pos)
        _v, flags, ndx, _cnt, _hash, aux, nxt = struct.unpack_from("<HHHHIII", body, pos)
        if pos + aux + 8 > len(body):
            raise hdr.error("verdaux entry runs past the section", index, offset=pos)
        name_off = struct.unpack_from("<I", body, pos + aux)[0]
        name = strings.get(name_off)
        if name is None:
            raise hdr.error("version name outside .dynstr", index, offset=pos + aux)
        if ndx != VER_NDX_GLOBAL and not flags & 1:  # VER_FLG_BASE names the file itself
            names[ndx] = name
        if nxt == 0:
            break
        pos += nxt
    return names


def _dynamic_names(hdr: ElfHeaders, strings: Strings) -> dict[int, str]:
    """DT_SONAME's and DT_AUDIT's strings, when the library has them."""
    found = np.nonzero(hdr.shdrs["type"] == SHT_DYNAMIC)[0]
    if not len(found):
        return {}
    dtype = np.dtype([("tag", "<i8"), ("val", "<u8")] if hdr.is64 else
                     [("tag", "<i4"), ("val", "<u4")])
    body = hdr.section_bytes(int(found[0]))
    entries = np.frombuffer(body[: len(body) // dtype.itemsize * dtype.itemsize], dtype)
    named: dict[int, str] = {}
    for tag, val in entries.tolist():
        if tag == DT_NULL:
            break
        if tag in (DT_SONAME, DT_AUDIT) and tag not in named:
            name = strings.get(val)
            if name is None:
                raise LinkError(f"{_TAG_NAMES[tag]} outside .dynstr", file=hdr.path)
            named[tag] = name
    return named
