"""Mach-O x86-64 SUBTRACTOR pairs at the edges of their range in a drawn program
(fuzz.macho.subtractor), and the Mach-O error models (fuzz.macho.errors).

- edges: a drawn program with an item whose SUBTRACTOR fields hold 0x7fffffff and -2**31
  (4 bytes) and -2**63 (8 bytes), read by the main: linkharness modern and classic and
  ld64.lld-14 all link it, and each output passes every Mach-O judge (the field oracle reads
  the edge values; the emulated run gives the model's trace and status);
- errors: undefined and duplicate symbols and a 4-byte SUBTRACTOR at -2**31 - 1: linkharness
  (modern, chained, classic) refuses in one line naming the culprit (or the relocation type)
  and the object and leaves no output; ld64.lld-14 refuses too (the reference agrees on
  the range).

The ci budget is a few examples each; the sample's cases always run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings

from fuzz.coverage import describe_macho, record
from fuzz.macho import judge, pipeline
from fuzz.macho.errors import ERROR_SAMPLES, describe_errors, macho_error_cases
from fuzz.macho.strategies import MachoCase
from fuzz.macho.subtractor import EDGE_SAMPLE, describe_items, edge_cases
from fuzz.macho.tbd import write_tbds
from fuzz.model import ErrorKind
from fuzz.semantics import outcome
from linker import LinkError

CI_EXAMPLES = {"edges": 4, "errors": 6}


def _budget(prop: str) -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES[prop])
    return settings(current)


@_budget("edges")
@example(case=EDGE_SAMPLE)
@given(case=edge_cases())
def test_macho_subtractor_at_its_range_edges_links_and_runs(
    tmp_path_factory: pytest.TempPathFactory, case: MachoCase,
) -> None:
    record(case.program, describe_macho(case.program, case.variant)
           | describe_items(case.program))
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("macho-edge")
    objs = pipeline.write_objects(case.program, work / "objs", case.variant)
    stubs = write_tbds(work / "stubs", case.program.libraries)
    for classic in (False, True):
        exe = work / f"lh-{classic}.out"
        pipeline.link_linkharness(objs, stubs, exe, classic=classic)
        problems = judge.everything(exe, objs, case.program, expected)
        assert not problems, f"linkharness classic={classic}:\n" + "\n".join(problems)
    exe = work / "lld.out"
    refused = pipeline.link_lld(objs, stubs, exe)
    assert not refused, f"ld64.lld refused an in-range edge: {refused}"
    problems = judge.everything(exe, objs, case.program, expected)
    assert not problems, "ld64.lld:\n" + "\n".join(problems)


@_budget("errors")
@example(case=ERROR_SAMPLES[0])
@example(case=ERROR_SAMPLES[1])
@example(case=ERROR_SAMPLES[2])
@given(case=macho_error_cases())
def test_linkharness_refuses_a_macho_error_model(
    tmp_path_factory: pytest.TempPathFactory, case: MachoCase,
) -> None:
    program = case.program
    assert program.culprit is not None and program.error is not None
    record(program, describe_macho(program, case.variant) | describe_errors(program))
    problems = refusal_problems(case, tmp_path_factory.mktemp("macho-err"))
    assert not problems, "\n".join(problems)
    refused = pipeline.link_lld(*_written(case, tmp_path_factory.mktemp("lld-err")),
                                tmp_path_factory.mktemp("lld-out") / "lld.out")
    assert refused, "ld64.lld linked an error model"


def _written(case: MachoCase, work: Path) -> tuple[list[Path], list[Path]]:
    return (pipeline.write_objects(case.program, work / "objs", case.variant),
            write_tbds(work / "stubs", case.program.libraries))


def refusal_problems(case: MachoCase, work: Path) -> list[str]:
    """What is wrong with linkharness's refusals of the error model `case` in each mode
    (modern, chained, classic): it must raise one line naming the culprit (or the
    relocation type, for the overflow) and the object, and leave no output."""
    program = case.program
    assert program.culprit is not None
    objs, stubs = _written(case, work)
    problems = []
    for how, classic, chained in (("modern", False, None), ("chained", False, True),
                                  ("classic", True, None)):
        exe = work / f"{how}.out"
        try:
            pipeline.link_linkharness(objs, stubs, exe, classic=classic, chained=chained)
        except LinkError as caught:
            message = str(caught).strip()
        else:
            problems.append(f"{how}: linked an error model ({program.error})")
            continue
        named = program.culprit in message or (
            program.error is ErrorKind.OVERFLOW and "X86_64_RELOC_SUBTRACTOR(32)" in message)
        if not named or f"{program.culprit_object}.o" not in message:
            problems.append(f"{how}: the culprit or its object not named: {message}")
        if "\n" in message:
            problems.append(f"{how}: not one line: {message}")
        if exe.exists():
            problems.append(f"{how}: output left behind")
    return problems
