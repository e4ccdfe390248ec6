"""What the i386 properties draw: a valid program (fuzz.strategies.programs, which needs no
i386 filter: see fuzz.lower_i386), the objects whose GOT references use no base register,
and how linkharness is asked to link."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from .lower_i386 import I386Choices
from .model import Program, Ref
from .pipeline import LinkOptions, link_options
from .samples_i386 import SAMPLE_I386, SAMPLE_I386_CHOICES
from .strategies import programs


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
