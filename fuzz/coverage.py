"""Hypothesis `event()`s describing what a drawn program exercises: relocation types, step
kinds and flavours, section kinds, bindings — so `--hypothesis-show-statistics` shows what a
run covered.  The same labels are counted over the whole session (`SESSION`): the properties
run their @given inside the test (to repeat it under the fuzz profile), where Hypothesis's
pytest plugin does not collect statistics, so fuzz/conftest.py prints this tally instead."""

from __future__ import annotations

from collections import Counter

from hypothesis import event

from .assemble_i386 import assemble_i386
from .assemble_x86 import assemble
from .lower_i386 import I386Choices, lower_i386
from .lower_x86 import lower
from .model import (
    AddrVia,
    Call,
    CallTable,
    CallVia,
    IfOdd,
    Load,
    Program,
    Ref,
    Store,
    walk_steps,
)


def describe(program: Program) -> set[str]:
    """The coverage labels of a program (a set: each is recorded once per example)."""
    labels: set[str] = set()
    for obj in program.objects:
        labels |= {f"section:{s.kind.value}{':comdat' if s.group else ''}" for s in obj.sections}
        labels |= {f"align:{s.align}" for s in obj.sections if s.align >= 256}
        labels |= {f"function:{f.binding.value}" for f in obj.functions}
        labels |= {f"data:{d.binding.value}:{'common' if d.section is None else 'section'}"
                   for d in obj.data}
        for f in obj.functions:
            labels |= {"step:if_odd" for s in f.steps if isinstance(s, IfOdd)}
            for s in walk_steps(f.steps):
                if isinstance(s, Call):
                    labels.add(f"call:{s.via.value}")
                elif isinstance(s, CallTable):
                    labels.add(f"call_table:{s.via.value}")
                elif isinstance(s, Load):
                    labels.add(f"load:{s.via.value}")
                elif isinstance(s, Store):
                    labels.add(f"store:{s.via.value}")
    commons = [d.name for o in program.objects for d in o.data if d.section is None]
    defined = {d.name for o in program.objects for d in o.data if d.section is not None}
    if len(commons) != len(set(commons)):
        labels.add("data:common:merged")
    if set(commons) & defined:
        labels.add("data:common:overridden_by_definition")
    statics = [f.name for o in program.objects for f in o.functions
               if f.binding.value == "local"]
    if len(statics) != len(set(statics)):
        labels.add("function:local:same_name_in_two_objects")
    for image in map(assemble, lower(program)):
        for sec in image.sections:
            for r in sec.relocs:
                labels.add(f"reloc:{r.type}{':section' if r.section_symbol else ''}")
    if program.error is not None:
        labels.add(f"error:{program.error.value}")
    return labels


def describe_i386(program: Program, no_base_objects: frozenset[int]) -> set[str]:
    """The i386 labels: relocation types of our ELF32 objects, and the no-base GOT forms."""
    labels = {"i386"}
    for image in map(assemble_i386, lower_i386(program, I386Choices(no_base_objects))):
        for sec in image.sections:
            labels |= {f"i386:reloc:{r.type}{':section' if r.section_symbol else ''}"
                       for r in sec.relocs}
    uses_got = any(isinstance(s, Call) and s.via is CallVia.GOT_INDIRECT
                   or isinstance(s, Load | Store | CallTable) and s.via is AddrVia.GOT
                   for i in no_base_objects for f in program.objects[i].functions
                   if not any(sec.group for sec in program.objects[i].sections
                              if sec.name == f.section)  # COMDAT code stays based
                   for s in walk_steps(f.steps))
    if uses_got:
        labels.add("i386:got32x:no_base")
    absolute = {a.name: a.value for o in program.objects for a in o.absolutes}
    if any(isinstance(f, Ref) and f.width == 2 and absolute.get(f.target, 0) + f.addend > 0x7FFF
           for o in program.objects for d in o.data for f in d.fields):
        labels.add("i386:reloc:R_386_16:above_signed_limit")
    return labels


SESSION: Counter[str] = Counter()


def record(program: Program, extra: set[str] | frozenset[str] = frozenset()) -> None:
    """Count `program`'s labels (plus `extra`, e.g. describe_i386's) in the session tally."""
    labels = describe(program) | extra
    SESSION.update(labels)
    SESSION["examples"] += 1
    for label in sorted(labels):
        event(label)
