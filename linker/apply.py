"""Apply: compute every relocation of the link and write it, range-checked, in bulk.

All relocations of all objects are gathered into flat numpy arrays; for each one we know
S, A, P, G, L, GOT, T and Z (named once, here), `kinds.compute` turns them into values kind
by kind, the overflow rule of each howto is checked for the whole array at once, and the
values are scattered into the output image width by width.  No Python code runs per
relocation unless one overflows (then we build the error message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

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
)
from .layout import Layout
from .model import ABS, COMMON, UNDEF, ObjectFile, SectionFlags
from .records import dataclass, field
from .resolve import SymbolTable
from .scan import TLS_GD, TLS_GOT, TLS_LD, ScanResult
from .synth import Synthetic
from .targets import arch_of


@dataclass(frozen=True)
class SymbolAddresses:
    """Per global id: address, GOT slot address, PLT entry address, size (0 when none)."""

    address: np.ndarray
    got: np.ndarray
    plt: np.ndarray
    size: np.ndarray


def symbol_addresses(
    symtab: SymbolTable, layout: Layout, synthetic: Synthetic, scan: ScanResult,
    linker_defined: dict[str, int],
) -> SymbolAddresses:
    n = len(symtab.symbols)
    address = np.zeros(n, dtype=np.int64)
    got = np.zeros(n, dtype=np.int64)
    plt = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    got_base = layout.address_of(synthetic.got) if synthetic.got is not None else 0
    plt_base = layout.address_of(synthetic.plt) if synthetic.plt is not None else 0
    for sym in symtab.symbols:
        i = sym.id
        if not 0 <= sym.size < 1 << 63:
            raise LinkError(f"symbol size {sym.size:#x} is past any address space",
                            file=sym.file.path if sym.file is not None else None,
                            symbol=sym.name)
        size[i] = sym.size
        if sym.linker_defined:
            address[i] = linker_defined.get(sym.name, 0)
        elif sym.file is not None and sym.section is None and sym.absolute:
            address[i] = absolute_word(sym.value, arch_of(sym.file.arch).word_bits)
        elif sym.file is not None:
            base = (layout.section_address.get(id(sym.section), 0)
                    if sym.section is not None else 0)
            address[i] = _representable_address(base + sym.value, sym.value, sym.file,
                                                sym.name)
        if i in synthetic.plt_entry_offset:
            plt[i] = plt_base + synthetic.plt_entry_offset[i]
            if i in scan.canonical:
                address[i] = plt[i]  # canonical: the PLT entry stands for the function
    for key, offset in synthetic.got_slot_offset.items():
        if isinstance(key, int):
            got[key] = got_base + offset
    if synthetic.iplt is not None:
        iplt_base = layout.address_of(synthetic.iplt)
        for key, offset in synthetic.iplt_entry_offset.items():
            if isinstance(key, int):
                # An IFUNC's address, everywhere, is its .iplt entry.
                address[key] = plt[key] = iplt_base + offset
    return SymbolAddresses(address, got, plt, size)


def absolute_word(value: int, bits: int = 64) -> int:
    """An absolute (SHN_ABS) symbol's value as the int64 the address arrays hold.

    Its st_value is a word (64 or, i386, 32 bits), not an address in the image:
    `.set x, -0x8000` gives 0xffffffffffff8000 (0xffff8000), which GNU ld and lld link
    (S + A is computed modulo the word, so a 16-bit field gets `00 80`).  Read as two's
    complement, every such word fits; the writers mask it back to unsigned."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _representable_address(address: int, value: int, file: ObjectFile, name: str) -> int:
    """`address`, or a LinkError when a symbol's value (from a hostile or broken input)
    puts it outside the target's address space."""
    # x86-64: below 2**63, which the int64 arrays and the output's fields all hold (user
    # space ends at 2**47 anyway)
    bits = arch_of(file.arch).address_bits
    if not 0 <= address < 1 << bits:
        raise LinkError(f"symbol address {address:#x} (section address + value {value:#x}) "
                        f"is outside the {bits}-bit address space", file=file.path,
                        symbol=name)
    return address


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


