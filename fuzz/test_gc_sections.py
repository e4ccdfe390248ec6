"""Property (gc): `--gc-sections` removes what nothing reaches and nothing else.

Each drawn program gets one more object, drawn here: unreferenced sections (code, data,
read-only data, and code marked SHF_GNU_RETAIN, which is a root) that refer to each other and, from dead code, to the program's own live
`lh_main` (a reference *from* a dead section must not keep anything alive, nor make the
dead section live).  The program is linked with --gc-sections; the model says what must
happen: the executable behaves exactly as the model's trace and status under the emulator
(so nothing reachable was collected), passes oracle.check and (when the program's own
sections are all live) the field oracle, removes exactly the sections GNU ld removes from the same inputs (--print-gc-sections
of both), and no symbol of a drawn dead section is left in its symbol table (they are gone)
but those a retained section keeps.

The draw is bounded (`max_examples` below, derandomized under the ci profile)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fuzz import judge
from fuzz.coverage import record
from fuzz.gnu_as import gnu_assemble
from fuzz.model import Program
from fuzz.pipeline import DYNAMIC_LINKER, libraries, write_objects
from fuzz.roundtrip import DeadSection, dead_sections, describe_dead
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies import programs
from linker import link
from oracle.reference import link_reference

DEAD_PREFIX = "lh_dead"
# kind -> (section flags, what a member holds): code calls, data and rodata point
_KINDS = {"text": ('"ax",@progbits', "code"), "data": ('"aw",@progbits', "pointer"),
          "rodata": ('"a",@progbits', "pointer"),
          # SHF_GNU_RETAIN (`__attribute__((retain))`): a root, as GNU ld keeps it, with
          # what it refers to
          "retained": ('"axR",@progbits', "code")}

def dead_object_source(sections: tuple[DeadSection, ...]) -> str:
    lines = []
    for n, (kind, to_main, to_dead) in enumerate(sections):
        flags, holds = _KINDS[kind]
        name = f"{DEAD_PREFIX}{n}"
        lines += [f"    .section .{kind}.{name},{flags}", f"    .globl {name}",
                  "    .balign 8", f"{name}:"]
        targets = (["lh_main"] if to_main else []) + (
            [f"{DEAD_PREFIX}{to_dead}"] if 0 <= to_dead != n else [])
        for target in targets:
            lines.append(f"    call {target}" if holds == "code" else f"    .quad {target}")
        lines.append("    ret" if holds == "code" else "    .quad 0")
    lines.append('    .section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


def kept_alive(sections: tuple[DeadSection, ...]) -> set[int]:
    """The members a retained one keeps: itself and what it refers to, transitively."""
    live = {n for n, (kind, _, _) in enumerate(sections) if kind == "retained"}
    work = list(live)
    while work:
        to_dead = sections[work.pop()][2]
        if 0 <= to_dead < len(sections) and to_dead not in live:
            live.add(to_dead)
            work.append(to_dead)
    return live


def write_dead_object(sections: tuple[DeadSection, ...], directory: Path) -> Path:
    return gnu_assemble(dead_object_source(sections), directory / "dead.s")


_DEBUG = (".debug_", ".zdebug_")
_REMOVED = re.compile(r"removing unused section '([^']*)' in file '([^']*)'")


def removed_sections(stderr: str) -> set[tuple[str, str]]:
    """(file, section) of each `--print-gc-sections` line, GNU ld's wording or ours.  GNU
    ld also lists an unreferenced COMMON symbol's space as a section "COMMON"; linkharness
    keeps every COMMON (a few unused bytes, nothing a program can tell), so that entry is
    not compared."""
    return {(m.group(2), m.group(1)) for m in _REMOVED.finditer(stderr)
            if m.group(1) != "COMMON"}


def comparable(gnu: set[tuple[str, str]], ours: set[tuple[str, str]]
               ) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Both lists in one form.  GNU ld names a COMDAT member `NAME[SIGNATURE]`, lists the
    group's `.group` section, and lists the copies a duplicate group discarded as removed
    (a live group's too), where linkharness lists only collected kept copies; COMDAT
    members are left out of the comparison (the run against the model judges them).
    GNU ld also drops the debug sections of an object none of whose code is left;
    linkharness keeps them, every reference to collected code tombstoned (as lld does), so
    debug sections are not compared either."""
    comdat = {name[:name.index("[")] for _, name in gnu if name.endswith("]") and "[" in name}
    theirs = {(f, n) for f, n in gnu
              if n != ".group" and not n.endswith("]") and not n.startswith(_DEBUG)}
    mine = {(f, n) for f, n in ours if n not in comdat}
    return theirs, mine


