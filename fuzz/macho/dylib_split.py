"""Part of a Mach-O program in a dylib: a drawn model (the Mach-O x86-64 subset) whose
objects are split between an executable and one dylib, `liblhsplit.dylib`.

The model still judges: with two-level namespaces a split program behaves as the single
link does as long as every name has its definitions in one module, which the split keeps:

- objects that define the same global name (weak copies of a COMDAT function, COMMON
  declarations) stay together; the object with the entry (`start`, object 0) stays in the
  executable, and names that a libtrace library exports too stay in the executable (which
  of the two a module would bind to depends on the link order); absolute symbols cross
  (exported with EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE, bound without the slide);
- a reference to the other module goes through the GOT (Load, Store, table calls,
  address tests): a pc-relative reference cannot reach another image.  Calls go through
  stubs, pointers in data become binds with their addends;
- the dylib reaches the executable's names through `-undefined dynamic_lookup` (flat
  lookup at load, the executable first), as Python extensions reach the interpreter;
- a name one module offers the other is never private extern (N_PEXT).

`DylibCase.program` is the model with those GOT rewrites, so `fuzz.semantics.outcome`
predicts the split program."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

from linker import link

from .. import libtrace
from ..model import (
    AddrMask,
    AddrNonNull,
    AddrVia,
    Binding,
    Call,
    CallTable,
    IfOdd,
    Load,
    LoadThrough,
    ObjectModel,
    Program,
    Ref,
    Step,
    Store,
    walk_steps,
)
from .assemble import Choices, assemble
from .emit_macho import write_macho
from .lower import MachoLowerer
from .pipeline import ENTRY, LIBSYSTEM_TBD, _pick, store_forms
from .strategies import VARIANTS, macho_cases

LIBRARY = "liblhsplit.dylib"
INSTALL_NAME = f"@rpath/{LIBRARY}"


@dataclass(frozen=True)
class DylibCase:
    program: Program  # in the Mach-O subset, cross-module references through the GOT
    variant: int
    in_dylib: frozenset[int]  # object indices linked into the dylib

    def module(self, index: int) -> str:
        return "dylib" if index in self.in_dylib else "exe"

    @property
    def chained(self) -> bool:
        """Whether linkharness writes both images with chained fixups (-fixup_chains)
        rather than dyld-info opcodes: half of the examples."""
        return _pick(self.variant, "chained fixups") % 2 == 1


def _step_targets(step: Step) -> list[str]:
    s = step.step if isinstance(step, IfOdd) else step
    if isinstance(s, Call):
        return [s.target]
    if isinstance(s, CallTable | LoadThrough):
        return [s.table]
    if isinstance(s, Load | Store):
        return [s.item]
    if isinstance(s, AddrMask | AddrNonNull):
        return [s.target]
    return []


def defined_names(obj: ObjectModel) -> set[str]:
    """What the object defines for others to reach (locals excluded)."""
    out = {f.name for f in obj.functions if f.binding is not Binding.LOCAL}
    out |= {d.name for d in obj.data if d.binding is not Binding.LOCAL}
    return out | {a.name for a in obj.absolutes}


def own_names(obj: ObjectModel) -> set[str]:
    """Every name the object defines, locals included (its references to them stay in)."""
    return ({f.name for f in obj.functions} | {d.name for d in obj.data}
            | {a.name for a in obj.absolutes})


def outside_references(obj: ObjectModel) -> set[str]:
    """Names the object references and does not define itself."""
    refs = {t for fn in obj.functions for step in fn.steps for t in _step_targets(step)}
    refs |= {f.target for d in obj.data for f in d.fields if isinstance(f, Ref)}
    refs |= set(obj.weak_refs)
    return refs - own_names(obj)


def references_of(program: Program, index: int) -> set[str]:
    """outside_references, plus the program's main for object 0 (its `start` calls it)."""
    obj = program.objects[index]
    extra = {program.main} if index == 0 else set()
    return outside_references(obj) | (extra - own_names(obj))


