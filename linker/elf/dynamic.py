"""The tables ld.so reads: .dynsym, .dynstr, .hash, .gnu.hash, .gnu.version(_r), .rela.dyn,
.rela.plt and .dynamic.

Sizes are fixed when the tables are planned (before layout); contents are rendered after
layout, when addresses are known.  .dynsym holds the imports first (undefined: not in
.gnu.hash) and then the symbols the executable defines for ld.so (COPY destinations,
--export-dynamic), in .gnu.hash bucket order.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Container

import numpy as np

from ..model import Binding, SymType
from ..records import dataclass, field
from ..resolve import GlobalSymbol
from ..targets import ArchTraits
from .hashes import (
    bucket_count,
    build_gnu_hash,
    build_sysv_hash,
    gnu_bucket_count,
    gnu_bucket_order,
    gnu_hash_size,
    sysv_hash,
)

# d_tag values (gABI, GNU extensions)
DT_NULL, DT_NEEDED, DT_PLTRELSZ, DT_PLTGOT, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 2, 3, 4, 5, 6
DT_RELA, DT_RELASZ, DT_RELAENT, DT_STRSZ, DT_SYMENT, DT_INIT, DT_FINI = 7, 8, 9, 10, 11, 12, 13
DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_DEBUG, DT_JMPREL = 17, 18, 19, 20, 21, 23
DT_INIT_ARRAY, DT_FINI_ARRAY, DT_INIT_ARRAYSZ, DT_FINI_ARRAYSZ = 25, 26, 27, 28
DT_RUNPATH, DT_FLAGS, DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ = 29, 30, 32, 33
DT_GNU_HASH, DT_VERSYM, DT_FLAGS_1, DT_VERNEED, DT_VERNEEDNUM = (
    0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFB, 0x6FFFFFFE, 0x6FFFFFFF)
DT_SONAME, DT_SYMBOLIC, DT_TEXTREL = 14, 16, 22
DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
DF_SYMBOLIC, DF_TEXTREL, DF_STATIC_TLS = 0x2, 0x4, 0x10
VER_FLG_BASE = 1
DF_BIND_NOW = 0x8
DF_1_NOW = 0x1
# Old-style tags (--disable-new-dtags), audit libraries, and the -z origin/nodefaultlib flags.
DT_RPATH, DT_BIND_NOW, DT_AUDIT, DT_DEPAUDIT = 15, 24, 0x6FFFFEFC, 0x6FFFFEFB
DF_ORIGIN, DF_1_ORIGIN, DF_1_NODEFLIB = 0x1, 0x80, 0x800

STB = {Binding.LOCAL: 0, Binding.GLOBAL: 1, Binding.WEAK: 2}
STT = {SymType.NOTYPE: 0, SymType.OBJECT: 1, SymType.FUNC: 2, SymType.SECTION: 3,
       SymType.FILE: 4, SymType.TLS: 6, SymType.IFUNC: 10}


class StringTable:
    """An ELF string table that shares nothing clever, but never stores a string twice."""

    def __init__(self) -> None:
        self._data = bytearray(b"\0")
        self._index: dict[str, int] = {"": 0}

    def add(self, s: str) -> int:
        off = self._index.get(s)
        if off is None:
            off = len(self._data)
            self._data += s.encode("utf-8", "surrogateescape") + b"\0"
            self._index[s] = off
        return off

    def add_all(self, names: list[str]) -> list[int]:
        """`add` of each name in order, in a few steps for the whole list."""
        index = self._index
        fresh = [s for s in dict.fromkeys(names) if s not in index]
        if fresh:
            joined = "\0".join(fresh) + "\0"
            if joined.isascii():  # a character per byte: the lengths are the strings'
                data = joined.encode("ascii")
                lengths = np.fromiter(map(len, fresh), np.int64, len(fresh))
            else:
                encoded = [s.encode("utf-8", "surrogateescape") for s in fresh]
                data = b"\0".join(encoded) + b"\0"
                lengths = np.fromiter(map(len, encoded), np.int64, len(fresh))
            starts = np.cumsum(lengths + 1) - (lengths + 1) + len(self._data)
            index.update(zip(fresh, starts.tolist()))
            self._data += data
        return list(map(index.__getitem__, names))

    def bytes(self) -> bytes:
        return bytes(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class DynSym:
    sym: GlobalSymbol
    defined: bool  # defined in the executable (a COPY destination or an export)
    name_offset: int = 0
    version: int = 1  # .gnu.version index: 1 = global

    @property
    def name(self) -> str:
        """The name ld.so looks up: `memcpy` for a reference pinned as memcpy@GLIBC_2.2.5."""
        dsym = self.sym.dynsym
        if dsym is not None and self.sym.file is None:
            return dsym.name
        # A shared object's versioned definition `foo@VER`/`foo@@VER` is `foo` to ld.so:
        # the version lives in .gnu.version.
        return self.sym.name.partition("@")[0] if self.defined else self.sym.name


@dataclass
class DynReloc:
    where: Callable[[], int]  # address of the field, known after layout
    type: int
    dynsym: int  # index into .dynsym (0 = none)
    addend: int = 0
    addend_at: Callable[[], int] | None = None  # an address known after layout (IRELATIVE)

    def final_addend(self) -> int:
        return self.addend_at() if self.addend_at is not None else self.addend


@dataclass
class DynamicTables:
    arch: ArchTraits
    needed: list[str]
    syms: list[DynSym]  # .dynsym order, without the null entry
    symoffset: int  # first hashed symbol (1-based over .dynsym)
    gnu_nbucket: int
    dynstr: StringTable
    verneed: list[tuple[str, list[tuple[str, int]]]]  # (soname, [(version, index)])
    rela_dyn: list[DynReloc] = field(default_factory=list)
    rela_plt: list[DynReloc] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)  # gid -> .dynsym index
    runpath: str | None = None
    relative_count: int = 0  # RELATIVE relocations leading rela_dyn (a PIE's; DT_RELACOUNT)
    # .gnu.version_d (a shared object with a version script): (name, flags, parents) per
    # index 1, 2, ... (index 1 is the base entry, named after the object)
    verdef: list[tuple[str, int, list[str]]] = field(default_factory=list)
    symbolic: bool = False  # -Bsymbolic: DT_SYMBOLIC, DF_SYMBOLIC
    text_relocations: bool = False  # -z notext used: DT_TEXTREL, DF_TEXTREL
    static_tls: bool = False  # initial-exec TLS in a shared object: DF_STATIC_TLS

    # -- sizes ------------------------------------------------------------------------------
    @property
    def sym_size(self) -> int:
        return self.arch.elf.symbol_size

    @property
    def rel_size(self) -> int:
        return self.arch.dynamic_reloc_size

    def dynsym_size(self) -> int:
        return (len(self.syms) + 1) * self.sym_size

    def sysv_hash_size(self) -> int:
        n = len(self.syms) + 1
        return 8 + 4 * bucket_count(n) + 4 * n

    def gnu_hash_size(self) -> int:
        hashed = len(self.syms) + 1 - self.symoffset
        return gnu_hash_size(hashed, self.gnu_nbucket, self.arch.word)

    def versym_size(self) -> int:
        return 2 * (len(self.syms) + 1) if self.verneed or self.verdef else 0

    def verdef_size(self) -> int:
        return sum(20 + 8 * (1 + len(parents)) for _, _, parents in self.verdef)

    def render_verdef(self) -> bytes:
        out = bytearray()
        for n, (name, flags, parents) in enumerate(self.verdef):
            names = [name, *parents]
            size = 20 + 8 * len(names)
            last = n + 1 == len(self.verdef)
            out += struct.pack("<HHHHIII", 1, flags, n + 1, len(names),
                               sysv_hash(name.encode("utf-8", "surrogateescape")), 20,
                               0 if last else size)
            for k, aux in enumerate(names):
                out += struct.pack("<II", self.dynstr.add(aux), 0 if k + 1 == len(names) else 8)
        return bytes(out)

    def verneed_size(self) -> int:
        return sum(16 + 16 * len(v) for _, v in self.verneed)

    # -- contents ---------------------------------------------------------------------------
    def render_dynsym(self, value_of: Callable[[DynSym], tuple[int, int]],
                      canonical_ifuncs: Container[object] = ()) -> bytes:
        """`value_of(d)` gives (st_value, st_shndx) once addresses are known;
        `canonical_ifuncs` are the global ids of the IFUNCs given an .iplt entry."""
        out = bytearray(self.sym_size)
        layout = self.arch.elf
        for d in self.syms:
            value, shndx = value_of(d)
            value &= (1 << (8 * self.arch.word)) - 1  # an absolute symbol's may be negative
            # An exported IFUNC with an .iplt entry is that entry: a plain function to
            # ld.so.  One without (nothing in the output references it) is exported as
            # STT_GNU_IFUNC at its resolver, which ld.so calls to bind every reference
            # (as GNU ld exports one from a shared object); as STT_FUNC there, a caller
            # would call the resolver itself.
            canonical = d.sym.type == SymType.IFUNC and d.defined \
                and d.sym.id in canonical_ifuncs
            stype = SymType.FUNC if canonical or (d.sym.type == SymType.IFUNC
                                                  and not d.defined) else d.sym.type
            info = (STB[d.sym.binding if d.defined else _ref_binding(d.sym)] << 4) | STT.get(
                stype, 0)
            # An import's size is the library's business: GNU ld and lld write 0 for every
            # undefined entry (a COPY-relocated object is defined here and keeps its size).
            size = d.sym.size if d.defined and not canonical else 0
            # A protected export keeps STV_PROTECTED: ld.so must not copy-relocate it.
            other = int(d.sym.visibility) if d.defined and d.sym.visibility == 3 else 0
            out += layout.pack_symbol(name=d.name_offset, info=info, other=other,
                                      shndx=shndx, value=value, size=size)
        return bytes(out)

    def names(self) -> list[bytes]:
        return [b""] + [d.name.encode("utf-8", "surrogateescape") for d in self.syms]

    def render_hash(self) -> bytes:
        return build_sysv_hash(self.names())

    def render_gnu_hash(self) -> bytes:
        return build_gnu_hash(self.names(), self.symoffset, self.gnu_nbucket, self.arch.word)

    def render_versym(self) -> bytes:
        return struct.pack(f"<{len(self.syms) + 1}H", 0, *(d.version for d in self.syms))

    def render_verneed(self) -> bytes:
        out = bytearray()
        for n, (soname, versions) in enumerate(self.verneed):
            last = n + 1 == len(self.verneed)
            size = 16 + 16 * len(versions)
            out += struct.pack("<HHIII", 1, len(versions), self.dynstr.add(soname), 16,
                               0 if last else size)
            for k, (version, index) in enumerate(versions):
                nxt = 0 if k + 1 == len(versions) else 16
                out += struct.pack("<IHHII",
                                   sysv_hash(version.encode("utf-8", "surrogateescape")), 0, index,
                                   self.dynstr.add(version), nxt)
        return bytes(out)

    def render_relocs(self, relocs: list[DynReloc]) -> bytes:
        out = bytearray()
        layout = self.arch.elf
        bits = 8 * struct.calcsize(layout.rela_format[-1])
        for r in relocs:
            where, addend = r.where(), r.final_addend()
            # r_addend is the field's word as ld.so adds it (modulo 2**bits): a value read
            # back from the image, or S + A past 2**63, is that word's bits, signed
            addend = (addend + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
            info = layout.r_info(r.dynsym, r.type)
            out += struct.pack(layout.rela_format, where, info, addend) if self.arch.is_rela \
                else struct.pack(layout.rel_format, where, info)
        return bytes(out)


def _ref_binding(sym: GlobalSymbol) -> Binding:
    return Binding.GLOBAL if sym.strong_ref else Binding.WEAK


def plan_dynamic(
    arch: ArchTraits,
    needed: list[str],
    imports: list[GlobalSymbol],
    exports: list[GlobalSymbol],
    canonical: frozenset[int] | set[int] = frozenset(),
    verdef: list[tuple[str, int, list[str]]] | None = None,
    export_versions: dict[int, int] | None = None,
) -> DynamicTables:
    """Order .dynsym and intern every string, so that every size is final.

    Imports whose PLT entry is their canonical address (`canonical`, by global id) stay
    undefined but must be hashed: ld.so resolves the program's own data references to them
    (st_value != 0) through the executable's hash table, as for a definition.
    """
    dynstr = StringTable()
    for soname in needed:
        dynstr.add(soname)
    undefined = [DynSym(s, False) for s in imports if s.id not in canonical]
    hashed = exports + [s for s in imports if s.id in canonical]
    exported = {s.id for s in exports}
    nbucket = gnu_bucket_count(len(hashed))
    names = [DynSym(s, s.id in exported).name.encode("utf-8", "surrogateescape") for s in hashed]
    ordered = [hashed[i] for i in gnu_bucket_order(names, nbucket)]
    defined = [DynSym(s, s.id in exported) for s in ordered]
    syms = undefined + defined
    for d in syms:
        d.name_offset = dynstr.add(d.name)
    verneed: dict[str, dict[str, int]] = {}
    # Version indices are shared: the object's own definitions (.gnu.version_d) first.
    next_index = 1 + len(verdef) if verdef else 2
    for d in syms:
        if export_versions and d.defined and d.sym.id in export_versions:
            d.version = export_versions[d.sym.id]
            continue
        version = d.sym.dynsym.version if d.sym.dynsym else None
        if version and d.sym.dso is not None:
            per_lib = verneed.setdefault(d.sym.dso.soname, {})
            if version not in per_lib:
                per_lib[version] = next_index
                next_index += 1
            d.version = per_lib[version]
    tables = DynamicTables(
        arch=arch,
        needed=needed,
        syms=syms,
        symoffset=1 + len(undefined),
        gnu_nbucket=nbucket,
        dynstr=dynstr,
        verneed=[(lib, list(v.items())) for lib, v in verneed.items()],
    )
    tables.verdef = list(verdef or [])
    for name, _, parents in tables.verdef:
        for text in (name, *parents):
            dynstr.add(text)
    for soname, versions in tables.verneed:
        dynstr.add(soname)
        for version, _ in versions:
            dynstr.add(version)
    tables.index = {d.sym.id: i + 1 for i, d in enumerate(syms)}
    return tables
