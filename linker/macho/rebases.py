"""Rebase records: every absolute pointer in the image to something that moves with it.

dyld slides an MH_PIE image, a dylib or a bundle, and must add the slide to each pointer
into it: modern output lists them in the rebase opcodes (or chained fixups), classic
output as LC_DYSYMTAB local relocations naming the section the pointer points into.

Which words those are is known from the relocations alone, before any address exists: a
pointer-wide ABS relocation (user code's, or the synthetic object's lazy pointers and GOT
slots) whose symbol is defined in the image and not absolute.  So the records are made
right after synthesis, as ELF's dynamic relocations are planned before layout, and turned
into addresses (and target sections) once layout has run, never read back from the
relocated bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import LinkError
from ..kinds import RelocKind
from ..layout import Layout, OutputSection
from ..model import ABS, UNDEF, InputSection, ObjectFile, SectionFlags, SectionRole
from ..model import SymbolTable as ObjTable
from ..records import dataclass
from ..resolve import SymbolTable
from ..scan import ScanResult
from .synth import MachoSynthetic


@dataclass(frozen=True)
class RebaseSite:
    """One relocated word the image's tables must know about (a slid pointer; tlv.py's
    descriptor offsets): its place (section, offset) and what it points to (the symbol of
    `obj` its relocation names, plus the relocation's addend)."""

    section: InputSection
    offset: int
    obj: ObjectFile
    symbol: int
    gid: int  # the symbol's global id, or -1 for a local
    addend: int


@dataclass
class RebaseRecords:
    sites: list[RebaseSite]
    # The refusal for the first pointer in a read-only section, if any: raised by the
    # caller only where such a pointer cannot be written (x86-64 modern output); i386
    # images keep it and are then not MH_PIE.
    read_only: LinkError | None


def rebase_records(symtab: SymbolTable, scan: ScanResult, word: int,
                   skip: tuple[InputSection, ...], text_rebases: bool = False,
                   library: bool = False) -> RebaseRecords:
    """Every absolute pointer to something inside the image (what moves with the slide).
    `skip`: sections whose slots dyld slides itself (classic indirect pointers).
    `text_rebases`: those in read-only sections are rebased too (an i386 dylib, which dyld
    slides whatever its code holds: dyld makes __TEXT writable for its text rebases).
    `library` (a dylib or bundle, always slid): an absolute address narrower than a
    pointer, which no rebase can fix, is refused."""
    bound = {(id(s.section), s.offset) for s in scan.dynamic_words}
    sites = []
    read_only: LinkError | None = None
    for obj, gids in zip(symtab.objects, symtab.gids):
        kinds = np.array([h.kind == RelocKind.ABS and (h.width == word or library)
                          for h in obj.howtos])
        t = obj.symbols
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) or sec in skip:
                continue
            rows = sec.relocs.rows
            for r in np.nonzero(kinds[rows["howto"]])[0].tolist():
                offset, symbol = int(rows["offset"][r]), int(rows["symbol"][r])
                if (id(sec), offset) in bound or not _moves(symtab, t, gids, symbol):
                    continue
                width = obj.howtos[int(rows["howto"][r])].width
                if width != word:
                    raise LinkError(f"a {width}-byte absolute address of a symbol in a dylib "
                                    f"or bundle: dyld slides the image and can rebase only "
                                    f"{word}-byte pointers", file=obj.path, section=sec.name,
                                    offset=offset, symbol=t.names[symbol] or None)
                if SectionFlags.WRITE not in sec.flags and not text_rebases:
                    read_only = read_only or LinkError(
                        "an absolute pointer in a read-only section cannot be rebased in a "
                        "PIE (put it in __DATA,__const)", file=obj.path, section=sec.name,
                        offset=offset, symbol=t.names[symbol] or None)
                    continue
                sites.append(RebaseSite(sec, offset, obj, symbol, int(gids[symbol]),
                                        int(rows["addend"][r])))
    return RebaseRecords(sites, read_only)


def site_addresses(records: RebaseRecords, layout: Layout) -> list[int]:
    """Where each placed site is, in address space."""
    placed = layout.section_address
    return [layout.address_of(s.section) + s.offset for s in records.sites
            if id(s.section) in placed]


def pointer_targets(sites: Sequence[RebaseSite], layout: Layout, global_address: np.ndarray,
                    word: int) -> dict[int, int]:
    """Site address -> S + A of its relocation (modulo the word: for a pointer, what the
    relocation pass writes there), computed from the records as the pass computes it."""
    from ..apply import local_addresses
    locals_of: dict[int, np.ndarray] = {}
    placed = layout.section_address
    mask = (1 << 8 * word) - 1
    out = {}
    for s in sites:
        if id(s.section) not in placed:
            continue
        if s.gid >= 0:
            target = int(global_address[s.gid])
        else:
            table = locals_of.get(id(s.obj))
            if table is None:
                table = locals_of[id(s.obj)] = local_addresses(s.obj, layout)
            target = int(table[s.symbol])
        out[layout.address_of(s.section) + s.offset] = (target + s.addend) & mask
    return out


def section_ordinal_at(outs: list[OutputSection], addr: int) -> int:
    """The 1-based ordinal of the output section a pointer points into (its end counts:
    a one-past-the-end pointer), else 1 (r_symbolnum must not be R_ABS, 0)."""
    for n, out in enumerate(outs, start=1):
        if out.addr <= addr < out.addr + out.size:
            return n
    for n, out in enumerate(outs, start=1):
        if addr == out.addr + out.size:
            return n
    return 1


def indirect_pointer_sections(symtab: SymbolTable, synthetic: MachoSynthetic
                              ) -> tuple[InputSection, ...]:
    """Sections whose slots the classic indirect symbol table binds (or dyld slides)."""
    found = [sec for obj in symtab.objects for sec in obj.sections
             if sec is not None and sec.file is obj
             and sec.role is SectionRole.NON_LAZY_POINTERS]
    got = synthetic.common.got
    return tuple(([got] if got is not None else []) + found)


def _moves(symtab: SymbolTable, t: ObjTable, gids: np.ndarray, symbol: int) -> bool:
    """Whether the symbol's address moves with the image (so a pointer to it is rebased)."""
    gid = int(gids[symbol])
    if gid >= 0:
        return global_moves(symtab, gid)
    section = int(t.section[symbol])
    return section not in (UNDEF, ABS) and section >= 0


def global_moves(symtab: SymbolTable, gid: int) -> bool:
    sym = symtab.symbols[gid]
    return bool(sym.defined and not sym.absolute and not sym.imported or sym.linker_defined)


def local_moves(symtab: SymbolTable, number: int, index: int) -> bool:
    """A local symbol of object `number`: whether it moves (`_moves` for a local)."""
    return _moves(symtab, symtab.objects[number].symbols, symtab.gids[number], index)