def split(program: Program, wanted: frozenset[int]) -> frozenset[int]:
    """The largest part of `wanted` that can go into the dylib (rules in the docstring)."""
    objs = program.objects
    definers: dict[str, set[int]] = {}
    for i, obj in enumerate(objs):
        for name in defined_names(obj):
            definers.setdefault(name, set()).add(i)
    shadowing = {n for n in definers if n in libtrace.IMPORTS}
    dylib = {i for i in wanted if 0 < i < len(objs)}
    for i in list(dylib):
        if references_of(program, i) & shadowing or defined_names(objs[i]) & shadowing:
            dylib.discard(i)
    groups = list(definers.values())  # the definers of a name stay in one module
    changed = True
    while changed:  # any member left in the executable pulls the rest of its group out
        changed = False
        for users in groups:
            if users & dylib and users - dylib:
                dylib -= users
                changed = True
    return frozenset(dylib)


def cross_names(program: Program, in_dylib: frozenset[int]) -> set[str]:
    """Names one module references and only the other defines."""
    definers: dict[str, set[int]] = {}
    for i, obj in enumerate(program.objects):
        for name in defined_names(obj):
            definers.setdefault(name, set()).add(i)
    out = set()
    for i in range(len(program.objects)):
        for name in references_of(program, i):
            users = definers.get(name, set())
            if users and all((u in in_dylib) != (i in in_dylib) for u in users):
                out.add(name)
    return out


def _through_got(step: Step, far: set[str]) -> Step:
    if isinstance(step, IfOdd):
        inner = _through_got(step.step, far)
        assert not isinstance(inner, IfOdd)
        return IfOdd(inner)
    if isinstance(step, CallTable | Load | Store | AddrMask | AddrNonNull) \
            and _step_targets(step)[0] in far:
        return replace(step, via=AddrVia.GOT)
    return step


def reach_across(program: Program, in_dylib: frozenset[int]) -> Program:
    """`program` with every reference to the other module made through the GOT."""
    far = cross_names(program, in_dylib)
    objects = []
    for obj in program.objects:
        mine = far & outside_references(obj)
        functions = tuple(replace(fn, steps=tuple(_through_got(s, mine) for s in fn.steps))
                          for fn in obj.functions)
        objects.append(replace(obj, functions=functions))
    return replace(program, objects=tuple(objects))


@st.composite
def dylib_cases(draw: st.DrawFn) -> DylibCase:
    """A Mach-O case with at least one object in the dylib."""
    case = draw(macho_cases().filter(lambda c: len(c.program.objects) > 1))
    count = len(case.program.objects)
    wanted = draw(st.sets(st.integers(1, count - 1), min_size=1))
    in_dylib = split(case.program, frozenset(wanted))
    if not in_dylib:  # fall back to any object that can go (the draw is still one case)
        in_dylib = split(case.program, frozenset(range(1, count)))
    if not in_dylib:
        from hypothesis import reject
        reject()
    return DylibCase(reach_across(case.program, in_dylib), case.variant, in_dylib)


def cases() -> st.SearchStrategy[DylibCase]:
    return dylib_cases()


def sample() -> DylibCase:
    """The fixed example: fuzz/macho/samples_dylib.py's program, o1 and o3 in the dylib."""
    from .samples_dylib import DYLIB_SAMPLE, DYLIB_SAMPLE_OBJECTS
    in_dylib = split(DYLIB_SAMPLE, DYLIB_SAMPLE_OBJECTS)
    assert in_dylib == DYLIB_SAMPLE_OBJECTS, in_dylib
    return DylibCase(reach_across(DYLIB_SAMPLE, in_dylib), 0, in_dylib)


