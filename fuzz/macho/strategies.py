"""Hypothesis strategies for Mach-O examples: fuzz.strategies' programs mapped into the
Mach-O subset (fuzz.macho.subset), each with a `variant` that fixes the assembler's free
choices (extern or not, N_PEXT, N_WEAK_REF, the store forms)."""

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
    def classic_ok(self) -> bool:
        """Classic mode (LC_UNIXTHREAD, the seed's stubs) takes no pointers to imports in
        data."""
        return not has_import_pointers(self.program)


VARIANTS = st.integers(0, 2**32 - 1)


def macho_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, programs().map(macho_subset), VARIANTS)


def classic_cases() -> st.SearchStrategy[MachoCase]:
    """Cases classic mode can link: import pointers in data dropped by filtering."""
    return macho_cases().filter(lambda c: c.classic_ok)
