"""Apply: compute every relocation of the link and write it, range-checked, in bulk.

(Symbols' addresses, the table this pass reads them from, are `addresses.py`'s.)

All relocations of all objects are gathered into flat numpy arrays; for each one we know
S, A, P, G, L, GOT, T and Z (named once, here), `kinds.compute` turns them into values kind
by kind, the overflow rule of each howto is checked for the whole array at once, and the
values are scattered into the output image width by width.  No Python code runs per
relocation unless one overflows (then we build the error message).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence

import numpy as np

from .addresses import SymbolAddresses, absolute_word, symbol_addresses
from .errors import LinkError, current
from .kinds import (
    NEEDS_GOT,
    TLS_GOT_KINDS,
    TLS_LD_PAIR,
    TLS_PAIR,
    Howto,
    RelocKind,
    compute,
    formula,
    per_howto_table,
)
from .layout import Layout
from .model import ABS, COMMON, RELOC_DTYPE, UNDEF, InputSection, ObjectFile, is_allocated
from .records import dataclass, field
from .resolve import SymbolTable
from .scan import TLS_GD, TLS_GOT, TLS_LD, ScanResult
from .synth import Synthetic
from .targets import arch_of

__all__ = ["SymbolAddresses", "absolute_word", "all_local_addresses", "apply_relocations",
           "local_addresses", "symbol_addresses"]


def local_addresses(obj: ObjectFile, layout: Layout) -> np.ndarray:
    """Address of each of `obj`'s symbols as if all were local (section base + value)."""
    t = obj.symbols
    section_address = layout.section_address
    # +3: room for UNDEF/ABS/COMMON, which index past the sections.
    bases = np.array([section_address.get(id(sec), 0) if sec is not None else 0
                      for sec in obj.sections] + [0, 0, 0], dtype=np.int64)
    discarded = np.array([sec is None for sec in obj.sections] + [False] * 3)
    shndx = t.section.astype(np.int64)
    special = shndx < 0
    idx = np.where(special, len(obj.sections), shndx)
    value = t.value.astype(np.int64)
    addr = bases[idx] + value
    addr[(shndx == UNDEF) | (shndx == COMMON)] = 0
    is_abs = shndx == ABS
    addr[is_abs] = value[is_abs]
    arch = arch_of(obj.arch)
    if arch.word_bits < 64:  # a narrower word, two's complement as on x86-64 (absolute_word)
        half = 1 << arch.word_bits - 1
        addr[is_abs] = (addr[is_abs] + half) % (2 * half) - half
    # Symbols in a discarded section (COMDAT duplicate, dropped section) resolve to 0.
    addr[~special & discarded[idx]] = 0
    # A hostile value wraps the int64 sum negative (or, i386, past 32 bits): refuse it here,
    # as symbol_addresses does, before the symbol table writer meets it.
    # An absolute value is a 64-bit word (see absolute_word): any value links.  A
    # section-relative one past 2**63 is refused even where the wrapped sum looks fine.
    relative = ~special
    outside = ((addr < 0) | (relative & (value < 0))) & ~is_abs
    if arch.address_bits < 63:  # the int64 arrays' own limit is checked above
        outside |= addr >= 1 << arch.address_bits
    if outside.any():
        n = int(np.nonzero(outside)[0][0])
        raise LinkError(f"symbol address (section address + value {int(t.value[n]):#x}) is "
                        "outside the address space", file=obj.path, symbol=t.names[n] or None)
    return addr


def all_local_addresses(objects: Sequence[ObjectFile], layout: Layout,
                        checked: Sequence[bool]) -> np.ndarray:
    """`local_addresses` of every object, concatenated, in a few operations for the whole
    link.  Only the objects marked `checked` have their addresses refused when outside the
    address space (the first in order raises), as `local_addresses` would for each."""
    if not objects:
        return np.zeros(0, dtype=np.int64)
    memo = layout.derived.get("local addresses")
    if not (isinstance(memo, _LocalAddresses) and memo.objects == objects):
        memo = layout.derived["local addresses"] = _local_address_table(objects, layout)
    outside = memo.outside & np.array(checked, dtype=bool)[memo.owner]
    if outside.any():
        n = int(np.nonzero(outside)[0][0])
        obj = objects[int(memo.owner[n])]
        local_addresses(obj, layout)  # raises its error for this object
    return memo.addresses


@dataclass(frozen=True)
class _LocalAddresses:
    """all_local_addresses before its check: per symbol of the objects (joined), its
    address, owner and whether it is outside the address space."""

    objects: list[ObjectFile]  # a copy of the list they were computed for
    addresses: np.ndarray  # read-only
    owner: np.ndarray
    outside: np.ndarray


