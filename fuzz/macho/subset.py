"""The part of the program model Mach-O x86-64 can express, as a mapping of any model into it.

Mach-O has no 8/16/32-bit absolute fields, no absolute addressing in code (the image sits
above 4 GiB), no GOT-base-relative forms, no COPY relocations and no COMDAT groups.  So:

- absolute and GOT-base addressing become pc-relative (GOT-offset becomes a GOT load);
- imported data is always reached through its GOT slot;
- pointer and absolute-symbol fields become 8 bytes wide; pc-relative fields of 1 or 2
  bytes become 4 bytes wide (a SUBTRACTOR pair is 4 or 8 bytes);
- a COMDAT function becomes a weak definition in every object that carried a copy (the copies
  are identical, so whichever wins behaves the same).

The mapped program is still a `fuzz.model.Program`: `fuzz.semantics.outcome` predicts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .. import libtrace
from ..model import (
    AddrVia,
    Binding,
    CallTable,
    DataItem,
    Field,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    SelfRel,
    Step,
    Store,
)

_ADDR_VIA = {AddrVia.PC_REL: AddrVia.PC_REL, AddrVia.ABS_S32: AddrVia.PC_REL,
             AddrVia.ABS_U32: AddrVia.PC_REL, AddrVia.GOT_BASE: AddrVia.PC_REL,
             AddrVia.GOT: AddrVia.GOT, AddrVia.GOT_OFFSET: AddrVia.GOT}


def _via(target: str, via: AddrVia) -> AddrVia:
    return AddrVia.GOT if target in libtrace.IMPORTS else _ADDR_VIA[via]


def macho_subset(program: Program) -> Program:
    """`program` with every reference made in a way Mach-O x86-64 can express."""
    return map_program(program, _via, _field)


Via = Callable[[str, AddrVia], AddrVia]  # a reference's addressing, by its target


def map_program(program: Program, via: Via, field: Callable[[Field], Field] | None = None
                ) -> Program:
    """`program` without COMDAT groups (Mach-O has none: a COMDAT function becomes a weak
    definition in every object that carried a copy), each step's addressing mapped by `via`
    and, given `field`, each data field by it.  Shared by the x86-64 and i386 subsets."""
    return replace(program, objects=tuple(_object(o, via, field) for o in program.objects))


def _step(step: Step, via: Via) -> Step:
    if isinstance(step, IfOdd):
        inner = _step(step.step, via)
        assert not isinstance(inner, IfOdd)
        return IfOdd(inner)
    if isinstance(step, CallTable):
        return replace(step, via=via(step.table, step.via))
    if isinstance(step, Load | Store):
        return replace(step, via=via(step.item, step.via))
    return step


def _field(f: Field) -> Field:
    if isinstance(f, Ref):
        return replace(f, width=8)
    if isinstance(f, SelfRel) and f.width < 4:
        return replace(f, width=4)
    return f


def _function(fn: Function, comdat: set[str], via: Via) -> Function:
    binding = Binding.WEAK if fn.section in comdat else fn.binding
    return replace(fn, binding=binding, steps=tuple(_step(s, via) for s in fn.steps))


def _object(obj: ObjectModel, via: Via, field: Callable[[Field], Field] | None) -> ObjectModel:
    comdat = {s.name for s in obj.sections if s.group is not None}
    mapped = replace(obj, sections=tuple(replace(s, group=None) for s in obj.sections),
                     functions=tuple(_function(f, comdat, via) for f in obj.functions))
    if field is None:
        return mapped
    return replace(mapped, data=tuple(DataItem(d.name, d.binding, d.section, d.align,
                                               tuple(field(f) for f in d.fields))
                                      for d in obj.data))


def has_import_pointers(program: Program) -> bool:
    """True when a data item holds the address of an import (a bind in __DATA): classic
    mode's programs have none."""
    return any(isinstance(f, Ref) and f.target in libtrace.IMPORTS
               for o in program.objects for d in o.data for f in d.fields)
