"""Mach-O i386 properties: drawn models in the Mach-O i386 subset (fuzz.macho.subset_i386),
lowered for i386 Darwin and written by our MH_OBJECT i386 writer (fuzz.macho.emit_macho_i386).

- linkharness `target="macho-i386"` in its three shapes (modern, minimum OS 10.6: dyld info
  and LC_UNIXTHREAD; modern 10.9: LC_MAIN; classic: `__symbol_stub1`, indirect table,
  LC_DYSYMTAB relocations), and for a quarter of the examples also from llvm-mc-14's objects
  assembled from the same lowering as text: oracle.check finds nothing, the Mach-O field
  oracle no mismatch, and the emulated i386 dyld (lazy and now) gives the model's trace and
  exit status.  There is no reference linker for Mach-O i386 (ld64.lld-14 refuses
  -arch i386); the oracle and the next property are the judges.
- four targets: one model emitted for elf64, elf32, macho64 and macho32, each linked by
  linkharness and emulated, gives the same trace (library names aside) and status
  everywhere, the model's.

The every-flavour sample (fuzz.macho.samples_i386) in three assembler variants is an explicit
example of both.  ci budgets are small (the whole of fuzz/ must stay a few minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz import pipeline as elf64
from fuzz import pipeline_i386 as elf32
from fuzz.coverage import record
from fuzz.macho import judge, judge_i386
from fuzz.macho import pipeline as macho64
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE, SAMPLE_VARIANTS
from fuzz.macho.strategies_i386 import (
    MachoI386Case,
    four_target_cases,
    four_target_program,
    macho_i386_cases,
)
from fuzz.macho.tbd import write_tbds
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from oracle.emulate import run

CI_EXAMPLES = {"linkharness": 12, "four_targets": 6}
SAMPLE_CASES = [MachoI386Case(MACHO_I386_SAMPLE, v) for v in SAMPLE_VARIANTS]
Trace = tuple[tuple[str, str, tuple[int, ...]], ...]


def _budget(prop: str) -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES[prop])
    return settings(current)


def link_and_judge(case: MachoI386Case, work: Path, asm: bool = False) -> list[str]:
    """Every problem of `case` linked in every mode (also from llvm-mc objects if `asm`)."""
    expected = outcome(case.program)
    objs = macho32.write_objects(case.program, work / "objs", case.variant)
    stubs = write_tbds(work / "stubs", case.program.libraries)
    builds = [(mode, objs, mode) for mode in macho32.MODES]
    if asm:
        llvm = macho32.write_asm_objects(case.program, work / "asm", case.variant)
        builds += [(f"{mode}, llvm-mc objects", llvm, mode)
                    for mode in ("modern-10.9", "classic")]
    problems = []
    exit_call = macho32.exits_through_libsystem(case.variant)
    for k, (how, inputs, mode) in enumerate(builds):
        exe = work / f"{k}.out"
        macho32.link_linkharness(inputs, stubs, exe, mode)
        problems += [f"linkharness {how}: {p}"
                     for p in judge_i386.everything(exe, inputs, case.program, expected,
                                                    exit_call)]
    return problems


def test_linkharness_macho_i386_every_mode(
    repeat_property: Callable[[Callable[[], None]], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    @_budget("linkharness")
    @example(case=SAMPLE_CASES[0], also_asm=0)
    @example(case=SAMPLE_CASES[1], also_asm=1)
    @example(case=SAMPLE_CASES[2], also_asm=1)
    @given(case=macho_i386_cases(), also_asm=st.integers(0, 3))
    def prop(case: MachoI386Case, also_asm: int) -> None:
        record(case.program, {"macho-i386"})
        event(f"macho-i386: llvm-mc objects too: {also_asm == 0}")
        problems = link_and_judge(case, tmp_path_factory.mktemp("macho32"), also_asm == 0)
        assert not problems, "\n".join(problems)

    repeat_property(prop)


def _elf_run(exe: Path, lib_dir: Path) -> tuple[Trace, int | None, tuple[str, ...]]:
    result = run(exe, bind="lazy", library_path=[lib_dir])
    trace = tuple((judge.macho_library(t.library), t.symbol, tuple(t.args))
                  for t in result.trace)
    return trace, result.exit_code, tuple(f.describe() for f in result.faults)


def _macho_run(exe: Path, exit_call: bool = False
               ) -> tuple[Trace, int | None, tuple[str, ...]]:
    """The run's trace, status and faults; with `exit_call`, the trace's last entry must be
    the entry's call of libSystem's exit with the status, and is dropped."""
    trace, status, faults = judge.emulated_trace(exe, "lazy")
    if exit_call:
        assert trace[-1:] == ((judge_i386.LIBSYSTEM, "exit", (status,)),), trace[-1:]
        trace = trace[:-1]
    return trace, status, tuple(faults)


def test_one_model_behaves_alike_on_all_four_targets(
    repeat_property: Callable[[Callable[[], None]], None], libtrace_dir: Path,
    libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """elf64-x86-64, elf32-i386, macho-x86_64 and macho-i386 builds of one model (in the
    x86-64 Mach-O subset, the narrower, then the i386 one), all linked by linkharness."""
    @_budget("four_targets")
    @example(case=MachoI386Case(four_target_program(SAMPLE), 1))
    @given(case=four_target_cases())
    def prop(case: MachoI386Case) -> None:
        record(case.program, {"four-targets"})
        program = case.program
        work = tmp_path_factory.mktemp("four")
        runs: dict[str, tuple[Trace, int | None, tuple[str, ...]]] = {}
        objs = elf64.write_objects(program, work / "elf64")
        elf64.link_linkharness(objs, elf64.libraries(program, libtrace_dir), work / "e64")
        runs["elf64"] = _elf_run(work / "e64", libtrace_dir)
        objs = elf32.write_objects_i386(program, work / "elf32")
        elf32.link_linkharness_i386(objs, elf64.libraries(program, libtrace_dir_i386),
                                    work / "e32")
        runs["elf32"] = _elf_run(work / "e32", libtrace_dir_i386)
        stubs = write_tbds(work / "stubs", program.libraries)
        objs = macho64.write_objects(program, work / "macho64", case.variant)
        macho64.link_linkharness(objs, stubs, work / "m64")
        runs["macho64"] = _macho_run(work / "m64")
        objs = macho32.write_objects(program, work / "macho32", case.variant)
        macho32.link_linkharness(objs, stubs, work / "m32")
        runs["macho32"] = _macho_run(work / "m32",
                                     macho32.exits_through_libsystem(case.variant))
        expected = outcome(program)
        want = (judge.expected_trace(expected), expected.status, ())
        differ = {target: r for target, r in runs.items() if r != want}
        assert not differ, f"model {want}, but:\n" + "\n".join(
            f"{target}: {r}" for target, r in differ.items())

    repeat_property(prop)