def _local_address_table(objects: Sequence[ObjectFile], layout: Layout) -> _LocalAddresses:
    tables = [obj.symbols for obj in objects]
    counts = [len(t) for t in tables]
    owner = np.repeat(np.arange(len(objects)), counts)
    # per object: its sections' bases, then three zeros for UNDEF/ABS/COMMON
    slots, first_section, special_slots = _section_slots(objects)
    bases = np.fromiter(map(layout.section_address.get, map(id, slots), itertools.repeat(0)),
                        np.int64, len(slots))
    discarded = np.fromiter(map(operator.is_, slots, itertools.repeat(None)), bool, len(slots))
    discarded[special_slots] = False
    shndx = np.concatenate([t.section for t in tables]).astype(np.int64)
    value = np.concatenate([t.value for t in tables]).astype(np.int64)
    nsections = np.array([len(obj.sections) for obj in objects], dtype=np.int64)[owner]
    special = shndx < 0
    idx = first_section[owner] + np.where(special, nsections, shndx)
    addr = bases[idx] + value
    addr[(shndx == UNDEF) | (shndx == COMMON)] = 0
    is_abs = shndx == ABS
    addr[is_abs] = value[is_abs]
    narrow = np.array([obj.arch == "i386" for obj in objects], dtype=bool)
    if narrow.any():  # a 32-bit word, two's complement (absolute_word)
        wrap = is_abs & narrow[owner]
        addr[wrap] = (addr[wrap] + (1 << 31)) % (1 << 32) - (1 << 31)
    addr[~special & discarded[idx]] = 0
    outside = ((addr < 0) | (~special & (value < 0))) & ~is_abs
    if narrow.any():
        outside |= narrow[owner] & (addr >= 1 << 32)
    addr.flags.writeable = False
    return _LocalAddresses(list(objects), addr, owner, outside)


@per_howto_table
def _howto_columns(howtos: Sequence[Howto]) -> np.ndarray:
    """Rows kind, width, lo, hi (bounds clipped to int64) of a howto table, per howto."""
    columns = np.zeros((4, len(howtos)), dtype=np.int64)
    for n, h in enumerate(howtos):
        lo, hi = h.bounds()
        columns[:, n] = (int(h.kind), h.width, max(lo, -(1 << 63)), min(hi, (1 << 63) - 1))
    columns.flags.writeable = False
    return columns


@dataclass
class _HowtoTable:
    """Every distinct howto sequence of the link, its columns joined; objects index it at
    a base."""

    columns: list[np.ndarray] = field(default_factory=list)
    size: int = 0
    base_of: dict[int, int] = field(default_factory=dict)

    def base(self, howtos: Sequence[Howto]) -> int:
        key = id(howtos)
        base = self.base_of.get(key)
        if base is None:
            base = self.base_of[key] = self.size
            self.columns.append(_howto_columns(howtos))
            self.size += len(howtos)
        return base

    def joined(self) -> np.ndarray:
        return self.columns[0] if len(self.columns) == 1 else np.hstack(self.columns)


