"""Thread-local variables on Mach-O (fuzz.macho.tlv), x86-64 and i386: linkharness links
each drawn case with dyld-info opcodes and (x86-64) with chained fixups; every output passes
oracle.check and the Mach-O field oracle, and under the emulated dyld (lazy and now) passes
to the trace exactly the values the model says each thread-local read gives, on the main
thread and on the threads it starts, then exits 0.  The two encodings therefore behave
alike.  On x86-64 ld64.lld-14's link of the same objects must pass the same judges (the
generator's check: the model agrees with a reference linker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fuzz.coverage import record_labels
from fuzz.macho import judge
from fuzz.macho import tlv as macho_tlv
from fuzz.macho.pipeline import link_lld
from fuzz.macho.tbd import write_tbds
from oracle.emulate import run

CI_EXAMPLES = 6  # each example assembles two objects, links two or one, runs each twice
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"  # pthread_create/join: their pointers vary


def _ci() -> bool:
    return settings.default is not None and settings.default.derandomize


def _same(f: Callable[..., None]) -> Callable[..., None]:
    return f


def problems(exe: Path, objs: Sequence[Path], case: macho_tlv.TlvCase,
             behaviour_only: bool = False) -> list[str]:
    """What is wrong with `exe`, a link of `case`: rules, fields (unless `behaviour_only`),
    then each binding mode's run against the model (libSystem's pthread calls left out of
    the trace)."""
    found = [] if behaviour_only else [*judge.structure(exe), *judge.fields(exe, objs)]
    want = macho_tlv.expected_trace(case)
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind)
        found += [f"emulated ({bind}): {f.describe()}" for f in result.faults]
        trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace
                      if t.library != LIBSYSTEM)
        if trace != want:
            found.append(f"emulated ({bind}): trace {trace} != model {want}")
        if result.exit_code != 0:
            found.append(f"emulated ({bind}): exit {result.exit_code} != model 0")
    return found


def check_case(case: macho_tlv.TlvCase, work: Path, behaviour_only: bool = False,
               reference: bool = False, own_writer: bool = False) -> list[str]:
    """The problems of linkharness's links of `case` (and, with `reference`, of
    ld64.lld-14's: the generator's check that the model is right; x86-64 only), from
    llvm-mc's objects or (`own_writer`) ours."""
    objs = macho_tlv.write_objects(case, work / "objs", own_writer)
    stubs = write_tbds(work / "stubs", (macho_tlv.TRACE_LIBRARY,))
    found = []
    for chained in macho_tlv.encodings(case):
        exe = work / ("chained.out" if chained else "opcodes.out")
        macho_tlv.link_case(objs, stubs, exe, case.arch, chained)
        how = "chained fixups" if chained else "dyld-info opcodes"
        found += [f"{case.arch}, {how}: {p}"
                  for p in problems(exe, objs, case, behaviour_only)]
    if reference and case.arch == "x86_64":
        exe = work / "lld.out"
        refused = link_lld(objs, stubs, exe)
        assert not refused, f"ld64.lld-14 rejects a valid case (generator bug): {refused}"
        found += [f"ld64.lld-14 (generator check): {p}" for p in problems(exe, objs, case)]
    return found


def _judge(case: macho_tlv.TlvCase, tmp_path_factory: pytest.TempPathFactory,
           own_writer: bool = False) -> None:
    record_labels(macho_tlv.describe(case) | ({"tlv:own_writer"} if own_writer else set()))
    found = check_case(case, tmp_path_factory.mktemp("tlv"), reference=True,
                       own_writer=own_writer)
    assert not found, "\n".join(found)


@settings(settings.default, max_examples=CI_EXAMPLES) if _ci() else _same
@example(case=macho_tlv.sample("x86_64"), own_writer=False)
@example(case=macho_tlv.sample("x86_64"), own_writer=True)
@example(case=macho_tlv.aligned_bss_find("x86_64"), own_writer=False)
@given(case=macho_tlv.tlv_cases("x86_64"), own_writer=st.booleans())
def test_x86_64_thread_locals_read_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: macho_tlv.TlvCase, own_writer: bool,
) -> None:
    """x86-64: the objects from llvm-mc-14, or (half the draws) from our own writer."""
    _judge(case, tmp_path_factory, own_writer)


@settings(settings.default, max_examples=CI_EXAMPLES) if _ci() else _same
@example(case=macho_tlv.sample("i386"))
@example(case=macho_tlv.absolute_sample())
@example(case=macho_tlv.aligned_bss_find("i386"))
@given(case=macho_tlv.tlv_cases("i386"))
def test_i386_thread_locals_read_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: macho_tlv.TlvCase,
) -> None:
    _judge(case, tmp_path_factory)
