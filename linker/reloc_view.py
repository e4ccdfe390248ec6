"""Every allocated section's relocations as one table, for the passes that look for the
few rows needing work (GOT and TLS relaxation, scan).

Those passes used to make a dozen small-array operations per section only to find, in
most sections, nothing to do: a link of 20,000 objects has 60,000 such sections.  A view
joins the rows of all of them once (one join of their bytes), so each pass asks its
question of every row in a few operations and visits only the sections with an answer.
The rows are a copy: a pass that rewrites relocations takes a fresh view afterwards, or
makes its edits in the view too (GOT relaxation hands its view on to scan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .kinds import Howto
from .model import RELOC_DTYPE, InputSection, ObjectFile, is_allocated
from .records import dataclass, field
from .resolve import SymbolTable


@dataclass(frozen=True)
class RelocView:
    """Rows of the allocated sections with relocations, in object then section order."""

    sections: list[tuple[int, InputSection]]  # (object number, section)
    rows: np.ndarray  # RELOC_DTYPE, every section's rows one after another
    section_of: np.ndarray  # per row: index into `sections`
    object_of: np.ndarray  # per row: the object's number in symtab.objects
    gid: np.ndarray  # per row: the target's global id, or -1 for a local symbol
    local: np.ndarray  # per row: index of the symbol in the link's joined symbol tables
    howto_base: np.ndarray  # per row: where its object's howtos start in `by_howto` tables
    howto_sets: list[Sequence[Howto]]  # the distinct howto sequences, in base order
    # joined symbol columns asked for so far (the columns a pass reads do not change)
    _columns: dict[str, np.ndarray] = field(default_factory=dict)

    def by_howto(self, table: Callable[[Sequence[Howto]], np.ndarray]) -> np.ndarray:
        """Per row, `table(howtos)[row's howto]`: a per-arch lookup table, applied to every
        row at once."""
        if not self.howto_sets:  # no object at all (`-shared lib.so`, an unused archive)
            return np.zeros(0, dtype=np.int64)
        joined = np.concatenate([table(h) for h in self.howto_sets])
        return joined[self.howto_base + self.rows["howto"]]

    def symbol_column(self, objects: Sequence[ObjectFile], column: str) -> np.ndarray:
        """`joined_symbol_column(objects, column)`, joined once per view."""
        joined = self._columns.get(column)
        if joined is None:
            joined = self._columns[column] = joined_symbol_column(objects, column)
        return joined

    def has_data(self) -> np.ndarray:
        """Per row: does its section have bytes (not zero-fill)?"""
        return np.array([sec.data is not None for _n, sec in self.sections],
                        dtype=bool)[self.section_of]

    def first_rows(self) -> np.ndarray:
        """Per section: the index of its first row in `rows`."""
        return np.searchsorted(self.section_of, np.arange(len(self.sections)))

    def sections_where(self, mask: np.ndarray) -> list[tuple[int, InputSection]]:
        """The sections holding at least one row of `mask`, in order."""
        hits = np.bincount(self.section_of[mask], minlength=len(self.sections))
        return [self.sections[n] for n in np.flatnonzero(hits).tolist()]


def allocated_relocations(symtab: SymbolTable, *, with_data: bool = False) -> RelocView:
    """The view of every allocated section (with bytes, when `with_data`) that has
    relocations."""
    sections: list[tuple[int, InputSection]] = []
    tables: list[bytes] = []
    lengths: list[int] = []
    sym_base: list[int] = []
    bases: list[int] = []
    base_of: dict[int, int] = {}
    howto_sets: list[Sequence[Howto]] = []
    start = next_base = 0
    for number, obj in enumerate(symtab.objects):
        key = id(obj.howtos)
        if key not in base_of:
            base_of[key] = next_base
            howto_sets.append(obj.howtos)
            next_base += len(obj.howtos)
        for sec in obj.sections:
            if sec is None:
                continue
            table = sec.relocs.rows
            if not len(table) or not is_allocated(sec.flags) \
                    or (with_data and sec.data is None):
                continue
            sections.append((number, sec))
            tables.append(table.tobytes())  # cheaper than .data, any layout
            lengths.append(len(table))
            sym_base.append(start)
            bases.append(base_of[key])
        start += len(obj.symbols)
    # a writable copy: a pass that rewrites rows may keep the view current (got_relax.py)
    rows = np.frombuffer(bytearray().join(tables), dtype=RELOC_DTYPE)
    counts = np.array(lengths, dtype=np.int64)
    section_of = np.repeat(np.arange(len(sections)), counts)
    local = rows["symbol"].astype(np.int64) + np.array(sym_base, dtype=np.int64)[section_of]
    gids = np.concatenate(symtab.gids) if symtab.gids else np.zeros(0, dtype=np.int64)
    object_of = np.array([number for number, _sec in sections], dtype=np.int64)[section_of]
    return RelocView(sections, rows, section_of, object_of,
                     gids[local] if len(local) else local,
                     local, np.array(bases, dtype=np.int64)[section_of], howto_sets)


def joined_symbol_column(objects: Sequence[ObjectFile], column: str) -> np.ndarray:
    """One column of every object's symbol table, joined (RelocView.local indexes it)."""
    if not objects:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([getattr(obj.symbols, column) for obj in objects])