def judge_gc(program: Program, dead: tuple[DeadSection, ...], assembler: str | None,
             work: Path, libtrace_dir: Path) -> list[str]:
    """Every check's problems for one example (empty: right).  Besides the model, GNU ld
    is the reference for what else is unreachable: both must remove the same sections."""
    objects = write_objects(program, work / "objects", assembler)
    inputs = [*objects, write_dead_object(dead, work)]
    libs = libraries(program, libtrace_dir)
    exe = work / "gc.out"
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        link([*map(str, inputs), *libs], exe, entry="_start", dynamic_linker=DYNAMIC_LINKER,
             gc_sections=True, print_gc_sections=True)
    ours = removed_sections(printed.getvalue())
    gnu = link_reference("bfd", [str(i) for i in inputs], str(work / "gnu.out"), libs=libs,
                         extra=["--gc-sections", "--print-gc-sections"])
    problems = [*judge.structure(exe),
                *judge.emulated(exe, outcome(program), libtrace_dir, "lazy"),
                *judge.emulated(exe, outcome(program), libtrace_dir, "now")]
    if not gnu.ok:
        problems.append(f"GNU ld refused the inputs: {gnu.stderr.strip()}")
    else:
        theirs, mine = comparable(removed_sections(gnu.stderr), ours)
        if theirs != mine:
            problems.append(f"removed sections differ from GNU ld's: only ours "
                            f"{sorted(mine - theirs)}, only GNU ld's {sorted(theirs - mine)}")
    # The field oracle judges the program when gc left all of it: it finds input sections
    # in the output by their bytes, and would place a collected one on an identical copy.
    if not {f for f, _ in ours} & {str(o) for o in objects}:
        problems += judge.fields(exe, objects)
    with open(exe, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        present = {s.name for s in getattr(symtab, "iter_symbols", list)()
                   if s.name.startswith(DEAD_PREFIX)}
    alive = {f"{DEAD_PREFIX}{n}" for n in kept_alive(dead)}
    if present - alive:
        problems.append(f"--gc-sections kept unreferenced sections: symbols "
                        f"{sorted(present - alive)}")
    if alive - present:
        problems.append(f"--gc-sections collected a retained section or what it refers "
                        f"to: symbols {sorted(alive - present)}")
    return problems


MAX_EXAMPLES = 10
DEAD_SAMPLE: tuple[DeadSection, ...] = (("text", True, 1), ("data", False, 0),
                                        ("rodata", True, 0), ("retained", True, -1))


@example(program=SAMPLE, dead=DEAD_SAMPLE, flavour=0)
@example(program=SAMPLE, dead=DEAD_SAMPLE, flavour=1)
@settings(max_examples=MAX_EXAMPLES)
@given(program=programs(), dead=dead_sections(), flavour=st.integers(0, 3))
def test_gc_sections_removes_exactly_the_unreachable(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, program: Program,
    dead: tuple[DeadSection, ...], flavour: int,
) -> None:
    assembler = "as" if flavour == 1 else None
    record(program, {"link:gc-sections"} | describe_dead(dead))
    problems = judge_gc(program, dead, assembler, tmp_path_factory.mktemp("gc"),
                        libtrace_dir)
    assert not problems, f"--gc-sections ({assembler or 'our writer'}):\n" + "\n".join(
        problems)
