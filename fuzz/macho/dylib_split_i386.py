"""The dylib split (fuzz/macho/dylib_split.py) for Mach-O i386: a drawn model in the i386
subset, part of its objects linked `-dylib -arch i386` into `liblhsplit.dylib`.

What i386 adds: its code holds absolute addresses (`movl $_x, %eax`, stubs' `jmp *abs32`),
which a dylib keeps as REBASE_TYPE_TEXT_ABSOLUTE32 rebases of `__TEXT`, and its data may
hold 1- and 2-byte absolute fields, which no rebase or bind fixes: an object with such a
field, and whatever defines its target, stay in the executable (which is not slid).
A cross-module reference goes through a non-lazy pointer (the model's GOT); the entry
exits through the system call or libSystem's exit, as the i386 pipeline draws it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import reject
from hypothesis import strategies as st

from linker import link

from ..model import AddrVia, Call, Program, Ref, walk_steps
from .assemble_i386 import CALL_FORMS, REF_FORMS, SELF_FORMS, Choices32, assemble_i386
from .dylib_split import INSTALL_NAME, cross_names, outside_references, reach_across, split
from .emit_macho_i386 import write_macho_i386
from .lower_i386 import START, MachoLowerer386
from .pipeline import LIBSYSTEM_TBD
from .pipeline_i386 import ENTRY, TARGET, _pick, exits_through_libsystem
from .strategies_i386 import macho_i386_cases

VERSION = (0x000A0900, 0x000B0000)  # LC_MAIN (10.8 and later)
_COUNT = {"ref": len(REF_FORMS), "call": len(CALL_FORMS), "self": len(SELF_FORMS)}


@dataclass(frozen=True)
class DylibCase386:
    program: Program  # in the i386 subset, cross-module references through pointers
    variant: int
    in_dylib: frozenset[int]

    @property
    def exit_call(self) -> bool:
        return exits_through_libsystem(self.variant)


def _narrow_targets(program: Program, index: int) -> set[str]:
    """What object `index` holds absolute fields narrower than a pointer of (absolute
    symbols too: defined in the other image, one would be an import, which a narrow
    field cannot be bound to)."""
    return {f.target for d in program.objects[index].data for f in d.fields
            if isinstance(f, Ref) and f.width < 4}


def split_i386(program: Program, wanted: frozenset[int]) -> frozenset[int]:
    """split(), keeping in the executable every object with a narrow absolute field and
    every object defining what such a field points at (only the executable stays put)."""
    narrow = set().union(*(_narrow_targets(program, i) for i in range(len(program.objects))))
    return split(program, frozenset(
        i for i in wanted if not _narrow_targets(program, i)
        and not {n for n in narrow if n in _defined(program, i)}))


def _defined(program: Program, index: int) -> set[str]:
    obj = program.objects[index]
    return ({f.name for f in obj.functions} | {d.name for d in obj.data}
            | {a.name for a in obj.absolutes})


@st.composite
def dylib_cases_i386(draw: st.DrawFn) -> DylibCase386:
    case = draw(macho_i386_cases().filter(lambda c: len(c.program.objects) > 1))
    count = len(case.program.objects)
    wanted = draw(st.sets(st.integers(1, count - 1), min_size=1))
    in_dylib = split_i386(case.program, frozenset(wanted)) or split_i386(
        case.program, frozenset(range(1, count)))
    if not in_dylib:
        reject()
    return DylibCase386(reach_across(case.program, in_dylib), case.variant, in_dylib)


def _choices(variant: int, owner: int, offered: set[str]) -> Choices32:
    """fuzz.macho.pipeline_i386's choices, without N_PEXT on what the other module needs."""
    return Choices32(
        form=lambda kind, key: _pick(variant, owner, kind, key) % _COUNT[kind],
        private_extern=lambda name: (name not in offered and name != START
                                     and _pick(variant, "pext", name) % 4 == 0),
        weak_ref=lambda name: _pick(variant, owner, "wr", name) % 4 == 0,
        jump_table=lambda name: _pick(variant, owner, "jt", name) % 3 == 0,
    )


def write_objects_i386(case: DylibCase386, directory: Path) -> tuple[list[Path], list[Path]]:
    """(the executable's objects, the dylib's objects): our i386 MH_OBJECT writer."""
    directory.mkdir(parents=True, exist_ok=True)
    lowerer = MachoLowerer386(case.program, exit_call=case.exit_call)
    offered = cross_names(case.program, case.in_dylib)
    exe: list[Path] = []
    dylib: list[Path] = []
    for i in range(len(case.program.objects)):
        obj = lowerer.object(i)
        path = directory / f"{obj.name}.o"
        path.write_bytes(write_macho_i386(assemble_i386(obj, _choices(case.variant, i,
                                                                      offered))))
        (dylib if i in case.in_dylib else exe).append(path)
    return exe, dylib


def link_dylib_i386(objects: Sequence[Path], stubs: Sequence[Path], output: Path) -> None:
    link([*map(str, objects), *map(str, stubs), str(LIBSYSTEM_TBD)], output, target=TARGET,
         platform_version=VERSION, macho_options={
             "output_kind": "dylib", "install_name": INSTALL_NAME,
             "undefined_dynamic_lookup": True})


def link_executable_i386(objects: Sequence[Path], library: Path, stubs: Sequence[Path],
                         output: Path) -> None:
    link([*map(str, objects), str(library), *map(str, stubs), str(LIBSYSTEM_TBD)], output,
         target=TARGET, entry=ENTRY, platform_version=VERSION)


def describe_i386(case: DylibCase386) -> set[str]:
    """Coverage labels (fuzz/inventory.py): a dylib whose code holds its own addresses
    (absolute addressing, or a stub's `jmp *abs32` for a call leaving the dylib: both
    text rebases), and one that reaches the executable by flat lookup."""
    out = {"macho-i386-dylib:split"}
    absolute = (AddrVia.ABS_S32, AddrVia.ABS_U32)
    far = cross_names(case.program, case.in_dylib)
    for i in case.in_dylib:
        obj = case.program.objects[i]
        outside = outside_references(obj)
        steps = [s for fn in obj.functions for s in walk_steps(fn.steps)]
        if any(getattr(s, "via", None) in absolute for s in steps) or any(
                isinstance(s, Call) and s.target in outside for s in steps):
            out.add("macho-i386-dylib:text-rebase")
        if outside & far:
            out.add("macho-i386-dylib:flat-lookup")
    return out


def dylib_sample_i386(variant: int = 0) -> DylibCase386:
    """The i386 sample with its objects 3 and 4 in the dylib: code that holds its own
    addresses (text rebases) and reaches the executable by flat lookup, every run."""
    from .samples_i386 import MACHO_I386_SAMPLE
    in_dylib = split_i386(MACHO_I386_SAMPLE, frozenset({3, 4}))
    assert in_dylib == {3, 4}, in_dylib
    return DylibCase386(reach_across(MACHO_I386_SAMPLE, in_dylib), variant, in_dylib)
