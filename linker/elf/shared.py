"""Shared objects (ET_DYN) -> DynamicLibrary: what a `.so` exports, under which version.

We read the dynamic symbol table, DT_SONAME, and the GNU version tables.  A symbol with
several versions (glibc's `memcpy@GLIBC_2.2.5` and `memcpy@@GLIBC_2.14`) is exported to
new links only under its default version (the "@@" one: versym without the hidden bit);
hidden versions exist for binaries linked long ago and must not satisfy a new reference.
`DynamicSymbol.value` keeps the library address, which is how aliases (`environ` and
`__environ`) are recognised when a COPY relocation must move them together.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ..errors import LinkError
from ..model import DynamicLibrary, DynamicSymbol, SymType
from .headers import (
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
DT_NULL, DT_SONAME = 0, 14
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
    soname = _soname(hdr, strings) or needed_name or os.path.basename(path)
    return DynamicLibrary(path=path, soname=soname, symbols=symbols,
                          undefined=_undefined(hdr, dynsym, strings), versioned=versioned)


def _exports(hdr: ElfHeaders, index: int, strings: Strings, versions: dict[int, str],
             versym: np.ndarray | None
             ) -> tuple[dict[str, DynamicSymbol], dict[str, DynamicSymbol]]:
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
    out: dict[str, DynamicSymbol] = {}
    versioned: dict[str, DynamicSymbol] = {}
    section_align = np.maximum(hdr.shdrs["addralign"].astype(np.int64), 1).tolist() \
        if len(hdr.shdrs) else [1]
    section_nobits = (hdr.shdrs["type"] == SHT_NOBITS).tolist() if len(hdr.shdrs) else [False]
    rows = np.nonzero(exported)[0]
    # Whole columns as Python lists once: a libc has thousands of exports, and indexing
    # numpy arrays one scalar at a time was most of a small link's time here.
    versions_of: list[int | None] = [None] * len(rows)
    if versym is not None and len(versym):  # a short .gnu.version covers its first symbols
        covered = rows < len(versym)
        indices = np.where(covered, versym[np.minimum(rows, len(versym) - 1)] & 0x7FFF, -1)
        versions_of = [v if v >= 0 else None for v in indices.tolist()]
    get_name, get_version = strings.get, versions.get
    for n, name_off, stype_n, size, bind_n, value, shndx, hidden_n, ver in zip(
            rows.tolist(), raw["name"][rows].tolist(), stype[rows].tolist(),
            raw["size"][rows].tolist(), bind[rows].tolist(), raw["value"][rows].tolist(),
            raw["shndx"][rows].tolist(), hidden[rows].tolist(), versions_of):
        name = get_name(name_off)
        if name is None:
            raise hdr.error(f"dynamic symbol {n} name outside .dynstr", index,
                            offset=n * dtype.itemsize)
        version = get_version(ver) if ver is not None else None
        align = section_align[shndx] if shndx < len(section_align) else 1
        if value:
            align = min(align, value & -value)  # the address's own alignment limits it
        dsym = DynamicSymbol(name=name, type=_TYPES.get(stype_n, SymType.NOTYPE), size=size,
                             weak=bind_n == STB_WEAK, version=version, value=value,
                             align=align,
                             nobits=shndx < len(section_nobits) and section_nobits[shndx])
        if version is not None:
            versioned[f"{name}@{version}"] = dsym
        if not hidden_n:
            out[name] = dsym
    return out, versioned


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


def _soname(hdr: ElfHeaders, strings: Strings) -> str | None:
    found = np.nonzero(hdr.shdrs["type"] == SHT_DYNAMIC)[0]
    if not len(found):
        return None
    dtype = np.dtype([("tag", "<i8"), ("val", "<u8")] if hdr.is64 else
                     [("tag", "<i4"), ("val", "<u4")])
    body = hdr.section_bytes(int(found[0]))
    entries = np.frombuffer(body[: len(body) // dtype.itemsize * dtype.itemsize], dtype)
    for tag, val in entries.tolist():
        if tag == DT_NULL:
            break
        if tag == DT_SONAME:
            name = strings.get(val)
            if name is None:
                raise LinkError("DT_SONAME outside .dynstr", file=hdr.path)
            return name
    return None
