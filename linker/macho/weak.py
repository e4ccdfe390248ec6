"""Weak definitions coalesced across images, as dyld does it: every image that defines or
reaches an exported weak definition says so, and dyld binds every such reference, in every
image, to one definition per name (the first non-weak one among the images in load order,
else the first weak one: the main executable's, when it has one).

What the linker writes for that (ld64's and ld64.lld's scheme):

- MH_WEAK_DEFINES when the image exports a weak definition, MH_BINDS_TO_WEAK when it has
  weak binds (the two flags are how dyld picks the images that take part);
- references to the image's *own* exported weak definitions go through something dyld can
  rewrite: calls through a stub whose lazy pointer holds the definition (rebased, no stub
  helper entry), GOT loads through their slot, pointers in data as they are (rebased);
- a weak bind (the name, the site, the addend; no library ordinal) on each of those sites,
  and on each site bound to a dylib's weak definition (its export trie's
  EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION);
- with chained fixups, those sites are binds to BIND_SPECIAL_DYLIB_WEAK_LOOKUP (-3).
"""

from __future__ import annotations

import numpy as np

from ..kinds import NEEDS_PLT, RelocKind
from ..layout import Layout
from ..model import Binding, SectionFlags, Visibility
from ..resolve import SymbolTable
from ..scan import ScanResult
from ..synth import Synthetic
from .dyldinfo import BindEntry
from .image_kind import SegmentIndex
from .symbols import listed

MH_WEAK_DEFINES, MH_BINDS_TO_WEAK = 0x8000, 0x10000
WEAK_LOOKUP = -3  # BIND_SPECIAL_DYLIB_WEAK_LOOKUP


def exported_weak_definitions(symtab: SymbolTable, exported: tuple[str, ...] | None
                              ) -> set[int]:
    """Global ids of the weak definitions the image exports (what dyld may coalesce)."""
    return {s.id for s in symtab.symbols
            if s.file is not None and s.section is not None and s.binding == Binding.WEAK
            and s.visibility == Visibility.DEFAULT and listed(s.name, exported)}


def coalesced(symtab: SymbolTable, own: set[int]) -> set[int]:
    """`own` plus the imports a dylib exports as weak definitions."""
    return own | {s.id for s in symtab.symbols
                  if s.imported and s.dynsym is not None and s.dynsym.weak}


def route_calls_through_stubs(symtab: SymbolTable, scan: ScanResult, own: set[int]) -> None:
    """A call to one of the image's own exported weak definitions gets a stub (and a lazy
    pointer) so that dyld can send it to the winning definition."""
    if not own:
        return
    wanted = np.zeros(len(symtab.symbols), dtype=bool)
    wanted[list(own)] = True
    plt_kinds = {int(k) for k in NEEDS_PLT}
    for obj, gids in zip(symtab.objects, symtab.gids):
        plt_howto = np.array([int(h.kind) in plt_kinds for h in obj.howtos] or [False])
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) \
                    or SectionFlags.ALLOC not in sec.flags:
                continue
            rows = sec.relocs.rows
            targets = gids[rows["symbol"]]
            hit = plt_howto[rows["howto"]] & (targets >= 0)
            hit[hit] = wanted[targets[hit]]
            for gid in dict.fromkeys(targets[hit].tolist()):
                scan.want_plt(int(gid))


def weak_sites(symtab: SymbolTable, scan: ScanResult, layout: Layout, synthetic: Synthetic,
               names: set[int], word: int) -> list[tuple[int, int, int]]:
    """(address, gid, addend) of every pointer-sized site dyld coalesces: lazy pointers and
    GOT slots of the `names`, and pointers to them in writable data."""
    out: list[tuple[int, int, int]] = []
    if synthetic.got_plt is not None:
        base = layout.address_of(synthetic.got_plt)
        out += [(base + off, gid, 0) for gid, off in synthetic.jump_slot_offset.items()
                if gid in names]
    if synthetic.got is not None:
        base = layout.address_of(synthetic.got)
        out += [(base + off, key, 0) for key, off in synthetic.got_slot_offset.items()
                if isinstance(key, int) and key in names]
    out += [(layout.address_of(s.section) + s.offset, s.gid, s.addend)
            for s in scan.dynamic_words if s.gid in names]
    linker_made = symtab.objects[-1]  # its pointers are the slots above
    for obj, gids in zip(symtab.objects, symtab.gids):
        if obj is linker_made:
            continue
        word_abs = np.array([h.kind == RelocKind.ABS and h.width == word for h in obj.howtos]
                            or [False])
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) \
                    or SectionFlags.WRITE not in sec.flags \
                    or id(sec) not in layout.section_address:
                continue
            rows = sec.relocs.rows
            for r in np.nonzero(word_abs[rows["howto"]])[0].tolist():
                gid = int(gids[int(rows["symbol"][r])])
                if gid >= 0 and gid in names and not symtab.symbols[gid].imported:
                    out.append((layout.address_of(sec) + int(rows["offset"][r]), gid,
                                int(rows["addend"][r])))
    return sorted(out)


def weak_binds(symtab: SymbolTable, sites: list[tuple[int, int, int]], data: SegmentIndex,
               ordinal: int = 0) -> list[BindEntry]:
    """The sites as bind entries (`ordinal`: WEAK_LOOKUP for chained fixups' imports)."""
    return [BindEntry(*data.locate(addr), ordinal, symtab.symbols[gid].name, addend)
            for addr, gid, addend in sites]


def as_chained_binds(symtab: SymbolTable, sites: list[tuple[int, int, int]],
                     data: SegmentIndex, binds: list[BindEntry], lazy: list[BindEntry],
                     slid: list[int]) -> tuple[list[BindEntry], list[BindEntry], list[int]]:
    """With chained fixups a weakly bound site is a bind to the weak-lookup pseudo-library,
    in place of its rebase or ordinary bind: (binds, lazy binds, rebased addresses)."""
    at = {a for a, _, _ in sites}
    return ([b for b in binds if data.address(b) not in at]
            + weak_binds(symtab, sites, data, WEAK_LOOKUP),
            [b for b in lazy if data.address(b) not in at], [a for a in slid if a not in at])


def header_flags(own: set[int], sites: list[tuple[int, int, int]]) -> int:
    return (MH_WEAK_DEFINES if own else 0) | (MH_BINDS_TO_WEAK if sites else 0)
