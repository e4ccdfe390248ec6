"""Mach-O properties: drawn models in the Mach-O subset, written by our MH_OBJECT writer.

- linkharness, modern (LC_MAIN; for a quarter of the examples also from llvm-mc-14's objects
  assembled from the same lowering as text), modern with chained fixups (the same objects:
  the model must see the same behaviour from either fixup encoding) and classic
  (LC_UNIXTHREAD; pointers to imports in data as LC_DYSYMTAB external relocations, pointers
  into the image as local ones):
  oracle.check finds nothing, the Mach-O field oracle no mismatch (every pointer into a PIE
  slid included), and the emulated dyld (lazy and now) gives the model's trace and exit status;
- differential: ld64.lld-14 links the same objects, and its output passes the same checks;
- cross-format: the same model written as ELF objects and linked by linkharness runs with the
  same trace (library names aside) and status as the Mach-O executable;
- four targets: one model (the x86-64 Mach-O subset, mapped again into the i386 one) as
  elf64-x86-64, elf32-i386, macho-x86_64 and macho-i386 objects, all linked by linkharness
  and emulated, gives the same trace (library names aside) and status everywhere, the
  model's (the Mach-O i386 properties themselves: fuzz/test_macho_i386.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz import pipeline as elf_pipeline
from fuzz import subject
from fuzz.coverage import describe_macho, record
from fuzz.macho import judge, judge_i386, judge_tables, pipeline
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.judge_tables import TABLE_MODES
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.strategies import MachoCase, macho_cases
from fuzz.macho.strategies_i386 import MachoI386Case, four_target_cases, four_target_program
from fuzz.macho.tbd import write_tbds
from fuzz.model import Program
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
from fuzz.samples import SAMPLE
from fuzz.semantics import Outcome, outcome
from oracle.emulate import run

SAMPLE_CASE = MachoCase(MACHO_SAMPLE, 0)  # SAMPLE, plus import pointers with addends


def _objects(case: MachoCase, work: Path) -> tuple[list[Path], list[Path]]:
    objs = pipeline.write_objects(case.program, work / "objs", case.variant)
    return objs, write_tbds(work / "stubs", case.program.libraries)


@example(case=SAMPLE_CASE, also_asm=0, tables="strip")
@given(case=macho_cases(), also_asm=st.integers(0, 3), tables=st.sampled_from(TABLE_MODES))
def test_linkharness_macho_modern_and_classic(
    tmp_path_factory: pytest.TempPathFactory, case: MachoCase, also_asm: int, tables: str,
) -> None:
    record(case.program, describe_macho(case.program, case.variant), x86_64_relocs=False)
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("macho")
    objs, stubs = _objects(case, work)
    builds = [("modern", objs, False, False), ("modern, chained fixups", objs, False, True),
              ("classic", objs, True, None)]
    if also_asm == 0:  # a quarter of the examples: llvm-mc's objects from our text
        asm = pipeline.write_asm_objects(case.program, work / "asm", case.variant)
        builds.append(("modern, llvm-mc objects", asm, False, None))
    event(f"macho: pointers to imports in data: {case.import_pointers}")
    event(f"macho: symbol table {tables}")
    for n, (how, inputs, classic, chained) in enumerate(builds):
        exe = work / f"{n}.out"
        if n:
            pipeline.link_linkharness(inputs, stubs, exe, classic=classic, chained=chained)
            problems = judge.everything(exe, inputs, case.program, expected)
        else:  # the modern build with the drawn symbol-table option (-s, -x) and --map
            problems = link_tables_and_judge(inputs, stubs, exe, tables, case.program,
                                             expected)
        assert not problems, f"linkharness {how}:\n" + "\n".join(problems)


def link_tables_and_judge(objs: list[Path], stubs: list[Path], exe: Path, tables: str,
                          program: Program, expected: Outcome) -> list[str]:
    """Link modern with a table mode, a JSON and a text map; every judge, plus theirs.
    Another linker in the subject's seat (fuzz/subject.py) is given neither option: its
    output is judged as a full one, without a map."""
    if subject.active():
        pipeline.link_linkharness(objs, stubs, exe)
        return [*judge.everything(exe, objs, program, expected),
                *judge_tables.symbol_table(exe, objs, "full")]
    map_file, text = exe.with_suffix(".map.json"), exe.with_suffix(".map.txt")
    pipeline.link_linkharness(objs, stubs, exe, tables=tables, map_file=map_file,
                              text_map=text)
    return [*judge.everything(exe, objs, program, expected, tables),
            *judge_tables.symbol_table(exe, objs, tables),
            *judge_tables.link_map(map_file, exe), *judge_tables.text_map(text, exe)]


@example(case=SAMPLE_CASE)
@given(case=macho_cases())
def test_lld_output_runs_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: MachoCase,
) -> None:
    expected = outcome(case.program)
    work = tmp_path_factory.mktemp("lld")
    objs, stubs = _objects(case, work)
    exe = work / "lld.out"
    refused = pipeline.link_lld(objs, stubs, exe)
    assert not refused, f"ld64.lld-14 rejects a valid model (generator bug): {refused}"
    problems = judge.everything(exe, objs, case.program, expected)
    assert not problems, "ld64.lld-14 output:\n" + "\n".join(problems)


@example(case=SAMPLE_CASE)
@given(case=macho_cases())
def test_elf_and_macho_builds_behave_alike(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: MachoCase,
) -> None:
    work = tmp_path_factory.mktemp("cross")
    objs, stubs = _objects(case, work)
    macho_exe = work / "macho.out"
    pipeline.link_linkharness(objs, stubs, macho_exe)
    macho_trace, macho_status, faults = judge.emulated_trace(macho_exe, "lazy")
    assert not faults, faults
    elf_objs = elf_pipeline.write_objects(case.program, work / "elf")
    elf_exe = work / "elf.out"
    elf_pipeline.link_linkharness(elf_objs, elf_pipeline.libraries(
        case.program, libtrace_dir), elf_exe)
    result = run(elf_exe, bind="lazy", library_path=[libtrace_dir])
    assert not result.faults, [f.describe() for f in result.faults]
    elf_trace = tuple((judge.macho_library(t.library), t.symbol, tuple(t.args))
                      for t in result.trace)
    assert elf_trace == macho_trace
    assert result.exit_code == macho_status


# the four-target property: one model as elf64, elf32, macho64 and macho32

Trace = judge.Trace
FOUR_TARGET_CI_EXAMPLES = 6  # each example links and runs four programs


def _ci() -> bool:
    return settings.default is not None and settings.default.derandomize


def _same(f: Callable[..., None]) -> Callable[..., None]:
    return f


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


@settings(settings.default, max_examples=FOUR_TARGET_CI_EXAMPLES) if _ci() else _same
@example(case=MachoI386Case(four_target_program(SAMPLE), 1))
@given(case=four_target_cases())
def test_one_model_behaves_alike_on_all_four_targets(
    libtrace_dir: Path, libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory,
    case: MachoI386Case,
) -> None:
    """elf64-x86-64, elf32-i386, macho-x86_64 and macho-i386 builds of one model (in the
    x86-64 Mach-O subset, the narrower, then the i386 one), all linked by linkharness."""
    record(case.program, {"four-targets"})
    program = case.program
    work = tmp_path_factory.mktemp("four")
    runs: dict[str, tuple[Trace, int | None, tuple[str, ...]]] = {}
    objs = elf_pipeline.write_objects(program, work / "elf64")
    elf_pipeline.link_linkharness(objs, elf_pipeline.libraries(program, libtrace_dir),
                                  work / "e64")
    runs["elf64"] = _elf_run(work / "e64", libtrace_dir)
    objs = write_objects_i386(program, work / "elf32")
    link_linkharness_i386(objs, elf_pipeline.libraries(program, libtrace_dir_i386),
                          work / "e32")
    runs["elf32"] = _elf_run(work / "e32", libtrace_dir_i386)
    stubs = write_tbds(work / "stubs", program.libraries)
    objs = pipeline.write_objects(program, work / "macho64", case.variant)
    pipeline.link_linkharness(objs, stubs, work / "m64")
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
