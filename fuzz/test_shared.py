"""Shared libraries and the executables that use them (fuzz.modules): each drawn program is
compiled once and linked in one seat — libraries by one linker, the executable by another,
linkharness and GNU ld, gold, lld and mold in either place — and every output is judged:
oracle.check, the field oracle, the emulated run at load bases drawn per output (lazy and
now) and the native run (lazy and LD_BIND_NOW), against the model's trace and status.

The hand-made SAMPLE is judged in the seats that matter most every time: linkharness
making the libraries for lld's executable, lld's libraries for linkharness's executable,
linkharness in both seats, and GNU ld in both, mold's libraries under gold's executable of
-fPIC code (SAMPLE_PIC; the model checked against the machine), and SAMPLE_LISTED's
libraries, linked with --dynamic-list by linkharness, under GNU ld's executable, and
SAMPLE_SYMBOLIC's (-Bsymbolic-functions) under lld's.
Examples are bounded (EXAMPLES under the ci profile) and drawn derandomized there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz.coverage import SESSION
from fuzz.modules import ModuleProgram, describe, programs
from fuzz.modules_build import REFERENCE_LINKERS, BuildOptions
from fuzz.modules_judge import compile_all, judge_seat, known_reference_bug
from fuzz.modules_samples import SAMPLE, SAMPLE_LISTED, SAMPLE_PIC, SAMPLE_SYMBOLIC

EXAMPLES = 6  # under the ci profile; the fuzz profile draws its own count
LINKERS = (*REFERENCE_LINKERS, "linkharness")
SAMPLE_SEATS = ((SAMPLE, ("linkharness", "lld")), (SAMPLE, ("lld", "linkharness")),
                (SAMPLE, ("linkharness", "linkharness")), (SAMPLE, ("bfd", "bfd")),
                (SAMPLE_PIC, ("mold", "gold")), (SAMPLE_LISTED, ("linkharness", "bfd")),
                (SAMPLE_SYMBOLIC, ("linkharness", "lld")))


def build_options() -> st.SearchStrategy[BuildOptions]:
    return st.builds(BuildOptions, st.integers(0, 3).map(lambda n: n == 0),
                     st.sampled_from(("-O0", "-O1", "-O2")), st.booleans(), st.booleans())


def seats() -> st.SearchStrategy[tuple[str, str]]:
    """Mostly seats with linkharness in one place or both; sometimes two reference
    linkers (which keeps the model and the judges honest against the machine)."""
    with_us = st.one_of(st.tuples(st.just("linkharness"), st.sampled_from(LINKERS)),
                        st.tuples(st.sampled_from(REFERENCE_LINKERS), st.just("linkharness")))
    others = st.tuples(st.sampled_from(REFERENCE_LINKERS), st.sampled_from(REFERENCE_LINKERS))
    return st.one_of(with_us, with_us, others)


def judge_program(program: ModuleProgram, options: BuildOptions, seat: tuple[str, str],
                  work: Path, libtrace: Path) -> list[str]:
    """Problems of `program` in `seat`; a refusal of linkharness's is an event."""
    known = known_reference_bug(program, options, seat)
    if known:
        event(f"modules: known reference-linker bug stepped around ({known})")
        return []
    objects = compile_all(program, options, work)
    verdict = judge_seat(program, objects, options, seat, work / "-".join(seat), libtrace)
    if verdict.refused:
        event(f"modules: linkharness refused ({verdict.refused.split(':')[-1][:60]})")
    return list(verdict.problems)


def _examples() -> int:
    current = settings.default
    return EXAMPLES if current is None or current.derandomize else current.max_examples


@settings(max_examples=_examples())
@example(program=SAMPLE_SEATS[0][0], options=BuildOptions(), seat=SAMPLE_SEATS[0][1])
@example(program=SAMPLE_SEATS[1][0], options=BuildOptions(), seat=SAMPLE_SEATS[1][1])
@example(program=SAMPLE_SEATS[2][0], options=BuildOptions(), seat=SAMPLE_SEATS[2][1])
@example(program=SAMPLE_SEATS[3][0], options=BuildOptions(), seat=SAMPLE_SEATS[3][1])
@example(program=SAMPLE_SEATS[4][0], options=BuildOptions(), seat=SAMPLE_SEATS[4][1])
@example(program=SAMPLE_SEATS[5][0], options=BuildOptions(), seat=SAMPLE_SEATS[5][1])
@example(program=SAMPLE_SEATS[6][0], options=BuildOptions(), seat=SAMPLE_SEATS[6][1])
@given(program=st.booleans().flatmap(lambda tls: programs(tls=tls)),
       options=build_options(), seat=seats())
def test_shared_libraries_in_every_seat(
    libtrace_dir: Path, libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory,
    program: ModuleProgram, options: BuildOptions, seat: tuple[str, str],
) -> None:
    labels = describe(program) | {f"modules:seat-{seat[0]}-{seat[1]}",
                                  "modules:i386" if options.m32 else "modules:x86-64"}
    SESSION.update(labels)
    SESSION["examples"] += 1
    for label in sorted(labels):
        event(label)
    libtrace = libtrace_dir_i386 if options.m32 else libtrace_dir
    problems = judge_program(program, options, seat, tmp_path_factory.mktemp("mod"),
                             libtrace)
    assert not problems, "\n".join(problems)
