"""The part of the program model Mach-O i386 can express, as a mapping of any model into it.

i386 Mach-O keeps more of the model than x86-64 Mach-O: the image sits below 4 GiB, so
absolute addressing in code stays (VANILLA entries), 1-, 2- and 4-byte absolute fields stay,
pc-relative data of every width stays (a difference pair or a pc-relative VANILLA).  What it
lacks: COPY relocations and the GOT, and COMDAT groups.  So:

- imported data is always reached through a non-lazy pointer (AddrVia.GOT), never copied;
- GOT-base addressing (GOTOFF) becomes pc-relative (a difference from the pic base);
- a COMDAT function becomes a weak definition in every object that carried a copy.

8-byte fields are split into words by the lowering (fuzz.lower_i386's rule), and the choice
between a difference and a non-lazy pointer for one reference is the lowering's
(fuzz.macho.lower_i386); neither changes what the program does.  The mapped program is
still a `fuzz.model.Program`: `fuzz.semantics.outcome` predicts it.
"""

from __future__ import annotations

from dataclasses import replace

from .. import libtrace
from ..model import (
    AddrVia,
    Binding,
    CallTable,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Step,
    Store,
)


def _via(target: str, via: AddrVia) -> AddrVia:
    if target in libtrace.IMPORTS:
        return AddrVia.GOT
    return AddrVia.PC_REL if via is AddrVia.GOT_BASE else via


def _step(step: Step) -> Step:
    if isinstance(step, IfOdd):
        inner = _step(step.step)
        assert not isinstance(inner, IfOdd)
        return IfOdd(inner)
    if isinstance(step, CallTable):
        return replace(step, via=_via(step.table, step.via))
    if isinstance(step, Load | Store):
        return replace(step, via=_via(step.item, step.via))
    return step


def _function(fn: Function, comdat: set[str]) -> Function:
    binding = Binding.WEAK if fn.section in comdat else fn.binding
    return replace(fn, binding=binding, steps=tuple(_step(s) for s in fn.steps))


def _object(obj: ObjectModel) -> ObjectModel:
    comdat = {s.name for s in obj.sections if s.group is not None}
    return replace(obj, sections=tuple(replace(s, group=None) for s in obj.sections),
                   functions=tuple(_function(f, comdat) for f in obj.functions))


def macho_i386_subset(program: Program) -> Program:
    """`program` with every reference made in a way Mach-O i386 can express."""
    return replace(program, objects=tuple(_object(o) for o in program.objects))
