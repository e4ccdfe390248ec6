"""Hypothesis strategies for Mach-O i386 examples: fuzz.strategies' programs mapped into the
Mach-O i386 subset (fuzz.macho.subset_i386), perhaps with fuzz.macho.strategies' table of
pointers to imports (with addends: binds in modern mode, LC_DYSYMTAB external relocations
in classic mode; the 8-byte entries become an address word and a zero word), each with a
`variant` that fixes the assembler's free choices (fuzz.macho.pipeline_i386.choices)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from ..model import Program
from ..strategies import programs
from .strategies import VARIANTS, with_pointer_table
from .subset import macho_subset
from .subset_i386 import macho_i386_subset


@dataclass(frozen=True)
class MachoI386Case:
    program: Program  # already in the Mach-O i386 subset
    variant: int


def macho_i386_cases() -> st.SearchStrategy[MachoI386Case]:
    mapped = programs().map(macho_i386_subset).flatmap(with_pointer_table)
    return st.builds(MachoI386Case, mapped, VARIANTS)


def four_target_program(program: Program) -> Program:
    """One model every target expresses: the x86-64 Mach-O subset (the narrower one: no
    absolute addressing, 8-byte pointers) mapped once more into the i386 one."""
    return macho_i386_subset(macho_subset(program))


def four_target_cases() -> st.SearchStrategy[MachoI386Case]:
    return st.builds(MachoI386Case, programs().map(four_target_program), VARIANTS)
