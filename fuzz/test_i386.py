"""i386 properties: drawn models lowered to i386 (fuzz.lower_i386) and written by our ELF32
REL writer, or, for a quarter of the examples, assembled from the same text by `as --32`.

- linkharness (`target="elf32-i386"`): no oracle.check violation, no relocation-field
  mismatch, emulated lazy and now = model, whatever the input order, -z now, hash style;
- bfd, gold, lld and mold (`-m elf_i386`) outputs emulated = model and clean by the field
  oracle (its i386 facts held against the references), GNU ld's also run natively (the
  generator and the model against the machine); linkharness's output also run natively
  (lazy and LD_BIND_NOW) against the -m32 libtrace libraries;
- cross-format: the same model as elf64 and as elf32, both linked by linkharness, runs with
  the same trace and status (and both are the model's);
- error models (undefined, duplicate, a narrow field just past its edge): every linker
  refuses, linkharness names the culprit and the object and leaves no output.
The every-flavour i386 sample (fuzz.samples_i386) is an explicit example of each.  With
FUZZ_KEEP set, a failing linkharness example is saved as an `elf32-i386` corpus case.

mold 1.10.1 gets two allowances, both its own bugs (the other three linkers and the model
agree): it computes a no-base `R_386_GOT32X` (`call *f@GOT`) as G + A - GOT instead of the
psABI's G + A, so mold links the objects lowered with every GOT reference based on %ebx; and
it reads the implicit addend of `R_386_PC8`/`R_386_PC16` zero-extended (a negative one is
"out of range"), so examples whose objects hold one are not given to mold.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz import judge
from fuzz.assemble_i386 import assemble_i386
from fuzz.coverage import describe_i386, record
from fuzz.keep import kept_on_failure
from fuzz.lower_i386 import lower_i386
from fuzz.model import ErrorKind, Program
from fuzz.pipeline import REFERENCE_LINKERS, libraries, link_linkharness, write_objects
from fuzz.pipeline_i386 import (
    NO_CHOICES,
    TARGET,
    asm_text_i386,
    link_linkharness_i386,
    link_with_i386,
    write_objects_i386,
)
from fuzz.samples_i386 import SAMPLE_I386
from fuzz.semantics import outcome
from fuzz.strategies import NARROW_UNCHECKED_BY
from fuzz.strategies_i386 import (
    SAMPLE_CASE,
    I386Case,
    i386_cases,
    i386_error_programs,
    narrow_overflow,
)
from linker import LinkError
from oracle.emulate import run

# ci-profile example counts (the fuzz profile keeps its own)
CI_EXAMPLES = {"linkharness": 40, "differential": 20, "cross_format": 20, "errors": 20}


def _budget(prop: str) -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES[prop])
    return settings(current)


def _record(case: I386Case) -> None:
    record(case.program, describe_i386(case.program, case.choices.no_base_objects), x86_64_relocs=False)


def mold_misreads(program: Program) -> bool:
    """Our objects hold a negative implicit addend in an R_386_PC8/PC16 field (mold 1.10.1
    reads those zero-extended)."""
    return any(r.type in ("R_386_PC8", "R_386_PC16") and r.addend < 0
               for image in map(assemble_i386, lower_i386(program))
               for sec in image.sections for r in sec.relocs)


@_budget("linkharness")
@example(case=SAMPLE_CASE, also_as=0)
@given(case=i386_cases(), also_as=st.integers(0, 3))
def test_linkharness_i386_output_is_right_by_every_check(
    libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory, case: I386Case,
    also_as: int,
) -> None:
    _record(case)
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("i386")
    libs = libraries(case.program, libtrace_dir_i386)
    for use_as in (False, True) if also_as == 0 else (False,):
        objs = write_objects_i386(case.program, work / str(use_as), use_as, case.choices)
        exe = work / f"{use_as}.out"
        with kept_on_failure("i386", case.program, case.options.ordered(objs), libs,
                             case.options.bind_now, TARGET,
                             asm_text_i386(case.program, case.choices), case.options):
            link_linkharness_i386(objs, libs, exe, case.options)
            problems = judge.everything(exe, objs, expected, libtrace_dir_i386)
            assert not problems, "objects from " + \
                f"{'as --32' if use_as else 'our writer'}:\n" + "\n".join(problems)


@_budget("differential")
@example(case=SAMPLE_CASE)
@given(case=i386_cases())
def test_i386_reference_linkers_and_native_run_agree_with_the_model(
    libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory, case: I386Case,
) -> None:
    _record(case)
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("i386diff")
    objs = write_objects_i386(case.program, work / "objs", choices=case.choices)
    based = write_objects_i386(case.program, work / "based", choices=NO_CHOICES)
    libs = libraries(case.program, libtrace_dir_i386)
    problems: list[str] = []
    for linker in REFERENCE_LINKERS:
        if linker == "mold" and mold_misreads(case.program):
            event("i386: mold skipped (negative PC8/PC16 implicit addend)")
            continue
        exe = work / f"{linker}.out"
        inputs = based if linker == "mold" else objs
        linked = link_with_i386(linker, inputs, libs, exe)
        assert linked.ok, f"generator bug: {linker} rejects a valid model: {linked.stderr}"
        # the field oracle's i386 facts (GOT32X forms, REL addends, ranges), held against
        # the references' outputs: a fact both the oracle and linkharness got wrong shows
        problems += [f"{linker}: {p}" for p in [
            *judge.emulated(exe, expected, libtrace_dir_i386, "lazy"),
            *judge.fields(exe, inputs)]]
    # the generator itself, on the machine: GNU ld's output run natively
    problems += [f"bfd: {p}" for p in judge.native(work / "bfd.out", expected,
                                                    libtrace_dir_i386)]
    assert not problems, "oracle or generator bug:\n" + "\n".join(problems)
    exe = work / "linkharness.out"
    with kept_on_failure("i386-differential", case.program, case.options.ordered(objs),
                         libs, case.options.bind_now, TARGET,
                         asm_text_i386(case.program, case.choices), case.options):
        link_linkharness_i386(objs, libs, exe, case.options)
        problems = [*judge.native(exe, expected, libtrace_dir_i386),
                    *judge.native(exe, expected, libtrace_dir_i386, bind_now=True)]
        assert not problems, "linkharness: " + "\n".join(problems)


def _emulated(exe: Path, lib_dir: Path) -> tuple[tuple[tuple[str, str, tuple[int, ...]], ...],
                                                 int | None, tuple[str, ...]]:
    result = run(exe, library_path=[lib_dir], seed=judge.load_seed(exe))
    return (tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace),
            result.exit_code, tuple(f.describe() for f in result.faults))


@_budget("cross_format")
@example(case=SAMPLE_CASE)
@given(case=i386_cases())
def test_elf64_and_elf32_builds_of_one_model_behave_alike(
    libtrace_dir: Path, libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory,
    case: I386Case,
) -> None:
    _record(case)
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("cross")
    objs64 = write_objects(case.program, work / "elf64")
    link_linkharness(objs64, libraries(case.program, libtrace_dir), work / "elf64.out",
                     case.options)
    objs32 = write_objects_i386(case.program, work / "elf32", choices=case.choices)
    link_linkharness_i386(objs32, libraries(case.program, libtrace_dir_i386),
                          work / "elf32.out", case.options)
    run64 = _emulated(work / "elf64.out", libtrace_dir)
    run32 = _emulated(work / "elf32.out", libtrace_dir_i386)
    assert run64 == run32, f"elf64 {run64} != elf32 {run32}"
    want = tuple((t.library, t.symbol, t.args) for t in expected.trace)
    assert run32 == (want, expected.status, ()), f"both {run32} != model"


@_budget("errors")
@example(program=narrow_overflow(SAMPLE_I386, 1, "r8"))
@example(program=narrow_overflow(SAMPLE_I386, 2, "r16"))
@example(program=narrow_overflow(SAMPLE_I386, 0, "pc8"))
@given(program=i386_error_programs())
def test_every_linker_refuses_an_i386_error_model(
    libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory, program: Program,
) -> None:
    """Undefined, duplicate, and a narrow field just past its edge: linkharness raises a
    LinkError naming the culprit and the object at fault, leaves no output, and bfd, lld and
    mold refuse too (gold does not check 8/16-bit fields: NARROW_UNCHECKED_BY; mold reads the
    PC8 overflow's -128 as +128)."""
    assert program.culprit is not None and program.error is not None
    record(program, {"i386", f"i386:error:{program.error.value}",
                     f"i386:error:{program.error.value}:{program.culprit}"})
    work = tmp_path_factory.mktemp("i386err")
    objs = write_objects_i386(program, work)
    libs = libraries(program, libtrace_dir_i386)
    for linker in REFERENCE_LINKERS:
        if linker in NARROW_UNCHECKED_BY and program.error is ErrorKind.OVERFLOW:
            continue
        if linker == "mold" and mold_misreads(program):  # -128 read as +128: fits
            continue
        linked = link_with_i386(linker, objs, libs, work / f"{linker}.out")
        assert not linked.ok, f"generator bug: {linker} accepts a {program.error} model"
    exe = work / "linkharness.out"
    with kept_on_failure("i386-errors", program, objs, libs, False, TARGET,
                         asm_text_i386(program)):
        with pytest.raises(LinkError) as caught:
            link_linkharness_i386(objs, libs, exe)
        message = str(caught.value)
        assert program.culprit in message, message
        assert f"{program.culprit_object}.o" in message, message
        assert not exe.exists(), "a failed link left an output behind"