def apply_relocations(
    image: bytearray,
    symtab: SymbolTable,
    layout: Layout,
    syms: SymbolAddresses,
    scan: ScanResult,
    synthetic: Synthetic,
    got_base: int,
    tp: int = 0,
    tls_start: int = 0,
    tombstone: Callable[[str], int] | None = None,
) -> None:
    """Gather every placed relocation of every object into flat arrays, then compute and
    write them all at once.  Per section we only append array views; symbol lookups go
    through one flat table of all objects' symbols (`sym_base[object] + index`).

    Non-allocated sections (debug information) are relocated in the same pass: their
    fields are addresses (S + A), offsets into other non-allocated sections (whose inputs
    are placed at their offset in the output section, address 0) and TLS offsets (S + A -
    TLS).  A reference from one of them to a local symbol of a discarded section (a
    duplicate COMDAT member, a section not loaded) gets `tombstone(section name)`, never
    the addend alone: that would be some unrelated low address."""
    howtos = _HowtoTable()
    bound_sites = {(id(site.section), site.offset) for site in scan.dynamic_words}
    bound_sections = {key[0] for key in bound_sites}
    objects = symtab.objects
    counts = [len(obj.symbols) for obj in objects]
    sym_start = np.cumsum([0, *counts]).tolist()
    # Every placed section with relocations, in object then section order: its rows are
    # gathered with one join of their bytes, each section contributing only its bases.
    tables: list[np.ndarray] = []
    subs: list[np.ndarray | None] = []
    sec_base, sec_pos, sec_len, sec_origin, sec_tomb = [], [], [], [], []
    sec_sym_base, sec_hbase = [], []
    checked = [False] * len(objects)
    bound_rows: list[np.ndarray] = []
    row_count = 0
    section_address, section_file_offset = layout.section_address, layout.section_file_offset
    for number, obj in enumerate(objects):
        hbase = howtos.base(obj.howtos)
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) \
                    or id(sec) not in section_address:
                continue
            checked[number] = True
            rows = sec.relocs.rows
            tables.append(rows)
            subs.append(sec.relocs.subtrahend)
            if id(sec) in bound_sections:
                # ld.so adds the import's address at run time; the field keeps A (REL needs it).
                hit = [n for n, off in enumerate(rows["offset"].tolist())
                       if (id(sec), off) in bound_sites]
                bound_rows.append(np.array(hit, dtype=np.int64) + row_count)
            sec_base.append(section_address[id(sec)])
            sec_pos.append(section_file_offset[id(sec)])
            sec_len.append(len(rows))
            sec_origin.append((number, sec.index))
            sec_sym_base.append(sym_start[number])
            sec_hbase.append(hbase)
            sec_tomb.append(tombstone(sec.name) if tombstone is not None
                            and not is_allocated(sec.flags) else -1)
            row_count += len(rows)
    if not row_count:
        return
    all_gids = np.concatenate(symtab.gids)
    all_local = _local_ifunc_entries(all_local_addresses(objects, layout, checked), sym_start,
                                     synthetic, layout)
    lengths = np.array(sec_len, dtype=np.int64)
    rows = _joined(tables)
    local = rows["symbol"].astype(np.int64)
    flat = {"offset": rows["offset"].astype(np.int64),
            "howto": rows["howto"].astype(np.int64) + np.repeat(np.array(sec_hbase, np.int64),
                                                                lengths),
            "symbol": local + np.repeat(np.array(sec_sym_base, dtype=np.int64), lengths),
            "local": local, "addend": rows["addend"].astype(np.int64)}
    sub_all = np.full(row_count, -1, dtype=np.int64)
    if any(sub is not None for sub in subs):
        at = 0
        for sub, n, base in zip(subs, sec_len, sec_sym_base):
            if sub is not None:
                sub_all[at:at + n] = np.where(sub >= 0, sub + base, -1)
            at += n
    flat["sub"] = sub_all
    offset = flat["offset"]
    P = np.repeat(np.array(sec_base, dtype=np.int64), lengths) + offset
    pos = np.repeat(np.array(sec_pos, dtype=np.int64), lengths) + offset
    gid = all_gids[flat["symbol"]]
    is_global = gid >= 0
    g = np.where(is_global, gid, 0)
    S = np.where(is_global, syms.address[g], all_local[flat["symbol"]])
    L = np.where(is_global & (syms.plt[g] != 0), syms.plt[g], S)
    G = np.where(is_global, syms.got[g], 0)
    howto_columns = howtos.joined()[:, flat["howto"]]
    kind = howto_columns[0]
    # Z only where some row is a SIZE relocation (np.zeros costs nothing until written)
    Z = np.zeros(row_count, dtype=np.int64)
    if (kind == RelocKind.SIZE).any():
        all_size = np.concatenate([obj.symbols.size for obj in objects]).astype(np.int64)
        Z = np.where(is_global, syms.size[g], all_size[flat["symbol"]])
    local_got = ~is_global & _IS_GOT_KIND[kind]
    tls_got = _IS_TLS_GOT_KIND[kind]
    tls_pair = _IS_TLS_PAIR_KIND[kind]
    if local_got.any() or tls_got.any() or tls_pair.any():
        numbers = np.repeat(np.array([o[0] for o in sec_origin], dtype=np.int64), lengths)
        G = _slots_by_key(G, local_got & ~tls_got, tls_got | tls_pair, gid, numbers,
                          flat["local"], synthetic, layout, kind)
    T = np.zeros(row_count, dtype=np.int64)
    sub = flat["sub"]
    has = sub >= 0
    if has.any():
        sidx = np.where(has, sub, 0)
        sg = all_gids[sidx]
        T = np.where(has, np.where(sg >= 0, syms.address[np.maximum(sg, 0)], all_local[sidx]), 0)
    if bound_rows:
        S[np.concatenate(bound_rows)] = 0
    tomb: np.ndarray | None = None  # per row: the tombstone it gets, or -1
    if any(t >= 0 for t in sec_tomb):  # a non-allocated section (debug information)
        dead = _in_discarded_sections(objects, layout)[flat["symbol"]] & ~is_global
        tomb = np.where(dead, np.repeat(np.array(sec_tomb, dtype=np.int64), lengths), -1)
    columns: dict[str, np.ndarray] = {
        "S": S, "A": flat["addend"], "P": P, "G": G, "L": L, "T": T, "Z": Z, "pos": pos,
        "kind": kind, "width": howto_columns[1], "lo": howto_columns[2],
        "hi": howto_columns[3],
    }
    if tomb is not None:
        columns["tomb"] = tomb
    _write_all(image, columns, symtab, got_base, (sec_len, sec_origin), tp, tls_start)


