"""Many ELF64 relocatable objects read as one batch: the large-link fast path of read.py.

A link of thousands of small objects spent most of its reading time in numpy's fixed cost
per call: `read_object` makes some forty small-array operations per object.  Here the
symbol tables of every object in the batch are concatenated into one array, and so are
their relocation tables, so each check and conversion is one vector operation for the
whole batch; the names come from one decode of all the string tables together.  What each
object gets is the same `ObjectFile` that `read_object` makes (its columns are views into
the batch's arrays), which tests/linker/elf/test_read_bulk.py holds them to.

This path takes only the common case: x86-64 RELA objects without extended section
indices, whose checks all pass.  Anything else (an i386 object, a table that fails a
check, a name needing the slow lookup) returns None, and the caller reads the objects one
at a time with `read_object`, which names the file, section and offset of what is wrong,
in the same order and with the same effects as a link that never tried the batch.
"""

from __future__ import annotations

import numpy as np

from ..arrays import distinct
from ..errors import LinkError
from ..model import (
    ABS,
    COMMON,
    UNDEF,
    Binding,
    InputSection,
    ObjectFile,
    RelocTable,
    SymbolTable,
    is_allocated,
)
from . import read
from .bulk_headers import ARCH, BatchFile, NotBulk, read_batch
from .headers import SHT_REL, SHT_RELA
from .read import (
    _LUT_SIZE,
    _RELA64,
    MAX_ALIGNMENT,
    MAX_ZERO_FILL,
    RELOC_TABLES,
    SHN_ABS,
    SHN_COMMON,
    SHN_LORESERVE,
    SHN_UNDEF,
    SHN_X86_64_LCOMMON,
    SHN_XINDEX,
    STB_GNU_UNIQUE,
    STT_COMMON,
    STT_GNU_IFUNC,
    SYM64,
    _groups,
    _lookup_tables,
)
from .tls_relax import TLS_GET_ADDR


def read_objects(items: list[tuple[memoryview, str]]) -> list[ObjectFile] | None:
    """Read every (bytes, path) as an ET_REL object, or None when one of them needs
    `read_object` (see the module docstring)."""
    try:
        return _read(items)
    except (NotBulk, LinkError):
        return None


def _read(items: list[tuple[memoryview, str]]) -> list[ObjectFile]:
    files = read_batch(items)
    _symbols(files)
    for f in files:
        if f.grouped:  # else no COMDAT groups: the object's list stays empty
            f.obj.groups = _groups(f.hdr, f.obj, f.symtab)
    _relocations(files)
    return [f.obj for f in files]


# -- symbols ------------------------------------------------------------------------------

