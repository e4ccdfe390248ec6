"""Mach-O SUBTRACTOR pairs of two symbols near, at and just past the edges of their 4-byte
range (fuzz.macho.subtractor, x86-64): in range, linkharness links, oracle.check and the
field oracle find nothing and the program exits 0 under the emulated dyld; past an edge,
it refuses in one line naming the symbol and o0.o, leaving nothing.  ld64.lld-14 agrees
either way (the generator's check)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings

from fuzz.coverage import record_labels
from fuzz.macho import judge, pipeline, sectdiff, subtractor
from fuzz.macho import pipeline_i386 as macho32
from linker import LinkError

# drawn under ci, beside the samples: a pair case links up to four times, a SECTDIFF case
# six (a probe and the case, in each of three modes)
CI_EXAMPLES = {"pairs": 6, "sectdiff": 4}


def _budget(prop: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    ci = settings.default is not None and settings.default.derandomize
    return settings(settings.default, max_examples=CI_EXAMPLES[prop]) if ci else (lambda f: f)


def _linkharness(objects: list[Path], output: Path) -> str:
    try:
        pipeline.link_linkharness(objects, [], output)
    except LinkError as e:
        return str(e)
    return ""


def _lld(objects: list[Path], output: Path) -> str:
    return pipeline.link_lld(objects, [], output)


def pair_problems(case: subtractor.SubtractorCase, work: Path) -> list[str]:
    """What is wrong with linkharness's link of `case` (refused iff a field is past an
    edge, in one line naming a symbol of the pair and o0.o, with no output; else every
    judge content)."""
    objects, refused = subtractor.linked(case, work, _linkharness)
    exe = work / "out"
    if refused.startswith("probe: "):
        return [f"the probe link (every field in range) was refused: {refused}"]
    if case.overflows:
        if not refused:
            return [f"linked a field past its edge: {case.fields}"]
        first = refused.strip().splitlines()[0]
        problems = []
        if not ("_lh_a" in first or "_lh_b" in first) or "o0.o" not in first \
                or "SUBTRACTOR" not in first:
            problems.append(f"the refusal names neither the pair nor o0.o: {first}")
        if exe.exists():
            problems.append("output left behind")
        return problems
    if refused:
        return [f"refused an in-range case: {refused}"]
    _, status, faults = judge.emulated_trace(exe, "lazy")
    problems = [*judge.structure(exe), *judge.fields(exe, objects), *faults]
    return problems if status == 0 else [*problems, f"exit {status}"]


@_budget("pairs")
@example(case=subtractor.SAMPLES[0])
@example(case=subtractor.SAMPLES[1])
@example(case=subtractor.SAMPLES[2])
@example(case=subtractor.SAMPLES[3])
@example(case=subtractor.SAMPLES[4])
@example(case=subtractor.SAMPLES[5])
@given(case=subtractor.subtractor_cases())
def test_subtractor_pairs_near_and_at_their_range(
    tmp_path_factory: pytest.TempPathFactory, case: subtractor.SubtractorCase,
) -> None:
    record_labels(subtractor.describe(case))
    work = tmp_path_factory.mktemp("subtractor")
    _, refused = subtractor.linked(case, work / "lld", _lld)
    assert not refused.startswith("probe: "), f"ld64.lld-14 refused the probe: {refused}"
    assert bool(refused) == case.overflows, f"generator bug: ld64.lld-14 says {refused!r}"
    problems = pair_problems(case, work / "lh")
    assert not problems, "\n".join(problems)


def _linkharness_i386(mode: str) -> sectdiff.Linker:
    def link(objects: list[Path], output: Path) -> str:
        try:
            macho32.link_linkharness(objects, [], output, mode)
        except LinkError as e:
            return str(e)
        return ""
    return link


def sectdiff_problems(case: sectdiff.SectdiffCase, work: Path,
                      modes: tuple[str, ...] = tuple(macho32.MODES)) -> list[str]:
    """What is wrong with linkharness's links of `case` in `modes`: refused iff a field is
    past its edge (one line naming the SECTDIFF and o0.o, no output), else every judge
    content and the program exits 0."""
    problems = []
    for mode in modes:
        objects, refused = sectdiff.linked(case, work / mode, _linkharness_i386(mode))
        exe = work / mode / "out"
        if refused.startswith("probe: "):
            problems.append(f"{mode}: the probe link (every field in range) was refused: "
                            f"{refused}")
        elif case.overflows:
            first = refused.strip().splitlines()[0] if refused else ""
            if not refused:
                problems.append(f"{mode}: linked a field past its edge: {case.fields}")
            elif "SECTDIFF" not in first or "o0.o" not in first:
                problems.append(f"{mode}: the refusal names neither the relocation nor o0.o: "
                                f"{first}")
            if exe.exists():
                problems.append(f"{mode}: output left behind")
        elif refused:
            problems.append(f"{mode}: refused an in-range case: {refused}")
        else:
            _, status, faults = judge.emulated_trace(exe, "lazy")
            problems += [f"{mode}: {p}" for p in [*judge.structure(exe),
                                                   *judge.fields(exe, objects), *faults]]
            if status != 0:
                problems.append(f"{mode}: exit {status}")
    return problems


@_budget("sectdiff")
@example(case=sectdiff.SAMPLES[0])
@example(case=sectdiff.SAMPLES[1])
@example(case=sectdiff.SAMPLES[2])
@example(case=sectdiff.SAMPLES[3])
@example(case=sectdiff.SAMPLES[4])
@given(case=sectdiff.sectdiff_cases())
def test_i386_sectdiff_pairs_at_their_range_edges(
    tmp_path_factory: pytest.TempPathFactory, case: sectdiff.SectdiffCase,
) -> None:
    record_labels(sectdiff.describe(case))
    problems = sectdiff_problems(case, tmp_path_factory.mktemp("sectdiff"))
    assert not problems, "\n".join(problems)
