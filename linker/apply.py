"""Apply: compute every relocation of the link and write it, range-checked, in bulk.

All relocations of all objects are gathered into flat numpy arrays; for each one we know
S, A, P, G, L, GOT, T and Z (named once, here), `kinds.compute` turns them into values kind
by kind, the overflow rule of each howto is checked for the whole array at once, and the
values are scattered into the output image width by width.  No Python code runs per
relocation unless one overflows (then we build the error message).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import LinkError
from .kinds import RelocKind, compute, formula
from .layout import Layout
from .model import ABS, COMMON, UNDEF, ObjectFile
from .resolve import SymbolTable
from .scan import ScanResult
from .synth import Synthetic


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
        size[i] = sym.size
        if sym.linker_defined:
            address[i] = linker_defined.get(sym.name, 0)
        elif sym.file is not None:
            if sym.section is not None:
                address[i] = layout.section_address.get(id(sym.section), 0) + sym.value
            else:
                address[i] = sym.value
        if i in synthetic.plt_entry_offset:
            plt[i] = plt_base + synthetic.plt_entry_offset[i]
            if i in scan.canonical:
                address[i] = plt[i]  # canonical: the PLT entry stands for the function
    for key, offset in synthetic.got_slot_offset.items():
        if isinstance(key, int):
            got[key] = got_base + offset
    return SymbolAddresses(address, got, plt, size)


def local_addresses(obj: ObjectFile, layout: Layout) -> np.ndarray:
    """Address of each of `obj`'s symbols as if all were local (section base + value)."""
    t = obj.symbols
    bases = np.zeros(len(obj.sections) + 3, dtype=np.int64)  # +3: room for UNDEF/ABS/COMMON
    for i, sec in enumerate(obj.sections):
        if sec is not None:
            bases[i] = layout.section_address.get(id(sec), 0)
    shndx = t.section.astype(np.int64)
    special = shndx < 0
    idx = np.where(special, len(obj.sections), shndx)
    addr = bases[idx] + t.value.astype(np.int64)
    addr[shndx == UNDEF] = 0
    addr[shndx == COMMON] = 0
    addr[shndx == ABS] = t.value.astype(np.int64)[shndx == ABS]
    # Symbols in a discarded section (COMDAT duplicate, dropped section) resolve to 0.
    discarded = np.zeros(len(obj.sections) + 3, dtype=bool)
    for i, sec in enumerate(obj.sections):
        if sec is None:
            discarded[i] = True
    addr[~special & discarded[idx]] = 0
    return addr


def apply_relocations(
    image: bytearray,
    symtab: SymbolTable,
    layout: Layout,
    syms: SymbolAddresses,
    scan: ScanResult,
    synthetic: Synthetic,
    got_base: int,
) -> None:
    cols: dict[str, list[np.ndarray]] = {k: [] for k in "SAPGLTZ"}
    cols.update(pos=[], kind=[], width=[], lo=[], hi=[], origin=[])
    dynamic_words: dict[int, list[int]] = {}
    for site in scan.dynamic_words:
        dynamic_words.setdefault(id(site.section), []).append(site.offset)
    for number, (obj, gids) in enumerate(zip(symtab.objects, symtab.gids)):
        local = local_addresses(obj, layout)
        howtos = list(obj.howtos)
        h_kind = np.array([h.kind for h in howtos], dtype=np.int64)
        h_width = np.array([h.width for h in howtos], dtype=np.int64)
        bounds = [h.bounds() for h in howtos]
        h_lo = np.array([max(b[0], -(1 << 63)) for b in bounds], dtype=np.int64)
        h_hi = np.array([min(b[1], (1 << 63) - 1) for b in bounds], dtype=np.int64)
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs):
                continue
            if id(sec) not in layout.section_address:
                continue  # not placed (non-alloc)
            rows = sec.relocs.rows
            sym = rows["symbol"].astype(np.int64)
            gid = gids[sym]
            is_global = gid >= 0
            g = np.where(is_global, gid, 0)
            S = np.where(is_global, syms.address[g], local[sym])
            L = np.where(is_global & (syms.plt[g] != 0), syms.plt[g], S)
            G = np.where(is_global, syms.got[g], 0)
            Z = np.where(is_global, syms.size[g], obj.symbols.size.astype(np.int64)[sym])
            if not is_global.all():
                G = _local_got(G, ~is_global, sym, number, scan, synthetic, layout)
            T = np.zeros(len(rows), dtype=np.int64)
            if sec.relocs.subtrahend is not None:
                sub = sec.relocs.subtrahend.astype(np.int64)
                has = sub >= 0
                sg = gids[np.where(has, sub, 0)]
                T = np.where(has, np.where(sg >= 0, syms.address[np.maximum(sg, 0)],
                                           local[np.where(has, sub, 0)]), 0)
            offset = rows["offset"]
            if id(sec) in dynamic_words:
                # ld.so adds the import's address at run time; the field keeps A (REL needs it).
                S = np.where(np.isin(offset, dynamic_words[id(sec)]), 0, S)
            base = layout.section_address[id(sec)]
            hidx = rows["howto"].astype(np.int64)
            cols["S"].append(S)
            cols["A"].append(rows["addend"])
            cols["P"].append(base + offset)
            cols["G"].append(G)
            cols["L"].append(L)
            cols["T"].append(T)
            cols["Z"].append(Z)
            cols["pos"].append(layout.section_file_offset[id(sec)] + offset)
            cols["kind"].append(h_kind[hidx])
            cols["width"].append(h_width[hidx])
            cols["lo"].append(h_lo[hidx])
            cols["hi"].append(h_hi[hidx])
            cols["origin"].append(
                np.stack([np.full(len(rows), number), np.full(len(rows), sec.index),
                          np.arange(len(rows))], axis=1)
            )
    if not cols["pos"]:
        return
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    _write_all(image, flat, symtab, got_base)


def _local_got(
    G: np.ndarray, local_mask: np.ndarray, sym: np.ndarray, number: int,
    scan: ScanResult, synthetic: Synthetic, layout: Layout,
) -> np.ndarray:
    if synthetic.got is None:
        return G
    got_addr = layout.address_of(synthetic.got)
    G = G.copy()
    for r in np.nonzero(local_mask)[0].tolist():
        slot = synthetic.got_slot_offset.get((number, int(sym[r])))
        if slot is not None:
            G[r] = got_addr + slot
    return G


def _write_all(image: bytearray, f: dict[str, np.ndarray], symtab: SymbolTable,
               got_base: int) -> None:
    values = np.zeros(len(f["pos"]), dtype=np.int64)
    with np.errstate(over="ignore"):
        for kind in np.unique(f["kind"]).tolist():
            m = f["kind"] == kind
            values[m] = compute(RelocKind(kind), S=f["S"][m], A=f["A"][m], P=f["P"][m],
                                G=f["G"][m], L=f["L"][m], GOT=got_base, T=f["T"][m],
                                Z=f["Z"][m])
    # Unsigned 64-bit bounds do not fit int64; those are NONE-overflow fields (never checked).
    bad = (values < f["lo"]) | (values > f["hi"])
    bad &= f["width"] < 8
    if bad.any():
        r = int(np.nonzero(bad)[0][0])
        raise _overflow_error(f, r, int(values[r]), symtab, got_base)
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
                    got_base: int) -> LinkError:
    number, sec_index, row = (int(x) for x in f["origin"][r])
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
