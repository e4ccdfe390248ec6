"""The headers and sections of a batch of ELF64 objects, read together (read_bulk.py's).

`read_headers` and `read._sections` cost some 20 µs per object: a struct, a numpy array and
a walk over a dozen headers each, then a Python decision per section.  Here every object's
section header table is joined into one array and checked in a few vector operations, and
which sections are loaded, under which name, role and flags, is decided once per distinct
(section names, types, flags) and reused: the objects of one build mostly share them.
What an object gets is the same `ElfHeaders` and `InputSection`s as one at a time.

Only the common case is taken: a table `read_headers` would accept as it stands, with no
compressed section (nor a `.zdebug` one), no alignment or zero-fill past the readers'
limits; anything else raises `NotBulk`, and the caller reads one at a time (which says
what is wrong).  A check `read._sections` makes of a section's bytes must be mirrored
here, as a reason to fall back.
"""

from __future__ import annotations

import struct

import numpy as np

from ..model import InputSection, ObjectFile, RelocTable, SectionFlags, SectionRole
from ..records import dataclass
from .compressed import SHF_COMPRESSED
from .headers import (
    _SHDR64,
    ELFCLASS64,
    ELFDATA2LSB,
    EM_X86_64,
    SHF_ALLOC,
    SHF_EXCLUDE,
    SHF_EXECINSTR,
    SHF_GNU_RETAIN,
    SHT_GROUP,
    SHT_NOBITS,
    SHT_SYMTAB,
    ElfHeaders,
    _section_names,
)
from .read import (
    _EMPTY_SYMBOLS,
    _FIRST_RESERVED_TYPE,
    _FLAG_MASK,
    _SHT_LOOS,
    ET_REL,
    MAX_ALIGNMENT,
    MAX_ZERO_FILL,
    RELOC_TABLES,
    loaded_flags,
    loaded_role,
)

ARCH = "x86_64"
_HEADER_TAIL = struct.Struct("<HHIQQQIHHHHHH")  # e_type .. e_shstrndx, from byte 16
_ROW64 = struct.Struct("<IIQQQQIIQQ")
_NO_SHSTRNDX = 0xFFFF  # extended numbering: read_headers' case
_NO_RELOCS = RelocTable.empty()


class NotBulk(Exception):
    """The batch holds something only the one-at-a-time reader handles (or rejects)."""


class BatchFile:
    """One object of the batch while it is read: its headers' rows and its tables."""

    __slots__ = ("grouped", "hdr", "obj", "rows", "symtab")

    def __init__(self, hdr: ElfHeaders, obj: ObjectFile, symtab: int | None,
                 grouped: bool) -> None:
        self.hdr, self.obj, self.rows, self.symtab = hdr, obj, hdr.rows, symtab
        self.grouped = grouped  # has an SHT_GROUP section


@dataclass(frozen=True, slots=True)
class _Plan:
    """What `read._sections` makes of one (names, types, flags) table: the loaded
    sections (index, name, role, neutral flags, zero-fill) and .note.GNU-stack's say."""

    loaded: tuple[tuple[int, str, SectionRole, SectionFlags, bool], ...]
    exec_stack: bool | None
    # a loaded section whose bytes `read._sections` looks at (GNU's `.zdebug` form): the
    # batch is read one at a time
    by_bytes: bool = False
    retained: tuple[int, ...] = ()  # SHF_GNU_RETAIN sections (roots of --gc-sections)


_PLANS: dict[tuple[tuple[str, ...], bytes], _Plan] = {}
_PLAN_LIMIT = 256  # distinct tables remembered (a link has a handful)


