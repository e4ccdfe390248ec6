"""What the i386 properties draw: a valid program (fuzz.strategies.programs, which needs no
i386 filter: see fuzz.lower_i386), the objects whose GOT references use no base register,
and how linkharness is asked to link."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from .lower_i386 import I386Choices
from .model import (
    AbsSymbol,
    Binding,
    Const,
    DataItem,
    ErrorKind,
    Field,
    Program,
    Ref,
    Section,
    SectionKind,
    SelfRel,
)
from .pipeline import LinkOptions, link_options
from .samples_i386 import SAMPLE_I386, SAMPLE_I386_CHOICES
from .strategies import error_programs, programs


@dataclass(frozen=True)
class I386Case:
    program: Program
    choices: I386Choices
    options: LinkOptions


HIGH_ABSOLUTE = 0xFF00  # added to an absolute symbol: its 16-bit fields cross 0x7fff


def with_high_absolutes(program: Program) -> Program:
    """The program with every absolute symbol that no 1-byte field names raised by
    HIGH_ABSOLUTE, so that R_386_16 fields hold values above the signed limit (fuzz.strategies
    draws values below 0x100; an addend is at most 0x7f, so every field still fits)."""
    narrow = {f.target for o in program.objects for d in o.data for f in d.fields
              if isinstance(f, Ref) and f.width == 1}
    objects = tuple(replace(o, absolutes=tuple(
        a if a.name in narrow else replace(a, value=a.value + HIGH_ABSOLUTE)
        for a in o.absolutes)) for o in program.objects)
    return replace(program, objects=objects)


@st.composite
def i386_cases(draw: st.DrawFn) -> I386Case:
    program = draw(programs())
    if draw(st.booleans()):
        program = with_high_absolutes(program)
    n = len(program.objects)
    no_base = frozenset(draw(st.sets(st.integers(0, n - 1))))
    return I386Case(program, I386Choices(no_base), draw(link_options(n)))


SAMPLE_CASE = I386Case(SAMPLE_I386, SAMPLE_I386_CHOICES, LinkOptions())


EDGE_ABSOLUTE = AbsSymbol("lh_kedge", 0xFF80)


NARROW_OVERFLOWS = ("r8", "r16", "pc8")


def narrow_overflow(base: Program, owner: int, choice: str) -> Program:
    """`base` with a data item `lh_narrow` in object `owner` whose field is just past the
    edge of a narrow i386 field: a function's address in R_386_8 ("r8"), 0x10000 in
    R_386_16 ("r16"), -129 in R_386_PC8 ("pc8"; REL: the addend must fit the byte itself,
    so the field's distance from its item makes the overflow)."""
    fields: tuple[Field, ...]
    absolutes: tuple[AbsSymbol, ...] = ()
    if choice == "r8":
        culprit, fields = "lh_main", (Ref(1, "lh_main"),)
    elif choice == "r16":
        culprit, fields = EDGE_ABSOLUTE.name, (Ref(2, EDGE_ABSOLUTE.name, 0x80),)
        absolutes = (EDGE_ABSOLUTE,)
    else:
        culprit, fields = "lh_narrow", (Const(1, 0), SelfRel(1, -128))
    obj = base.objects[owner]
    item = DataItem("lh_narrow", Binding.GLOBAL, ".data.lh_narrow", 1, fields)
    obj = replace(obj, sections=(*obj.sections, Section(".data.lh_narrow", SectionKind.DATA, 1)),
                  data=(*obj.data, item), absolutes=(*obj.absolutes, *absolutes))
    objects = (*base.objects[:owner], obj, *base.objects[owner + 1:])
    return replace(base, objects=objects, error=ErrorKind.OVERFLOW, culprit=culprit,
                   culprit_object=obj.name)


@st.composite
def i386_error_programs(draw: st.DrawFn) -> Program:
    """fuzz.strategies.error_programs for i386: undefined and duplicate symbols as drawn; an
    overflow is `narrow_overflow`'s, since i386's 32-bit fields wrap."""
    program = draw(error_programs())
    if program.error is not ErrorKind.OVERFLOW:
        return program
    base = draw(programs())
    owner = draw(st.integers(0, len(base.objects) - 1))
    return narrow_overflow(base, owner, draw(st.sampled_from(NARROW_OVERFLOWS)))
