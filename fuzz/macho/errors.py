"""Mach-O x86-64 error models: fuzz.strategies.error_programs' undefined and duplicate symbols
in the Mach-O subset, and (in place of its overflow models, a function's address in an
8-bit field, which Mach-O x86-64 cannot express) a 4-byte SUBTRACTOR one past the bottom of
its range (fuzz/macho/subtractor.py).  Every linker mode must refuse in one line naming the
culprit (or the relocation type, for the overflow) and the object, leaving no output
(fuzz/test_macho_errors.py); ld64.lld-14 refuses them too.  (Merges the two error
generators of session 4, fuzz/macho/edges.py's and fuzz/macho/reach.py's.)"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from ..model import Binding, Call, CallVia, ErrorKind, Function, Program, Section, SectionKind
from ..strategies import error_programs, programs
from .samples import MACHO_SAMPLE
from .strategies import VARIANTS, MachoCase
from .subset import macho_subset
from .subtractor import describe_items, subtractor_overflow


def undefined_model(program: Program, owner: int) -> Program:
    """`program` with object `owner` calling `lh_missing`, which nothing defines."""
    obj = program.objects[owner]
    fn = Function("lh_needs_missing", Binding.GLOBAL, ".text.lh_err", 1, 0,
                  (Call("lh_missing", CallVia.DIRECT),))
    objs = list(program.objects)
    objs[owner] = replace(obj, sections=(*obj.sections, Section(".text.lh_err",
                                                                SectionKind.TEXT, 16)),
                          functions=(*obj.functions, fn))
    return replace(program, objects=tuple(objs), error=ErrorKind.UNDEFINED,
                   culprit="lh_missing", culprit_object=obj.name)


def duplicate_model(program: Program, owner: int) -> Program:
    """`program` with object `owner` defining a second strong copy of the main."""
    obj = program.objects[owner]
    assert all(f.name != program.main for f in obj.functions)
    fn = Function(program.main, Binding.GLOBAL, ".text.lh_dup", 1, 1, ())
    objs = list(program.objects)
    objs[owner] = replace(obj, sections=(*obj.sections, Section(".text.lh_dup",
                                                                SectionKind.TEXT, 16)),
                          functions=(*obj.functions, fn))
    return replace(program, objects=tuple(objs), error=ErrorKind.DUPLICATE,
                   culprit=program.main, culprit_object=obj.name)


@st.composite
def _error_program(draw: st.DrawFn) -> Program:
    program = draw(error_programs())
    if program.error is ErrorKind.OVERFLOW:
        base = macho_subset(draw(programs()))
        return subtractor_overflow(base, draw(st.integers(0, len(base.objects) - 1)))
    return macho_subset(program)


def macho_error_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, _error_program(), VARIANTS)


def describe_errors(program: Program, prefix: str = "macho") -> set[str]:
    """error:* for an error model, subtractor:edge:* for its SUBTRACTOR item."""
    labels = describe_items(program, prefix)
    if program.error is not None:
        labels.add(f"{prefix}:error:{program.error.value}")
    return labels


ERROR_SAMPLES = [MachoCase(subtractor_overflow(MACHO_SAMPLE, 2), 0),
                 MachoCase(undefined_model(MACHO_SAMPLE, 1), 1),
                 MachoCase(duplicate_model(MACHO_SAMPLE, 2), 2)]
