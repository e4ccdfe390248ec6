"""The Mach-O judges (fuzz.macho.judge: oracle.check, the field oracle, the emulated dyld
lazy and now) for a Mach-O i386 example, whose entry may leave through libSystem's `exit`
(fuzz.macho.pipeline_i386.exits_through_libsystem): the emulated libSystem records that call
in the trace, so the expected trace ends with it, its argument the exit status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..model import Program
from ..semantics import Outcome
from . import judge
from .lower_i386 import LIBSYSTEM_EXIT

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def expected_trace(expected: Outcome, exit_call: bool) -> judge.Trace:
    tail = ((LIBSYSTEM, LIBSYSTEM_EXIT, (expected.status,)),) if exit_call else ()
    return judge.expected_trace(expected) + tail


def emulated(output: Path, expected: Outcome, bind: str, exit_call: bool) -> list[str]:
    trace, status, faults = judge.emulated_trace(output, bind)
    problems = [f"emulated ({bind}): {f}" for f in faults]
    want = expected_trace(expected, exit_call)
    if trace != want:
        problems.append(f"emulated ({bind}): trace {trace} != model {want}")
    if status != expected.status:
        problems.append(f"emulated ({bind}): exit {status} != model {expected.status}")
    return problems


def everything(output: Path, objects: Sequence[Path], program: Program, expected: Outcome,
               exit_call: bool, tables: str = "full") -> list[str]:
    """Every judge; `tables` as for judge.everything."""
    return [*judge.structure(output),
            *(judge.fields(output, objects) if tables == "full" else []),
            *(judge.debug_map(output, objects) if tables != "strip" else []),
            *emulated(output, expected, "lazy", exit_call),
            *emulated(output, expected, "now", exit_call)]
