"""Hypothesis strategies for Mach-O examples: fuzz.strategies' programs mapped into the
Mach-O subset (fuzz.macho.subset), each with a `variant` that fixes the assembler's free
choices (extern or not, N_PEXT, N_WEAK_REF, the store forms).  Modern and classic mode draw
from the same cases: data pointers to imports, with addends, included (classic mode once
filtered them out, when it could not write external relocations)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from ..model import Program
from ..strategies import programs
from .subset import has_import_pointers, macho_subset


@dataclass(frozen=True)
class MachoCase:
    program: Program  # already in the Mach-O subset
    variant: int

    @property
    def import_pointers(self) -> bool:
        """Whether data holds pointers to imports (with their addends): binds in modern
        mode, LC_DYSYMTAB external relocations in classic mode.  Both modes link every
        case; this only labels the draw."""
        return has_import_pointers(self.program)


VARIANTS = st.integers(0, 2**32 - 1)


def macho_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, programs().map(macho_subset), VARIANTS)
