"""Which program models may be linked as a position-independent executable (x86-64 ELF).

A PIE is loaded at a base chosen at run time, so an address may be written only where ld.so
can rebase it: pc-relative code, GOT slots, and pointer-sized words in writable data.  The
model's forms that are not PIE-legal, which every linker refuses (or would need a text
relocation for), are:

- absolute 32-bit addressing in code (`AddrVia.ABS_S32`, `AddrVia.ABS_U32`: R_X86_64_32S
  and R_X86_64_32);
- a data field narrower than a pointer holding an address (R_X86_64_32/16/8 of a `Ref`
  whose target is not an absolute symbol), and a pointer-sized one in `.rodata`;
- a pc-relative reference (`lea w(%rip)`, a DIRECT `call` with R_X86_64_PC32) to a weak
  symbol nothing defines: its address 0 does not move with the code.

`pie_legal` is conservative (a weak reference counts as possibly undefined), so a legal
program links as a PIE with every linker; the others are linked without -pie.  `pie_form`
rewrites absolute addressing in code as pc-relative (the address, and so the model's
outcome, is the same), which makes most drawn programs PIE-legal.
"""

from __future__ import annotations

from dataclasses import replace

from .model import (
    AddrMask,
    AddrNonNull,
    AddrVia,
    Call,
    CallTable,
    CallVia,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    SectionKind,
    Step,
    Store,
    walk_steps,
)

_ABSOLUTE_VIA = (AddrVia.ABS_S32, AddrVia.ABS_U32)


def pie_legal(program: Program) -> bool:
    return _legal(program, absolute_code=False)


def pie_form_legal(program: Program) -> bool:
    """pie_legal(pie_form(program)), without making the PIE form: its code has no absolute
    addressing, and what was absolute is pc-relative (the properties ask this of every
    drawn program, and link a third of them as PIEs)."""
    return _legal(program, absolute_code=True)


def _legal(program: Program, absolute_code: bool) -> bool:
    """Whether `program` is PIE-legal, its absolute addressing in code read as pc-relative
    when `absolute_code` (as pie_form rewrites it)."""
    absolutes = {a.name for obj in program.objects for a in obj.absolutes}
    defined = {f.name for obj in program.objects for f in obj.functions} | {
        d.name for obj in program.objects for d in obj.data} | absolutes
    maybe_zero = {n for obj in program.objects for n in obj.weak_refs} - defined
    pc_relative = (AddrVia.PC_REL, *_ABSOLUTE_VIA) if absolute_code else (AddrVia.PC_REL,)
    for obj in program.objects:
        kinds = {s.name: s.kind for s in obj.sections}
        for item in obj.data:
            readonly = item.section is not None and kinds.get(item.section) is SectionKind.RODATA
            for f in item.fields:
                if isinstance(f, Ref) and f.target not in absolutes and (
                        f.width < 8 or readonly):
                    return False
        for func in obj.functions:
            for step in walk_steps(func.steps):
                if not absolute_code and isinstance(
                        step, (Load, Store, CallTable, AddrMask, AddrNonNull)) and \
                        step.via in _ABSOLUTE_VIA:
                    return False
                if isinstance(step, (AddrMask, AddrNonNull)) and step.via in pc_relative \
                        and step.target in maybe_zero:
                    return False
                if isinstance(step, Call) and step.via is CallVia.DIRECT \
                        and step.target in maybe_zero:
                    return False
    return True


def pie_form(program: Program) -> Program:
    """`program` with every ABS_S32/ABS_U32 access made pc-relative (the records nothing
    changes in are the program's own: they are immutable)."""
    objects = tuple(_object_form(obj) for obj in program.objects)
    if all(new is old for new, old in zip(objects, program.objects)):
        return program
    return replace(program, objects=objects)


def _object_form(obj: ObjectModel) -> ObjectModel:
    functions = tuple(_pc_relative(f) for f in obj.functions)
    if all(new is old for new, old in zip(functions, obj.functions)):
        return obj
    return replace(obj, functions=functions)


def _pc_relative(func: Function) -> Function:
    steps = tuple(_step(s) for s in func.steps)
    if all(new is old for new, old in zip(steps, func.steps)):
        return func
    return replace(func, steps=steps)


def _step(step: Step) -> Step:
    if isinstance(step, IfOdd):
        inner = _step(step.step)
        assert not isinstance(inner, IfOdd)
        return step if inner is step.step else IfOdd(inner)
    if isinstance(step, (Load, Store, CallTable, AddrMask, AddrNonNull)) and \
            step.via in _ABSOLUTE_VIA:
        return replace(step, via=AddrVia.PC_REL)
    return step
