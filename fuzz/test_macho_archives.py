"""Mach-O static archives (fuzz.macho.archive): a drawn program with some objects, a chain of
two members and a decoy member in one BSD archive (`__.SYMDEF SORTED` from our writer, or
llvm-ar-14's for half the draws), linked after the plain objects.

- x86_64: linkharness modern and classic, and ld64.lld-14 (which reads the archive's own
  table, so it also judges our archive writer);
- i386: linkharness in its three modes.

Every output passes oracle.check and the field oracle (on the objects the model says the
link takes), runs as the model of those objects says under the emulated dyld (lazy and
now), and holds no symbol that only a member left in the archive defines.  The ci budget
is a few examples; the samples (fuzz's hand-made program with every member drawn, in both
writers' archives, and a program of code alone) always run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings

from fuzz.coverage import record
from fuzz.macho import judge, judge_i386
from fuzz.macho import pipeline as macho64
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.archive import (
    CODE_ONLY,
    ArchiveCase,
    archive_first,
    archive_inputs,
    describe_archive,
    i386_archive_cases,
    left_symbols,
    linked_program,
    sample_case,
    taken_paths,
    x86_64_archive_cases,
)
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.tbd import write_tbds
from fuzz.semantics import outcome
from oracle.emulate.macho import image as mi

CI_EXAMPLES = 4


def _budget() -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES)
    return settings(current)


def absent(output: Path, case: ArchiveCase) -> list[str]:
    """Symbols of members the model leaves in the archive must not reach the output."""
    names = {s.name for s in mi.parse(output.read_bytes()).symbols()}
    leaked = sorted(names & left_symbols(case))
    return [f"archive: symbols of a member that should stay out: {leaked}"] if leaked else []


def _inputs(case: ArchiveCase, work: Path, write: Callable[..., list[Path]],
            lld: bool = False) -> tuple[list[Path], list[Path], list[Path]]:
    """(link inputs, the objects taken, stubs).  The archive goes first on the command line
    for half the variants (ld64 loads every object before it searches an archive, and so
    does linkharness; ld64.lld fetches a member as soon as an earlier object references it,
    so it always gets the archive last)."""
    objs = write(case.program, work / "objs", case.variant)
    plain, archive = archive_inputs(case, objs, work)
    inputs = [archive, *plain] if archive_first(case) and not lld else [*plain, archive]
    return inputs, taken_paths(case, objs), write_tbds(work / "stubs", case.program.libraries)


@_budget()
@example(case=sample_case(MACHO_SAMPLE))
@example(case=sample_case(MACHO_SAMPLE, weak_head=True))
@example(case=sample_case(MACHO_SAMPLE, llvm_ar=True))
@example(case=sample_case(CODE_ONLY, llvm_ar=True))
@given(case=x86_64_archive_cases())
def test_macho_archive_members_pulled_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: ArchiveCase,
) -> None:
    record(case.program, describe_archive(case, "macho"))
    work = tmp_path_factory.mktemp("macho-ar")
    problems = archive_problems(case, work, "x86_64", ("modern", "classic"))
    assert not problems, "\n".join(problems)
    inputs, taken, stubs = _inputs(case, work / "lld", macho64.write_objects, lld=True)
    expected = outcome(linked_program(case.program))
    exe = work / "lld.out"
    refused = macho64.link_lld(inputs, stubs, exe)
    assert not refused, f"ld64.lld refused: {refused}"
    problems = [*judge.structure(exe), *judge.fields(exe, taken), *absent(exe, case),
                *judge.emulated(exe, expected, "lazy"), *judge.emulated(exe, expected, "now")]
    assert not problems, "ld64.lld:\n" + "\n".join(problems)


@_budget()
@example(case=sample_case(MACHO_I386_SAMPLE, weak_head=True))
@example(case=sample_case(MACHO_I386_SAMPLE, llvm_ar=True))
@given(case=i386_archive_cases())
def test_macho_i386_archive_members_pulled_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: ArchiveCase,
) -> None:
    record(case.program, describe_archive(case, "macho-i386"))
    problems = archive_problems(case, tmp_path_factory.mktemp("macho32-ar"), "i386",
                                tuple(macho32.MODES))
    assert not problems, "\n".join(problems)


def archive_problems(case: ArchiveCase, work: Path, arch: str, modes: tuple[str, ...]
                     ) -> list[str]:
    """Every judge's problems with linkharness's links of `case` in `modes` (x86_64:
    "modern", "classic"; i386: fuzz.macho.pipeline_i386.MODES)."""
    expected = outcome(linked_program(case.program))
    write = macho64.write_objects if arch == "x86_64" else macho32.write_objects
    inputs, taken, stubs = _inputs(case, work, write)
    exit_call = arch == "i386" and macho32.exits_through_libsystem(case.variant)
    problems = []
    for mode in modes:
        exe = work / f"{mode}.out"
        if arch == "x86_64":
            macho64.link_linkharness(inputs, stubs, exe, classic=mode == "classic")
        else:
            macho32.link_linkharness(inputs, stubs, exe, mode)
        problems += [f"linkharness {arch} {mode}: {p}" for p in [
            *judge.structure(exe), *judge.fields(exe, taken), *absent(exe, case),
            *judge_i386.emulated(exe, expected, "lazy", exit_call),
            *judge_i386.emulated(exe, expected, "now", exit_call)]]
    return problems
