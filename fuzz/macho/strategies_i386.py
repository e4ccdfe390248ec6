"""Hypothesis strategies for Mach-O i386 examples: fuzz.strategies' programs mapped into the
Mach-O i386 subset (fuzz.macho.subset_i386), perhaps with fuzz.macho.strategies' table of
pointers to imports (with addends: binds in modern mode, LC_DYSYMTAB external relocations
in classic mode; the 8-byte entries become an address word and a zero word), each with a
`variant` that fixes the assembler's free choices (fuzz.macho.pipeline_i386.choices)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from ..model import ErrorKind, Program
from ..strategies import error_programs, programs
from ..strategies_i386 import narrow_overflow
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


MACHO_NARROW_OVERFLOWS = ("r8", "r16")  # a negative PC8 is not expressible: see below


@st.composite
def macho_i386_error_programs(draw: st.DrawFn) -> MachoI386Case:
    """fuzz.strategies.error_programs in the Mach-O i386 subset: undefined and duplicate
    symbols as drawn; an overflow is fuzz.strategies_i386.narrow_overflow's, a function's
    address in a 1-byte VANILLA field or 0x10000 in a 2-byte one (the pc-relative byte
    just past its edge has no Mach-O form: the object's own field would already be
    truncated, where ELF's REL field is resolved by the linker)."""
    program = draw(error_programs())
    if program.error is ErrorKind.OVERFLOW:
        base = draw(programs())
        owner = draw(st.integers(0, len(base.objects) - 1))
        program = narrow_overflow(base, owner, draw(st.sampled_from(MACHO_NARROW_OVERFLOWS)))
    return MachoI386Case(macho_i386_subset(program), draw(VARIANTS))


def _error_samples() -> list[MachoI386Case]:
    """One fixed case of every error kind (both narrow overflows), which the error property
    always runs and the inventory always counts: what derandomized draws reach can shift
    with the constants Hypothesis collects from the modules a process has loaded."""
    from ..samples_i386 import SAMPLE_I386
    from .errors import duplicate_model, undefined_model
    return [MachoI386Case(macho_i386_subset(narrow_overflow(SAMPLE_I386, 1, "r8")), 0),
            MachoI386Case(macho_i386_subset(narrow_overflow(SAMPLE_I386, 2, "r16")), 1),
            MachoI386Case(macho_i386_subset(undefined_model(SAMPLE_I386, 1)), 2),
            MachoI386Case(macho_i386_subset(duplicate_model(SAMPLE_I386, 2)), 0)]


MACHO_I386_ERROR_SAMPLES = _error_samples()