def _symbols(files: list[BatchFile]) -> None:
    raws: list[memoryview] = []
    tables: list[bytes] = []
    owners: list[BatchFile] = []
    for f in files:
        if f.symtab is None:
            continue
        _n, _t, _f, _a, start, length, link, _i, _al, entsize = f.rows[f.symtab]
        if entsize not in (0, SYM64.itemsize) or length % SYM64.itemsize \
                or not 0 <= link < len(f.rows) or length == 0:
            raise NotBulk
        table = bytes(f.hdr.section_bytes(link))
        if not table.endswith(b"\0"):
            raise NotBulk  # a last name running off the table: read_object's search
        raws.append(f.hdr.data[start:start + length])
        tables.append(table)
        owners.append(f)
    if not owners:
        return
    # one join of the raw bytes, then one decode: concatenating structured arrays costs
    # some 10 µs per array
    counts = np.array([len(r) // SYM64.itemsize for r in raws], dtype=np.int64)
    raw = np.frombuffer(b"".join(raws), SYM64)
    file_of = np.repeat(np.arange(len(owners)), counts)
    names = _names(raw["name"], tables, file_of)

    shndx = raw["shndx"].astype(np.int64)
    if (shndx == SHN_XINDEX).any():
        raise NotBulk
    nsections = np.array([len(f.obj.sections) for f in owners], dtype=np.int64)[file_of]
    section = shndx.astype(np.int32)
    special = shndx >= SHN_LORESERVE
    section[shndx == SHN_UNDEF] = UNDEF
    section[special & (shndx == SHN_ABS)] = ABS
    section[special & ((shndx == SHN_COMMON) | (shndx == SHN_X86_64_LCOMMON))] = COMMON
    if ((special & (section >= 0)) | (~special & (shndx >= nsections))).any():
        raise NotBulk
    info = raw["info"]
    bind = (info >> 4).astype(np.uint8)
    bind[bind == STB_GNU_UNIQUE] = 1
    if (bind > 2).any():
        raise NotBulk
    commons = section == COMMON
    if commons.any():
        align, size = raw["value"][commons], raw["size"][commons]
        if ((align & (align - np.uint64(1))) != 0).any() or (align > MAX_ALIGNMENT).any() \
                or (size > MAX_ZERO_FILL).any():
            raise NotBulk
    stype = (info & 0xF).astype(np.uint8)
    stype[(stype > 6) & (stype != STT_GNU_IFUNC)] = 0
    stype[stype == STT_COMMON] = 1
    value = raw["value"].astype(np.uint64)
    size = raw["size"].astype(np.uint64)
    visibility = (raw["other"] & 3).astype(np.uint8)
    bounds = _bounds(counts)
    for f, (start, end) in zip(owners, bounds):
        # by position: names, value, size, section, binding, type, visibility
        f.obj.symbols = SymbolTable(names[start:end], value[start:end], size[start:end],
                                    section[start:end], bind[start:end], stype[start:end],
                                    visibility[start:end])


def _bounds(counts: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each piece of a concatenation, as Python ints for slicing (views
    made by slicing cost a fraction of np.split's per piece)."""
    ends = np.cumsum(counts).tolist()
    return list(zip([0, *ends[:-1]], ends))


def _names(offsets: np.ndarray, tables: list[bytes], file_of: np.ndarray) -> list[str]:
    """Every symbol's name, from one decode of all the string tables joined: each table
    ends in NUL, so splitting the joined bytes gives each table's own strings, and a name
    is found by its start offset plus its table's place in the join.  A name that starts
    inside another string (a merged suffix) or outside its table is read_object's case."""
    lengths = np.array([len(t) for t in tables], dtype=np.int64)
    if (offsets >= lengths[file_of]).any():
        raise NotBulk
    joined = b"".join(tables)
    if not joined.isascii():
        raise NotBulk
    pieces = joined.decode("ascii").split("\0")
    # ASCII: a character per byte, so the pieces start at 0 and one past each NUL
    starts = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 0) + 1
    starts = np.concatenate([[0], starts[:-1]])  # the join ends in NUL: no piece after it
    bases = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    wanted = offsets.astype(np.int64) + bases[file_of]
    at = np.minimum(np.searchsorted(starts, wanted), len(starts) - 1)
    if (starts[at] != wanted).any():
        raise NotBulk
    # through an object array: a gather in C, cheaper than a Python call per name
    names: list[str] = np.array(pieces, dtype=object)[at].tolist()
    return names


# -- relocations --------------------------------------------------------------------------

def _relocations(files: list[BatchFile]) -> None:
    """Every kept section's relocations, checked as one table: the rows of all RELA
    sections of the batch, each row knowing its section's size and symbol count."""
    # the relocation sections of the batch, from its joined section headers: each must be
    # RELA, name a section of its object and its object's symbol table, and hold rows
    # (joined as bytes: concatenating structured arrays costs some 9 µs per array)
    shdrs = np.frombuffer(b"".join([f.hdr.shdrs.tobytes() for f in files]),
                          files[0].hdr.shdrs.dtype)
    per_file = [len(f.rows) for f in files]
    owner_all = np.repeat(np.arange(len(files)), per_file)
    types = shdrs["type"]
    at = np.flatnonzero((types == SHT_RELA) | (types == SHT_REL))
    owner = owner_all[at]
    target, link, size = shdrs["info"][at], shdrs["link"][at], shdrs["size"][at]
    symtab = np.array([-1 if f.symtab is None else f.symtab for f in files],
                      dtype=np.int64)[owner]
    if (types[at] == SHT_REL).any() \
            or (target >= np.array(per_file, dtype=np.int64)[owner]).any():
        raise NotBulk
    raws: list[memoryview] = []
    targets: list[tuple[BatchFile, InputSection]] = []
    bad = (symtab < 0) | (link != symtab) | (size % _RELA64.itemsize != 0)
    for o, t, start, length, wrong in zip(owner.tolist(), target.tolist(),
                                          shdrs["offset"][at].tolist(), size.tolist(),
                                          bad.tolist()):
        f = files[o]
        sec = f.obj.sections[t]
        if sec is None:
            continue
        if wrong or sec.data is None:
            raise NotBulk
        raws.append(f.hdr.data[start:start + length])
        targets.append((f, sec))
    if not raws:
        return
    counts = np.array([len(r) // _RELA64.itemsize for r in raws], dtype=np.int64)
    raw = np.frombuffer(b"".join(raws), _RELA64)
    table_of = np.repeat(np.arange(len(raws)), counts)
    info = raw["info"]
    sym = (info >> np.uint64(32)).astype(np.int64)
    rtype = (info & np.uint64(0xFFFFFFFF)).astype(np.int64)
    offset = raw["offset"].astype(np.int64)
    lut = _lookup_tables(RELOC_TABLES[ARCH])
    clipped = np.minimum(rtype, _LUT_SIZE - 1)
    alloc = np.array([is_allocated(sec.flags) for _f, sec in targets], dtype=bool)[table_of]
    symbol_count = {id(f): len(f.obj.symbols) for f in files}
    nsyms = np.array([symbol_count[id(f)] for f, _s in targets], dtype=np.int64)[table_of]
    sizes = np.array([sec.size for _f, sec in targets], dtype=np.int64)[table_of]
    if not lut.supported[clipped].all() \
            or not np.where(alloc, lut.alloc[clipped], lut.non_alloc[clipped]).all() \
            or (sym >= nsyms).any() \
            or ((offset < 0) | (offset > sizes - lut.width[clipped])).any():
        raise NotBulk
    relaxing = alloc & lut.relaxable[clipped]
    if relaxing.any():
        for n in distinct(table_of[relaxing]).tolist():
            _weak_tls_get_addr(targets[n][0].obj)
    rows = read.relocation_rows(offset, rtype, sym, raw["addend"])
    kept = np.bincount(table_of[rtype != 0], minlength=len(raws))
    for (_f, sec), (start, end) in zip(targets, _bounds(kept)):
        piece = rows[start:end]
        sec.relocs = RelocTable(np.concatenate([sec.relocs.rows, piece])
                                if len(sec.relocs) else piece)


def _weak_tls_get_addr(obj: ObjectFile) -> None:
    """read.py's rule: general- and local-dynamic code calls __tls_get_addr, which an
    executable's relaxed code no longer does, so its reference must not demand a
    definition."""
    names = obj.symbols.names
    for i in np.nonzero(obj.symbols.section == UNDEF)[0].tolist():
        if names[i] in TLS_GET_ADDR:
            obj.symbols.binding[i] = Binding.WEAK
