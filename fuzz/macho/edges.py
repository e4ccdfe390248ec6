"""Mach-O x86-64 SUBTRACTOR pairs at the edges of their fields, and the error models.

A `SelfRel` field (its own item's address + addend - the field's address) is written by our
assembler as X86_64_RELOC_SUBTRACTOR (minus a label at the field) + UNSIGNED (plus the item),
the constant `addend` in the field.  ld64 reads that constant sign-extended from the field's
width and checks a 4-byte result against the signed 32-bit range, so:

- in range, at the edges: 0x7fffffff (the field first in its item, constant 2**31 - 1) and
  -2**31 (the field 4 bytes in, constant 4 - 2**31); in an 8-byte field, -2**63 exactly;
- just past the edge: -2**31 - 1 (4 bytes in, constant 3 - 2**31), which the model says
  must fail (the positive side is not expressible: the constant itself would not fit).

The edge item is loaded by the program's main, so its values reach the trace through the
accumulator, and the field oracle reads every field.

Error models (fuzz.strategies.error_programs' undefined and duplicate symbols in the Mach-O
subset, and the SUBTRACTOR just past its edge): every linker mode must refuse in one line
naming the culprit (or the relocation type, for the overflow) and the object, leaving no
output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from ..model import (
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    ErrorKind,
    Field,
    Function,
    Load,
    Program,
    Section,
    SectionKind,
    SelfRel,
)
from ..strategies import error_programs, programs
from .samples import MACHO_SAMPLE
from .strategies import VARIANTS, MachoCase
from .subset import macho_subset

EDGE_ITEM, OVER_ITEM = "lh_diff_edge", "lh_diff_over"
EDGE_SECTION = ".data.lh_edge"
INT32_MAX, INT32_MIN, INT64_MIN = 2**31 - 1, -(2**31), -(2**63)

# (field, the value the link must give it)
EDGE_FIELDS: tuple[tuple[Field, int], ...] = (
    (SelfRel(4, INT32_MAX), INT32_MAX),  # offset 0
    (SelfRel(4, 4 + INT32_MIN), INT32_MIN),  # offset 4
    (SelfRel(8, 8 + INT64_MIN), INT64_MIN),  # offset 8
)
OVER_FIELDS: tuple[Field, ...] = (Const(4, 0), SelfRel(4, 3 + INT32_MIN))  # -2**31 - 1


def _with_item(program: Program, owner: int, item: DataItem, load: bool) -> Program:
    objs = list(program.objects)
    obj = objs[owner]
    objs[owner] = replace(obj, sections=(*obj.sections, Section(EDGE_SECTION, SectionKind.DATA,
                                                                8)),
                          data=(*obj.data, item))
    if load:  # the main reads every edge field (a global item: any object reaches it)
        at = next(n for n, o in enumerate(objs) if any(f.name == program.main
                                                       for f in o.functions))
        steps = tuple(Load(item.name, k, AddrVia.PC_REL) for k in range(len(item.fields)))
        objs[at] = replace(objs[at], functions=tuple(
            replace(f, steps=(*steps, *f.steps)) if f.name == program.main else f
            for f in objs[at].functions))
    return replace(program, objects=tuple(objs))


def with_subtractor_edges(program: Program, owner: int) -> Program:
    """`program` (in the Mach-O subset) with the in-range edge item in object `owner`."""
    item = DataItem(EDGE_ITEM, Binding.GLOBAL, EDGE_SECTION, 8, tuple(f for f, _ in EDGE_FIELDS))
    return _with_item(program, owner, item, True)


def subtractor_overflow(program: Program, owner: int) -> Program:
    """`program` with a 4-byte SUBTRACTOR one past the bottom of its range: an error model."""
    item = DataItem(OVER_ITEM, Binding.GLOBAL, EDGE_SECTION, 8, OVER_FIELDS)
    return replace(_with_item(program, owner, item, False), error=ErrorKind.OVERFLOW,
                   culprit=OVER_ITEM, culprit_object=program.objects[owner].name)


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
def _edge_program(draw: st.DrawFn) -> Program:
    program = macho_subset(draw(programs()))
    return with_subtractor_edges(program, draw(st.integers(0, len(program.objects) - 1)))


def edge_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, _edge_program(), VARIANTS)


@st.composite
def _error_program(draw: st.DrawFn) -> Program:
    program = draw(error_programs())
    if program.error is ErrorKind.OVERFLOW:
        base = macho_subset(draw(programs()))
        return subtractor_overflow(base, draw(st.integers(0, len(base.objects) - 1)))
    return macho_subset(program)


def macho_error_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, _error_program(), VARIANTS)


@dataclass(frozen=True)
class EdgeLabels:
    prefix: str = "macho"

    def __call__(self, program: Program) -> set[str]:
        """subtractor:edge:* for the edge item, error:* for an error model."""
        labels = set()
        items = {d.name: d for o in program.objects for d in o.data}
        if EDGE_ITEM in items:
            labels |= {f"{self.prefix}:subtractor:edge:32:max",
                       f"{self.prefix}:subtractor:edge:32:min",
                       f"{self.prefix}:subtractor:edge:64:min"}
        if program.error is not None:
            labels.add(f"{self.prefix}:error:{program.error.value}")
        if OVER_ITEM in items:
            labels.add(f"{self.prefix}:subtractor:edge:32:past_min")
        return labels


describe_edges = EdgeLabels()

EDGE_SAMPLE = MachoCase(with_subtractor_edges(MACHO_SAMPLE, 1), 1)
ERROR_SAMPLES = [MachoCase(subtractor_overflow(MACHO_SAMPLE, 2), 0),
                 MachoCase(undefined_model(MACHO_SAMPLE, 1), 1),
                 MachoCase(duplicate_model(MACHO_SAMPLE, 2), 2)]
