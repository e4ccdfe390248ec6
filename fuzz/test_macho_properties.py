"""Mach-O properties: drawn models in the Mach-O subset, written by our MH_OBJECT writer.

- linkharness, modern (LC_MAIN; for a quarter of the examples also from llvm-mc-14's objects
  assembled from the same lowering as text) and classic (LC_UNIXTHREAD; pointers to imports
  in data as LC_DYSYMTAB external relocations, pointers into the image as local ones):
  oracle.check finds nothing, the Mach-O field oracle no mismatch (every pointer into a PIE
  slid included), and the emulated dyld (lazy and now) gives the model's trace and exit status;
- differential: ld64.lld-14 links the same objects, and its output passes the same checks;
- cross-format: the same model written as ELF objects and linked by linkharness runs with the
  same trace (library names aside) and status as the Mach-O executable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from fuzz import pipeline as elf_pipeline
from fuzz.coverage import describe_macho, record
from fuzz.macho import judge, pipeline
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.strategies import MachoCase, macho_cases
from fuzz.macho.tbd import write_tbds
from fuzz.semantics import outcome
from oracle.emulate import run

SAMPLE_CASE = MachoCase(MACHO_SAMPLE, 0)  # SAMPLE, plus import pointers with addends


def _objects(case: MachoCase, work: Path) -> tuple[list[Path], list[Path]]:
    objs = pipeline.write_objects(case.program, work / "objs", case.variant)
    return objs, write_tbds(work / "stubs", case.program.libraries)


def test_linkharness_macho_modern_and_classic(
    repeat_property: Callable[[Callable[[], None]], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    @example(case=SAMPLE_CASE, also_asm=0)
    @given(case=macho_cases(), also_asm=st.integers(0, 3))
    def prop(case: MachoCase, also_asm: int) -> None:
        record(case.program, describe_macho(case.program, case.variant))
        expected = outcome(case.program)
        work = tmp_path_factory.mktemp("macho")
        objs, stubs = _objects(case, work)
        builds = [("modern", objs, False), ("classic", objs, True)]
        if also_asm == 0:  # a quarter of the examples: llvm-mc's objects from our text
            asm = pipeline.write_asm_objects(case.program, work / "asm", case.variant)
            builds.append(("modern, llvm-mc objects", asm, False))
        event(f"macho: pointers to imports in data: {case.import_pointers}")
        for how, inputs, classic in builds:
            exe = work / f"{len(how)}.out"
            pipeline.link_linkharness(inputs, stubs, exe, classic=classic)
            problems = judge.everything(exe, inputs, case.program, expected)
            assert not problems, f"linkharness {how}:\n" + "\n".join(problems)

    repeat_property(prop)


def test_lld_output_runs_as_the_model_says(
    repeat_property: Callable[[Callable[[], None]], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    @example(case=SAMPLE_CASE)
    @given(case=macho_cases())
    def prop(case: MachoCase) -> None:
        expected = outcome(case.program)
        work = tmp_path_factory.mktemp("lld")
        objs, stubs = _objects(case, work)
        exe = work / "lld.out"
        refused = pipeline.link_lld(objs, stubs, exe)
        assert not refused, f"ld64.lld-14 rejects a valid model (generator bug): {refused}"
        problems = judge.everything(exe, objs, case.program, expected)
        assert not problems, "ld64.lld-14 output:\n" + "\n".join(problems)

    repeat_property(prop)


def test_elf_and_macho_builds_behave_alike(
    repeat_property: Callable[[Callable[[], None]], None], libtrace_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    @example(case=SAMPLE_CASE)
    @given(case=macho_cases())
    def prop(case: MachoCase) -> None:
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

    repeat_property(prop)