@dataclass
class _HowtoTable:
    """Every distinct howto sequence of the link, concatenated; objects index it at a base."""

    kind: list[int] = field(default_factory=list)
    width: list[int] = field(default_factory=list)
    lo: list[int] = field(default_factory=list)
    hi: list[int] = field(default_factory=list)
    base_of: dict[int, int] = field(default_factory=dict)

    def base(self, howtos: Sequence[Howto]) -> int:
        key = id(howtos)
        if key not in self.base_of:
            self.base_of[key] = len(self.kind)
            for h in howtos:
                lo, hi = h.bounds()
                self.kind.append(int(h.kind))
                self.width.append(h.width)
                self.lo.append(max(lo, -(1 << 63)))
                self.hi.append(min(hi, (1 << 63) - 1))
        return self.base_of[key]


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
    gid_parts, local_parts, size_parts, dead_parts = [], [], [], []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("offset", "howto", "symbol",
                                                           "local", "addend", "sub")}
    sec_base, sec_pos, sec_len, sec_origin, sec_tomb = [], [], [], [], []
    bound_rows: list[np.ndarray] = []
    sym_base = row_count = 0
    for number, (obj, gids) in enumerate(zip(symtab.objects, symtab.gids)):
        hbase = howtos.base(obj.howtos)
        placed = [sec for sec in obj.sections if sec is not None and sec.file is obj
                  and len(sec.relocs) and id(sec) in layout.section_address]
        if placed:
            gid_parts.append(gids)
            local_parts.append(_local_ifunc_entries(local_addresses(obj, layout), number,
                                                    synthetic, layout))
            size_parts.append(obj.symbols.size.astype(np.int64))
            dead_parts.append(_in_discarded_section(obj, layout))
        for sec in placed:
            rows = sec.relocs.rows
            parts["offset"].append(rows["offset"])
            parts["howto"].append(rows["howto"].astype(np.int64) + hbase)
            parts["symbol"].append(rows["symbol"].astype(np.int64) + sym_base)
            parts["local"].append(rows["symbol"])
            parts["addend"].append(rows["addend"])
            sub = sec.relocs.subtrahend
            parts["sub"].append(np.where(sub >= 0, sub + sym_base, -1) if sub is not None
                                else np.full(len(rows), -1, dtype=np.int64))
            if id(sec) in bound_sections:
                # ld.so adds the import's address at run time; the field keeps A (REL needs it).
                hit = [n for n, off in enumerate(rows["offset"].tolist())
                       if (id(sec), off) in bound_sites]
                bound_rows.append(np.array(hit, dtype=np.int64) + row_count)
            sec_base.append(layout.section_address[id(sec)])
            sec_pos.append(layout.section_file_offset[id(sec)])
            sec_len.append(len(rows))
            sec_origin.append((number, sec.index))
            non_alloc = SectionFlags.ALLOC not in sec.flags
            sec_tomb.append(tombstone(sec.name) if non_alloc and tombstone is not None
                            else -1)
            row_count += len(rows)
        if placed:
            sym_base += len(gids)
    if not row_count:
        return
    flat = {k: np.concatenate(v).astype(np.int64) for k, v in parts.items()}
    all_gids = np.concatenate(gid_parts)
    all_local = np.concatenate(local_parts)
    all_size = np.concatenate(size_parts)
    lengths = np.array(sec_len, dtype=np.int64)
    offset = flat["offset"]
    P = np.repeat(np.array(sec_base, dtype=np.int64), lengths) + offset
    pos = np.repeat(np.array(sec_pos, dtype=np.int64), lengths) + offset
    gid = all_gids[flat["symbol"]]
    is_global = gid >= 0
    g = np.where(is_global, gid, 0)
    S = np.where(is_global, syms.address[g], all_local[flat["symbol"]])
    L = np.where(is_global & (syms.plt[g] != 0), syms.plt[g], S)
    G = np.where(is_global, syms.got[g], 0)
    Z = np.where(is_global, syms.size[g], all_size[flat["symbol"]])
    kind = np.array(howtos.kind, dtype=np.int64)[flat["howto"]]
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
    tomb = np.repeat(np.array(sec_tomb, dtype=np.int64), lengths)
    dead = np.concatenate(dead_parts)[flat["symbol"]] & ~is_global
    tomb = np.where(dead, tomb, -1)
    columns = {
        "S": S, "A": flat["addend"], "P": P, "G": G, "L": L, "T": T, "Z": Z, "pos": pos,
        "kind": kind, "width": np.array(howtos.width, dtype=np.int64)[flat["howto"]],
        "lo": np.array(howtos.lo, dtype=np.int64)[flat["howto"]],
        "hi": np.array(howtos.hi, dtype=np.int64)[flat["howto"]], "tomb": tomb,
    }
    _write_all(image, columns, symtab, got_base, (sec_len, sec_origin), tp, tls_start)


def _in_discarded_section(obj: ObjectFile, layout: Layout) -> np.ndarray:
    """Per symbol of `obj`: defined in a section that is not in the output."""
    placed = layout.section_address
    gone = np.array([sec is None or id(sec) not in placed for sec in obj.sections]
                    + [False] * 3)
    shndx = obj.symbols.section.astype(np.int64)
    return np.asarray(gone[np.where(shndx < 0, len(obj.sections), shndx)], dtype=bool)


def _local_ifunc_entries(addresses: np.ndarray, number: int, synthetic: Synthetic,
                         layout: Layout) -> np.ndarray:
    """A local IFUNC's address is its .iplt entry too: its own value is the resolver."""
    if synthetic.iplt is None:
        return addresses
    base = layout.address_of(synthetic.iplt)
    for key, offset in synthetic.iplt_entry_offset.items():
        if isinstance(key, tuple) and key[0] == number:
            addresses[key[1]] = base + offset
    return addresses




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
        # not np.unique: its first call imports numpy.ma, a noticeable share of a small link
        for kind in np.flatnonzero(np.bincount(f["kind"])).tolist():
            m = f["kind"] == kind
            values[m] = compute(RelocKind(kind), S=f["S"][m], A=f["A"][m], P=f["P"][m],
                                G=f["G"][m], L=f["L"][m], GOT=got_base, T=f["T"][m],
                                Z=f["Z"][m], TP=tp, TLS=tls_start)
    tombstoned = f["tomb"] >= 0
    values[tombstoned] = f["tomb"][tombstoned]
    # Unsigned 64-bit bounds do not fit int64; those are NONE-overflow fields (never checked).
    bad = (values < f["lo"]) | (values > f["hi"])
    bad &= f["width"] < 8
    if bad.any():  # each overflow is an error of its own, up to the link's error limit
        diagnostics = current()
        for r in np.nonzero(bad)[0][:diagnostics.room].tolist():
            diagnostics.error(_overflow_error(f, r, int(values[r]), symtab, got_base, origin))
    buf = np.frombuffer(image, dtype=np.uint8)
    for width in (1, 2, 4, 8):
        m = f["width"] == width
        if not m.any():
            continue
        if width < 8:
            v = (values[m] & ((1 << (8 * width)) - 1)).astype(f"<u{width}")
        else:
            v = values[m].astype("<i8")
        cells = f["pos"][m][:, None] + np.arange(width)
        buf[cells] = v.view(np.uint8).reshape(-1, width)


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
