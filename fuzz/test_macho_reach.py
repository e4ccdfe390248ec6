"""Mach-O archives on x86_64 and i386, and Mach-O x86_64 error models (fuzz.macho.reach).

- archives: a drawn model with its archivable objects in one archive; linkharness (modern and
  classic) and, on x86_64, ld64.lld-14 link it, and their outputs pass oracle.check, the
  field oracle over the objects the model says a link takes, and the emulated dyld's run
  gives the model's trace and status (ld64.lld agreeing checks the model's archive rules);
- SUBTRACTOR pairs near the edges of their 4-byte range (fuzz.macho.subtractor);
- errors: an undefined or duplicate symbol: linkharness refuses the link in one line naming
  the symbol and the object, and leaves no output, in both modes.
"""

from __future__ import annotations

import pytest
from hypothesis import event, example, given, settings

from fuzz.coverage import SESSION, describe_macho, record
from fuzz.macho import judge, pipeline, subtractor
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.coverage_i386 import describe_macho_i386
from fuzz.macho.reach import (
    CHAIN_SAMPLE,
    MachoErrorCase,
    archived,
    describe_archive,
    judged,
    macho_error_cases,
    package,
)
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.strategies import MachoCase, macho_cases
from fuzz.macho.strategies_i386 import MachoI386Case, macho_i386_cases
from fuzz.macho.tbd import write_tbds
from fuzz.semantics import outcome
from linker import LinkError

EXAMPLES = 12  # each example links three times and emulates six runs


@settings(max_examples=EXAMPLES)
@example(case=MachoCase(MACHO_SAMPLE, 0))
@example(case=MachoCase(CHAIN_SAMPLE, 1))
@given(case=macho_cases())
def test_macho_archives(tmp_path_factory: pytest.TempPathFactory, case: MachoCase) -> None:
    program = archived(case.program)
    record(program, describe_macho(program, case.variant) | describe_archive(program, "macho"))
    expected = outcome(program)
    work = tmp_path_factory.mktemp("macho-ar")
    objects = pipeline.write_objects(program, work / "objs", case.variant)
    inputs, taken = package(program, objects, work)
    stubs = write_tbds(work / "stubs", program.libraries)
    lld = work / "lld.out"
    refused = pipeline.link_lld(inputs, stubs, lld)
    assert not refused, f"ld64.lld-14 rejects a valid model (generator bug): {refused}"
    problems = [f"ld64.lld: {p}" for p in judged(lld, taken, program, expected)]
    for classic in (False, True):
        exe = work / f"lh{int(classic)}.out"
        pipeline.link_linkharness(inputs, stubs, exe, classic=classic)
        problems += [f"linkharness classic={classic}: {p}"
                     for p in judged(exe, taken, program, expected)]
    assert not problems, "\n".join(problems)


@settings(max_examples=EXAMPLES)
@example(case=MachoI386Case(MACHO_I386_SAMPLE, 0))
@given(case=macho_i386_cases())
def test_macho_i386_archives(tmp_path_factory: pytest.TempPathFactory,
                             case: MachoI386Case) -> None:
    program = archived(case.program)
    record(program, describe_macho_i386(program, case.variant)
           | describe_archive(program, "macho-i386"))
    expected = outcome(program)
    work = tmp_path_factory.mktemp("macho32-ar")
    objects = macho32.write_objects(program, work / "objs", case.variant)
    inputs, taken = package(program, objects, work)
    stubs = write_tbds(work / "stubs", program.libraries)
    exit_call = macho32.exits_through_libsystem(case.variant)
    problems = []
    for mode in ("modern-10.9", "classic"):
        exe = work / f"{mode}.out"
        macho32.link_linkharness(inputs, stubs, exe, mode)
        problems += [f"linkharness {mode}: {p}" for p in
                     judged(exe, taken, program, expected, exit_call)]
    assert not problems, "\n".join(problems)


@settings(max_examples=EXAMPLES)
@given(case=macho_error_cases())
def test_macho_error_models_are_refused(tmp_path_factory: pytest.TempPathFactory,
                                        case: MachoErrorCase) -> None:
    program = case.program
    assert program.culprit is not None and program.error is not None
    record(program, describe_macho(program, case.variant) | {f"macho:error:{program.error.value}"})
    work = tmp_path_factory.mktemp("macho-err")
    objects = pipeline.write_objects(program, work / "objs", case.variant)
    stubs = write_tbds(work / "stubs", program.libraries)
    for classic in (False, True):
        exe = work / f"{int(classic)}.out"
        with pytest.raises(LinkError) as caught:
            pipeline.link_linkharness(objects, stubs, exe, classic=classic)
        message = str(caught.value)
        assert program.culprit in message, message
        assert f"{program.culprit_object}.o" in message, message
        assert "\n" not in message.strip(), f"not one line: {message}"
        assert not exe.exists(), "output left behind"


@example(case=subtractor.SAMPLES[0])
@example(case=subtractor.SAMPLES[1])
@example(case=subtractor.SAMPLES[2])
@given(case=subtractor.subtractor_cases())
def test_subtractor_pairs_near_their_range(
    tmp_path_factory: pytest.TempPathFactory, case: subtractor.SubtractorCase,
) -> None:
    """fuzz.macho.subtractor: in range, linkharness links, oracle.check and the field oracle
    find nothing and the program exits 0 under the emulated dyld; past an edge, it refuses in
    one line naming the symbol and o0.o, leaving nothing; ld64.lld-14 agrees either way."""
    labels = subtractor.describe(case)
    SESSION.update(labels)
    SESSION["examples"] += 1
    for label in sorted(labels):
        event(label)
    work = tmp_path_factory.mktemp("subtractor")
    objects = subtractor.write_objects(case, work)
    refused = pipeline.link_lld(objects, [], work / "lld.out")
    assert bool(refused) == case.overflows, f"generator bug: ld64.lld-14 says {refused!r}"
    exe = work / "lh.out"
    if case.overflows:
        with pytest.raises(LinkError) as caught:
            pipeline.link_linkharness(objects, [], exe)
        # one line per field past its edge (each error counted, as lld reports them)
        first = str(caught.value).strip().splitlines()[0]
        assert "_lh_a" in first or "_lh_b" in first, first
        assert "o0.o" in first and "SUBTRACTOR" in first, first
        assert not exe.exists(), "output left behind"
        return
    pipeline.link_linkharness(objects, [], exe)
    _, status, faults = judge.emulated_trace(exe, "lazy")
    problems = [*judge.structure(exe), *judge.fields(exe, objects), *faults]
    assert not problems and status == 0, f"exit {status}: " + "\n".join(problems)
