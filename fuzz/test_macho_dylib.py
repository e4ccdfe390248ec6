"""Mach-O property with a dylib: part of each drawn program is linked `-dylib` into
`liblhsplit.dylib` (fuzz/macho/dylib_split.py), the rest into the executable against it.

- linkharness links both, with dyld-info opcodes or (half of the examples) chained fixups:
  oracle.check finds nothing in either, the field oracle no mismatch in either, and the emulated dyld (lazy and now), which loads the dylib
  as code at a base that changes from run to run, gives the model's trace and exit status;
- crosswise with ld64.lld-14: its dylib under linkharness's executable, and linkharness's
  dylib under its executable, give the same.

The dylib sample (fuzz/macho/samples_dylib.py), split, is always among the examples
(`SAMPLE_SPLIT`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings

from fuzz.coverage import describe_macho, record, record_labels
from fuzz.judge import load_seed
from fuzz.macho import judge
from fuzz.macho.dylib_split import (
    LIBRARY,
    LLD_DYLIB,
    DylibCase,
    cases,
    describe,
    dylib_points_at_absolutes,
    link_dylib,
    link_executable,
    sample,
    write_objects,
)
from fuzz.macho.dylib_split_i386 import (
    DylibCase386,
    describe_i386,
    dylib_cases_i386,
    dylib_sample_i386,
    link_dylib_i386,
    link_executable_i386,
    write_objects_i386,
)
from fuzz.macho.judge_i386 import expected_trace as expected_trace_i386
from fuzz.macho.pipeline import ENTRY, LIBSYSTEM_TBD, LLD
from fuzz.macho.tbd import write_tbds
from fuzz.semantics import Outcome, outcome
from oracle.emulate import run

DYLIB_CI_EXAMPLES = 12  # each example links two images and runs the program twice
I386_CI_EXAMPLES = 8


SAMPLE_SPLIT = sample()


def emulated(exe: Path, library_dir: Path, expected: Outcome, want: judge.Trace | None = None
             ) -> list[str]:
    """The judge's emulated check, with the dylib found in `library_dir` (`want`: the
    trace, when not the model's own)."""
    problems = []
    want = judge.expected_trace(expected) if want is None else want
    for bind in ("lazy", "now"):
        # the dylib's base drawn from the executable's bytes: a failure repeats exactly
        result = run(exe, bind=bind, library_path=[library_dir], seed=load_seed(exe))
        trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace)
        problems += [f"emulated ({bind}, --seed {result.seed}): {f.describe()}"
                     for f in result.faults]
        if trace != want:
            problems.append(f"emulated ({bind}): trace {trace} != model {want}")
        if result.exit_code != expected.status:
            problems.append(f"emulated ({bind}): exit {result.exit_code} != model "
                            f"{expected.status}")
    return problems


def judge_split(exe: Path, dylib: Path, exe_objects: list[Path], dylib_objects: list[Path],
                expected: Outcome) -> list[str]:
    return [*judge.structure(dylib), *judge.structure(exe), *judge.fields(exe, exe_objects),
            *[f"dylib {p}" for p in judge.fields(dylib, dylib_objects)],
            *emulated(exe, dylib.parent, expected)]


def _build(case: DylibCase, work: Path) -> tuple[list[Path], list[Path], list[Path]]:
    exe_objs, dylib_objs = write_objects(case, work / "objs")
    return exe_objs, dylib_objs, write_tbds(work / "stubs", case.program.libraries)


def _ci_bounded(prop: Callable[..., None]) -> Callable[..., None]:
    ci = settings.default is not None and settings.default.derandomize
    return settings(settings.default, max_examples=DYLIB_CI_EXAMPLES)(prop) if ci else prop


@_ci_bounded
@example(case=SAMPLE_SPLIT)
@given(case=cases())
def test_program_split_into_a_dylib_behaves_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: DylibCase,
) -> None:
    record(case.program, describe_macho(case.program, case.variant) | set(describe(case)))
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("split")
    exe_objs, dylib_objs, stubs = _build(case, work)
    (work / "lib").mkdir()
    dylib, exe = work / "lib" / LIBRARY, work / "lib" / "main"
    link_dylib(dylib_objs, stubs, dylib, case.chained)
    link_executable(exe_objs, dylib, stubs, exe, case.chained)
    problems = judge_split(exe, dylib, exe_objs, dylib_objs, expected)
    assert not problems, "linkharness dylib + executable:\n" + "\n".join(problems)


