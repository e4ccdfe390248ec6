"""Mach-O archives (x86_64 and i386) and Mach-O x86_64 error models.

Archives: a drawn Mach-O model with the objects after the first moved into one archive
(`llvm-ar-14 rcs`, a BSD-format archive with its symbol table).  The model's archive rules
(fuzz.semantics.linked_objects) then say which members a link takes and so what the program
must do; only members on which ELF's and ld64's rules agree are archived: none with a
COMMON, none defining a name that is COMMON elsewhere (GNU ld pulls a member to initialise
a COMMON, ld64 does not), none defining a name referenced weakly (ld64 lets a weak
reference pull a member, GNU ld does not), and not the one defining the main function (the
lowering's `_start` calls it: the model's references do not show it).  A member nothing needs stays out, and its code
with it.

Errors: fuzz.strategies.error_programs in the Mach-O x86_64 subset, undefined and duplicate
symbols (the overflow models put a function's address in an 8-bit field, which Mach-O
x86_64 cannot express): the link must fail naming the symbol and the object, in one line,
leaving no output.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

from ..model import (
    Binding,
    Call,
    CallVia,
    ErrorKind,
    Function,
    ObjectModel,
    Program,
    Section,
    SectionKind,
)
from ..semantics import Outcome, definitions, linked_objects, references
from ..strategies import error_programs
from . import judge, judge_i386
from .strategies import VARIANTS
from .subset import macho_subset


def archivable(program: Program) -> tuple[int, ...]:
    """The objects after the first that may go into the archive (see the module's rules)."""
    objs = program.objects
    commons = {d.name for o in objs for d in o.data if d.section is None}
    weak = set().union(*(set(o.weak_refs) & references(o) for o in objs))
    return tuple(i for i in range(1, len(objs))
                 if not any(d.section is None for d in objs[i].data)
                 and not definitions(objs[i]) & (commons | weak | {program.main}))


def archived(program: Program) -> Program:
    """`program` with its archivable objects in one archive (unchanged when none is)."""
    members = archivable(program)
    return replace(program, archives=(members,), grouped=False) if members else program


def package(program: Program, objects: list[Path], directory: Path) -> tuple[list[Path], list[Path]]:
    """(the link's inputs: plain objects then the archive, the objects a link takes)."""
    members = {i for a in program.archives for i in a}
    inputs = [o for i, o in enumerate(objects) if i not in members]
    if members:
        archive = directory / "libreach.a"
        archive.unlink(missing_ok=True)
        made = subprocess.run(["llvm-ar-14", "rcs", str(archive),
                               *(str(objects[i]) for i in sorted(members))],
                              check=False, capture_output=True, text=True)
        if made.returncode:
            raise RuntimeError(f"llvm-ar-14 failed: {made.stderr.strip()}")
        inputs.append(archive)
    taken = linked_objects(program)
    return inputs, [o for i, o in enumerate(objects) if i in taken]


def left_out_names(program: Program) -> set[str]:
    """Names only archive members that a link leaves out define (Mach-O spelling, `_name`):
    none may be in the output."""
    taken = linked_objects(program)
    members = {i for a in program.archives for i in a}
    kept = set().union(*(definitions(program.objects[i]) for i in taken))
    out = set().union(*(definitions(program.objects[i]) for i in members - taken)) - kept
    return {"_" + name for name in out}


def loaded_anyway(exe: Path, program: Program) -> list[str]:
    """The left-out members' names that `exe` defines anyway (a member loaded unneeded)."""
    names = left_out_names(program)
    if not names:
        return []
    listed = subprocess.run(["llvm-nm-14", "--defined-only", "-j", str(exe)], check=True,
                            capture_output=True, text=True).stdout.split()
    found = sorted(names & set(listed))
    return [f"archive member left out by the model loaded anyway: defines {found}"] if found \
        else []


def member_pulls_member(program: Program) -> bool:
    """Is some member taken only because another member needs it (a second round)?"""
    members = {i for a in program.archives for i in a}
    plain = [i for i in range(len(program.objects)) if i not in members]
    wanted = set().union(*(references(program.objects[i]) for i in plain))
    return any(not definitions(program.objects[m]) & wanted
               for m in linked_objects(program) & members)


def describe_archive(program: Program, prefix: str) -> set[str]:
    members = {i for a in program.archives for i in a}
    if not members:
        return set()
    taken = linked_objects(program)
    labels = {f"{prefix}:archive"}
    if members & taken:
        labels.add(f"{prefix}:archive:member_pulled")
    if members - taken:
        labels.add(f"{prefix}:archive:member_left_out")
    if member_pulls_member(program):
        labels.add(f"{prefix}:archive:member_pulls_member")
    return labels


def _chain_object(name: str, function: str, callee: str | None, seed: int) -> ObjectModel:
    steps = (Call(callee, CallVia.DIRECT),) if callee else ()
    return ObjectModel(name, (Section(".text", SectionKind.TEXT, 16),),
                       functions=(Function(function, Binding.GLOBAL, ".text", 16, seed, steps),))


# lh_main (o0) calls lh_f2 (o2), which calls lh_f1 (o1): archived in member order, o1 comes
# before the member that needs it, so only a second round over the archive takes it (drawn
# programs seldom have such a member).
CHAIN_SAMPLE = archived(macho_subset(Program(
    objects=(_chain_object("o0", "lh_main", "lh_f2", 1), _chain_object("o1", "lh_f1", None, 2),
             _chain_object("o2", "lh_f2", "lh_f1", 3)),
    libraries=())))


def judged(exe: Path, taken: list[Path], program: Program, expected: Outcome,
            exit_call: bool | None = None) -> list[str]:
    """judge.everything but the debug map, whose N_OSO names an archive member as
    `lib.a(o1.o)` where the judge expects the object's own path; and no member the model
    leaves out may have been loaded."""
    if exit_call is None:
        runs = [*judge.emulated(exe, expected, "lazy"), *judge.emulated(exe, expected, "now")]
    else:
        runs = [*judge_i386.emulated(exe, expected, "lazy", exit_call),
                *judge_i386.emulated(exe, expected, "now", exit_call)]
    return [*judge.structure(exe), *judge.fields(exe, taken), *runs,
            *loaded_anyway(exe, program)]


@dataclass(frozen=True)
class MachoErrorCase:
    program: Program
    variant: int


@st.composite
def macho_error_cases(draw: st.DrawFn) -> MachoErrorCase:
    program = draw(error_programs().filter(lambda p: p.error is not ErrorKind.OVERFLOW))
    return MachoErrorCase(macho_subset(program), draw(VARIANTS))