def _choices(variant: int, owner: int, offered: set[str]) -> Choices:
    """fuzz.macho.pipeline's choices, without N_PEXT on what the other module needs."""
    return Choices(
        non_extern=lambda name: _pick(variant, owner, "ne", name) % 2 == 0,
        private_extern=lambda name: (name not in offered and name != "start"
                                     and _pick(variant, "pext", name) % 4 == 0),
        weak_ref=lambda name: _pick(variant, owner, "wr", name) % 4 == 0,
    )


def write_objects(case: DylibCase, directory: Path) -> tuple[list[Path], list[Path]]:
    """(the executable's objects, the dylib's objects), written by our MH_OBJECT writer."""
    directory.mkdir(parents=True, exist_ok=True)
    program = case.program
    lowerer = MachoLowerer(program, store_forms(program, case.variant))
    offered = cross_names(program, case.in_dylib)
    exe: list[Path] = []
    dylib: list[Path] = []
    for i in range(len(program.objects)):
        obj = lowerer.object(i)
        path = directory / f"{obj.name}.o"
        path.write_bytes(write_macho(assemble(obj, _choices(case.variant, i, offered))))
        (dylib if i in case.in_dylib else exe).append(path)
    return exe, dylib


def link_dylib(objects: Sequence[Path], stubs: Sequence[Path], output: Path,
               chained: bool = False) -> None:
    link([*map(str, objects), *map(str, stubs), str(LIBSYSTEM_TBD)], output,
         target="macho-x86_64", fixup_chains=chained, macho_options={
             "output_kind": "dylib", "install_name": INSTALL_NAME,
             "undefined_dynamic_lookup": True})


def link_executable(objects: Sequence[Path], library: Path, stubs: Sequence[Path],
                    output: Path, chained: bool = False) -> None:
    link([*map(str, objects), str(library), *map(str, stubs), str(LIBSYSTEM_TBD)], output,
         target="macho-x86_64", entry=ENTRY, fixup_chains=chained)


LLD_DYLIB = ["-dylib", "-install_name", INSTALL_NAME, "-undefined", "dynamic_lookup"]


def has_cross_data(case: DylibCase) -> bool:
    """Whether a data item holds a pointer to the other module (a bind in __DATA)."""
    far = cross_names(case.program, case.in_dylib)
    return any(isinstance(f, Ref) and f.target in far
               for o in case.program.objects for d in o.data for f in d.fields)


def dylib_points_at_absolutes(case: DylibCase) -> bool:
    """Whether a dylib object's data holds a pointer to an absolute symbol: ld64.lld-14
    rebases such a pointer in a dylib (the value then moves with the slide, which an
    absolute symbol does not), so the crosswise property leaves those out of lld's dylibs."""
    absolute = {a.name for o in case.program.objects for a in o.absolutes}
    return any(isinstance(f, Ref) and f.target in absolute
               for i in case.in_dylib for d in case.program.objects[i].data for f in d.fields)


def describe(case: DylibCase) -> set[str]:
    """Coverage labels of the split (fuzz/inventory.py's macho dylib rows)."""
    far = cross_names(case.program, case.in_dylib)
    steps = [s for o in case.program.objects for fn in o.functions
             for s in walk_steps(fn.steps)]
    out = {"macho-dylib:split",
           "macho-dylib:chained" if case.chained else "macho-dylib:opcodes"}
    if has_cross_data(case):
        out.add("macho-dylib:bind-in-data")
    if any(isinstance(s, Call) and s.target in far for s in steps):
        out.add("macho-dylib:call")
    if any(not isinstance(s, Call) and _step_targets(s) and _step_targets(s)[0] in far
           for s in steps):
        out.add("macho-dylib:got")
    if {n for i in case.in_dylib for n in outside_references(case.program.objects[i])} & far:
        out.add("macho-dylib:flat-lookup")
    return out


__all__ = [
    "VARIANTS",
    "DylibCase",
    "cases",
    "describe",
    "link_dylib",
    "link_executable",
    "sample",
    "split",
    "write_objects",
]