def _lld(args: list[str]) -> None:
    done = subprocess.run([*LLD, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ld64.lld-14 rejects a valid split (generator bug): " \
                                 f"{done.stderr}"


@settings(settings.default, max_examples=DYLIB_CI_EXAMPLES // 2) \
    if settings.default is not None and settings.default.derandomize else (lambda f: f)
@example(case=SAMPLE_SPLIT)
@given(case=cases())
def test_crosswise_with_ld64_lld(
    tmp_path_factory: pytest.TempPathFactory, case: DylibCase,
) -> None:
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("cross")
    exe_objs, dylib_objs, stubs = _build(case, work)
    inputs = [*map(str, stubs), str(LIBSYSTEM_TBD)]
    # ld64.lld's dylib, linkharness's executable (unless lld would rebase a pointer
    # to an absolute symbol: see dylib_points_at_absolutes)
    lld_rebases_absolutes = dylib_points_at_absolutes(case)
    event(f"macho dylib crosswise: lld dylib skipped (absolute pointers): "
          f"{lld_rebases_absolutes}")
    if not lld_rebases_absolutes:
        (work / "a").mkdir()
        lld_dylib, lh_exe = work / "a" / LIBRARY, work / "a" / "main"
        _lld([*LLD_DYLIB, "-o", str(lld_dylib), *map(str, dylib_objs), *inputs])
        link_executable(exe_objs, lld_dylib, stubs, lh_exe, case.chained)
        problems = judge_split(lh_exe, lld_dylib, exe_objs, dylib_objs, expected)
        assert not problems, "ld64.lld dylib + linkharness executable:\n" + "\n".join(
            problems)
    # linkharness's dylib, ld64.lld's executable
    (work / "b").mkdir()
    lh_dylib, lld_exe = work / "b" / LIBRARY, work / "b" / "main"
    link_dylib(dylib_objs, stubs, lh_dylib)  # opcodes: lld-14 reads no exports trie command
    _lld(["-e", ENTRY, "-o", str(lld_exe), *map(str, exe_objs), str(lh_dylib), *inputs])
    problems = [*judge.structure(lld_exe), *emulated(lld_exe, lh_dylib.parent, expected)]
    event(f"macho dylib crosswise: {len(case.in_dylib)} objects in the dylib")
    assert not problems, "linkharness dylib + ld64.lld executable:\n" + "\n".join(problems)


@settings(settings.default, max_examples=I386_CI_EXAMPLES) \
    if settings.default is not None and settings.default.derandomize else (lambda f: f)
@example(case=dylib_sample_i386())
@given(case=dylib_cases_i386())
def test_i386_program_split_into_a_dylib_behaves_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: DylibCase386,
) -> None:
    """The same for -arch i386 (fuzz/macho/dylib_split_i386.py): the dylib's code holds
    absolute addresses, so it is rebased in __TEXT; no reference linker (ld64.lld-14 has no
    i386)."""
    record_labels(describe_i386(case))
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("split386")
    exe_objs, dylib_objs = write_objects_i386(case, work / "objs")
    stubs = write_tbds(work / "stubs", case.program.libraries)
    (work / "lib").mkdir()
    dylib, exe = work / "lib" / LIBRARY, work / "lib" / "main"
    link_dylib_i386(dylib_objs, stubs, dylib)
    link_executable_i386(exe_objs, dylib, stubs, exe)
    event(f"macho i386 dylib objects: {len(case.in_dylib)}")
    problems = [*judge.structure(dylib), *judge.structure(exe),
                *judge.fields(exe, exe_objs),
                *[f"dylib {p}" for p in judge.fields(dylib, dylib_objs)],
                *emulated(exe, dylib.parent, expected,
                          expected_trace_i386(expected, case.exit_call))]
    assert not problems, "linkharness i386 dylib + executable:\n" + "\n".join(problems)