def _in_discarded_sections(objects: Sequence[ObjectFile], layout: Layout) -> np.ndarray:
    """Per symbol of every object (their tables joined): defined in a section that is not
    in the output."""
    slots, first_section, special_slots = _section_slots(objects)
    # not placed (a section not loaded is not either); the three slots after each
    # object's sections stand for UNDEF/ABS/COMMON, never gone
    gone = ~np.fromiter(map(layout.section_address.__contains__, map(id, slots)), bool,
                        len(slots))
    gone[special_slots] = False
    counts = [len(obj.symbols) for obj in objects]
    owner = np.repeat(np.arange(len(objects)), counts)
    shndx = np.concatenate([obj.symbols.section for obj in objects]).astype(np.int64)
    nsections = np.array([len(obj.sections) for obj in objects], dtype=np.int64)[owner]
    return gone[first_section[owner] + np.where(shndx < 0, nsections, shndx)]


def _section_slots(objects: Sequence[ObjectFile]
                   ) -> tuple[list[InputSection | None], np.ndarray, np.ndarray]:
    """Every object's sections followed by three empty slots (for UNDEF, ABS and COMMON,
    which index past the sections), joined; where each object's slots start; and the
    positions of the empty slots."""
    slots = [sec for obj in objects for sec in [*obj.sections, None, None, None]]
    nsections = np.array([len(obj.sections) for obj in objects], dtype=np.int64)
    first_section = np.cumsum([0, *(nsections + 3).tolist()])[:-1]
    return slots, first_section, ((first_section + nsections)[:, None] + np.arange(3)).ravel()


def _local_ifunc_entries(addresses: np.ndarray, sym_start: list[int], synthetic: Synthetic,
                         layout: Layout) -> np.ndarray:
    """A local IFUNC's address is its .iplt entry too: its own value is the resolver.
    `addresses` holds every object's symbols, object `n`'s from sym_start[n]."""
    if synthetic.iplt is None:
        return addresses
    addresses = addresses.copy()  # all_local_addresses' array is shared with .symtab's
    base = layout.address_of(synthetic.iplt)
    for key, offset in synthetic.iplt_entry_offset.items():
        if isinstance(key, tuple):
            addresses[sym_start[key[0]] + key[1]] = base + offset
    return addresses


def _joined(tables: list[np.ndarray]) -> np.ndarray:
    """Relocation tables concatenated through one join of their bytes: concatenating
    structured arrays costs some 10 µs per array (and a structured array's `.data` 3 µs),
    which thousands of sections add up."""
    return np.frombuffer(b"".join([t.tobytes() for t in tables]), dtype=RELOC_DTYPE)


def _kind_table(kinds: frozenset[RelocKind]) -> np.ndarray:
    """kind number -> member of `kinds`: a fancy-index per link instead of np.isin (whose
    fixed cost dominated on the few relocations of a small link)."""
    table = np.zeros(len(RelocKind), dtype=bool)
    table[[int(k) for k in kinds]] = True
    return table


_IS_GOT_KIND = _kind_table(NEEDS_GOT)
_IS_TLS_GOT_KIND = _kind_table(TLS_GOT_KINDS)
_IS_TLS_PAIR_KIND = _kind_table(TLS_PAIR)
_TLS_PAIR_SET = frozenset(int(k) for k in TLS_PAIR)
_TLS_LD_PAIR = frozenset(int(k) for k in TLS_LD_PAIR)