def read_batch(items: list[tuple[memoryview, str]]) -> list[BatchFile]:
    """Every (bytes, path) as an ET_REL x86-64 object's headers and sections."""
    pieces, counts = [], []
    for data, _path in items:
        if len(data) < 64 or data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
            raise NotBulk
        (e_type, machine, _v, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum,
         shentsize, shnum, shstrndx) = _HEADER_TAIL.unpack_from(data, 16)
        if e_type != ET_REL or machine != EM_X86_64 or shoff == 0 or shnum == 0 \
                or shentsize != _SHDR64.itemsize or shstrndx == _NO_SHSTRNDX \
                or shstrndx >= shnum or shoff + shnum * _SHDR64.itemsize > len(data):
            raise NotBulk
        pieces.append(data[shoff:shoff + shnum * _SHDR64.itemsize])
        counts.append(shnum)
    joined = b"".join(pieces)
    shdrs = np.frombuffer(joined, _SHDR64)
    _check(shdrs, np.repeat(np.array([len(d) for d, _p in items], dtype=np.uint64), counts))
    rows = list(_ROW64.iter_unpack(joined))
    # per row, what decides its section's fate: type and the flag bits the reader reads
    fate = (shdrs["type"].astype(np.uint64) << np.uint64(32)) \
        | (shdrs["flags"] & np.uint64(_FLAG_MASK | SHF_EXCLUDE | SHF_GNU_RETAIN))
    symtabs = np.flatnonzero(shdrs["type"] == SHT_SYMTAB)
    starts = np.cumsum([0, *counts]).tolist()
    owner = np.searchsorted(starts, symtabs, side="right") - 1
    if len(owner) and (np.diff(owner) == 0).any():
        raise NotBulk  # more than one SHT_SYMTAB: read_object's error
    grouped = np.bincount(np.searchsorted(starts, np.flatnonzero(shdrs["type"] == SHT_GROUP),
                                          side="right") - 1, minlength=len(items)).tolist()
    symtab_of: list[int | None] = [None] * len(items)
    for o, at in zip(owner.tolist(), symtabs.tolist()):
        symtab_of[o] = at - starts[o]
    howtos = RELOC_TABLES[ARCH].howtos
    files = []
    for n, (data, path) in enumerate(items):
        first, end = starts[n], starts[n + 1]
        own = rows[first:end]
        shstrndx = _HEADER_TAIL.unpack_from(data, 16)[-1]
        _o, _t, _f, _a, start, length = own[shstrndx][:6]
        names = _section_names(bytes(data[start:start + length]),
                               tuple(row[0] for row in own), path)
        hdr = ElfHeaders(path, data, ELFCLASS64, ARCH, ET_REL, shdrs[first:end], list(names),
                         own)
        obj = ObjectFile(path=path, arch=ARCH, sections=[], symbols=_EMPTY_SYMBOLS,
                         howtos=howtos)
        plan = _plan(names, fate[first:end].tobytes(), own)
        if plan.by_bytes:
            raise NotBulk
        sections: list[InputSection | None] = [None] * len(own)
        for i, name, role, flags, nobits in plan.loaded:
            _n, _t, _f, _a, offset, size, _l, _i, align, entsize = own[i]
            # every field by position (file, index, name, flags, role, align, size, data,
            # relocs, comdat, entsize): half the cost of keywords and a default factory
            sections[i] = InputSection(obj, i, name, flags, role, max(1, align), size,
                                       None if nobits else data[offset:offset + size],
                                       _NO_RELOCS, None, entsize)
        obj.sections = sections
        if plan.exec_stack is not None:
            obj.exec_stack = plan.exec_stack
        obj.retained = plan.retained
        files.append(BatchFile(hdr, obj, symtab_of[n], grouped[n] > 0))
    return files


def _check(shdrs: np.ndarray, file_size: np.ndarray) -> None:
    """read_headers' bounds and alignment checks for every header at once, and the limits
    `read._sections` enforces on loaded sections, here on any (a refusal is NotBulk)."""
    size, offset, align = shdrs["size"], shdrs["offset"], shdrs["addralign"]
    placed = shdrs["type"] != SHT_NOBITS
    # offset + size within the file, without a 64-bit sum that could wrap
    outside = (size > file_size) | (offset > file_size - np.minimum(size, file_size))
    if (placed & outside).any() or ((align & (align - np.uint64(1))) != 0).any() \
            or (align > MAX_ALIGNMENT).any() \
            or (~placed & (size > MAX_ZERO_FILL)).any() \
            or (shdrs["flags"] & np.uint64(SHF_COMPRESSED)).any() \
            or (((shdrs["flags"] & np.uint64(SHF_ALLOC)) != 0)
                & (shdrs["type"] >= _FIRST_RESERVED_TYPE) & (shdrs["type"] < _SHT_LOOS)).any():
        raise NotBulk


def _plan(names: tuple[str, ...], fate: bytes, rows: list[tuple[int, ...]]) -> _Plan:
    """`read._sections`' decisions for this table of names, types and flags."""
    key = (names, fate)
    plan = _PLANS.get(key)
    if plan is None:
        loaded = []
        exec_stack = None
        for i, row in enumerate(rows):
            sh_type, sh_flags = row[1], row[2]
            if names[i] == ".note.GNU-stack":
                exec_stack = bool(sh_flags & SHF_EXECINSTR)
                continue
            role = loaded_role(names[i], sh_type, sh_flags)
            if role is not None:
                loaded.append((i, names[i], role, loaded_flags(role, sh_flags),
                               sh_type == SHT_NOBITS))
        retained = tuple(i for i, *_rest in loaded if rows[i][2] & SHF_GNU_RETAIN)
        plan = _Plan(tuple(loaded), exec_stack,
                     any(name.startswith(".zdebug") for _i, name, *_rest in loaded),
                     retained)
        if len(_PLANS) < _PLAN_LIMIT:
            _PLANS[key] = plan
    return plan