def _slots_by_key(G: np.ndarray, local_got: np.ndarray, tls_got: np.ndarray, gid: np.ndarray,
                  numbers: np.ndarray, local: np.ndarray, synthetic: Synthetic,
                  layout: Layout, kind: np.ndarray) -> np.ndarray:
    """GOT slots not indexed by global id: a local symbol's, keyed (object number, symbol
    index), a TLS slot holding S - TP, keyed ("tls", that key or the global id), and a
    shared object's TLS pairs (scan.TLS_GD, TLS_LD).  All are rare, so a loop over just
    those rows."""
    if synthetic.got is None:
        return G
    got_addr = layout.address_of(synthetic.got)
    G = G.copy()
    for r in np.nonzero(local_got | tls_got)[0].tolist():
        g = int(gid[r])
        key: object = g if g >= 0 else (int(numbers[r]), int(local[r]))
        if int(kind[r]) in _TLS_LD_PAIR:
            key = (TLS_LD,)
        elif int(kind[r]) in _TLS_PAIR_SET:
            key = (TLS_GD, key)
        elif tls_got[r]:
            key = (TLS_GOT, key)
        slot = synthetic.got_slot_offset.get(key)
        if slot is not None:
            G[r] = got_addr + slot
    return G


Origin = tuple[list[int], list[tuple[int, int]]]  # rows per section, (object, section index)


def _write_all(image: bytearray, f: dict[str, np.ndarray], symtab: SymbolTable,
               got_base: int, origin: Origin, tp: int = 0, tls_start: int = 0) -> None:
    values = np.zeros(len(f["pos"]), dtype=np.int64)
    with np.errstate(over="ignore"):
        # Each kind's formula over every row (element-wise, wrapping), kept where the row
        # is of that kind: cheaper than gathering seven letters per kind through a mask.
        # Not np.unique: its first call imports numpy.ma, a noticeable share of a small link.
        for kind in np.flatnonzero(np.bincount(f["kind"])).tolist():
            np.copyto(values, compute(RelocKind(kind), S=f["S"], A=f["A"], P=f["P"], G=f["G"],
                                      L=f["L"], GOT=got_base, T=f["T"], Z=f["Z"], TP=tp,
                                      TLS=tls_start),
                      where=f["kind"] == kind)
    tomb = f.get("tomb")  # absent: no row is tombstoned
    if tomb is not None:
        tombstoned = tomb >= 0
        values[tombstoned] = tomb[tombstoned]
    # Unsigned 64-bit bounds do not fit int64; those are NONE-overflow fields (never checked).
    bad = (values < f["lo"]) | (values > f["hi"])
    bad &= f["width"] < 8
    if bad.any():  # each overflow is an error of its own, up to the link's error limit
        diagnostics = current()
        for r in np.nonzero(bad)[0][:diagnostics.room].tolist():
            diagnostics.error(_overflow_error(f, r, int(values[r]), symtab, got_base, origin))
    buf = np.frombuffer(image, dtype=np.uint8)
    for width in np.flatnonzero(np.bincount(f["width"], minlength=9)).tolist():
        if width not in (1, 2, 4, 8):  # 0: R_*_NONE, nothing written
            continue
        m = f["width"] == width
        if width < 8:
            v = (values[m] & ((1 << (8 * width)) - 1)).astype(f"<u{width}")
        else:
            v = values[m].astype("<i8")
        # byte k of every field at once: a scatter per byte, no 2-D index
        field_bytes, at = v.view(np.uint8).reshape(-1, width), f["pos"][m]
        for k in range(width):
            buf[at + k] = field_bytes[:, k]


def _overflow_error(f: dict[str, np.ndarray], r: int, value: int, symtab: SymbolTable,
                    got_base: int, origin: Origin) -> LinkError:
    lengths, sections = origin
    starts = np.cumsum([0, *lengths])
    n = int(np.searchsorted(starts, r, side="right")) - 1
    (number, sec_index), row = sections[n], r - int(starts[n])
    obj = symtab.objects[number]
    sec = obj.sections[sec_index]
    assert sec is not None
    rec = sec.relocs.rows[row]
    howto = obj.howtos[int(rec["howto"])]
    sym_index = int(rec["symbol"])
    name = obj.symbols.names[sym_index] or (
        f"{sec.name if sec else '?'}" if sym_index else "?"
    )
    lo, hi = howto.bounds()
    letters = ", ".join(f"{k}={int(f[k][r]):#x}" for k in "SAPGL")
    return LinkError(
        f"{howto.name} value {value:#x} ({formula(howto.kind)} with {letters}, GOT={got_base:#x})"
        f" does not fit in {howto.width * 8} bits [{lo:#x}, {hi:#x}]",
        file=obj.path,
        section=sec.name,
        offset=int(rec["offset"]),
        symbol=name,
    )
