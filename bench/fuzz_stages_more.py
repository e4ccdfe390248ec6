"""The i386 and Mach-O x86-64 linkharness properties, stage by stage, on a StageClock
(bench/fuzz_stages.py has properties (a) and (b)).

- "i386" is fuzz/test_i386.py's first property: the model lowered to i386 and written by our
  ELF32 writer, linked by linkharness for elf32-i386, then oracle.check, the field oracle and
  the emulator lazy and now against the -m32 libtrace libraries;
- "macho" is fuzz/test_macho_properties.py's first: our MH_OBJECT files and .tbd stubs,
  linked three ways (modern, modern with chained fixups, classic), each output judged by
  oracle.check, the Mach-O field oracle and the emulated dyld lazy and now.
The share of examples those properties also assemble with as --32 or llvm-mc is left out, as
for (a).
"""

from __future__ import annotations

from pathlib import Path

from bench.fuzz_stages import MODEL, WRITE, linked_and_judged
from bench.stage_clock import StageClock
from fuzz.coverage import describe, describe_i386, describe_macho
from fuzz.macho import judge as macho_judge
from fuzz.macho import pipeline as macho_pipeline
from fuzz.macho.strategies import MachoCase
from fuzz.macho.tbd import write_tbds
from fuzz.pipeline import libraries
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
from fuzz.semantics import outcome
from fuzz.strategies_i386 import I386Case
from linker import LinkError

MACHO_BUILDS = (("modern", False, False), ("modern, chained fixups", False, True),
                ("classic", True, None))


def property_i386(case: I386Case, work: Path, lib_dir: Path, clock: StageClock) -> list[str]:
    """linkharness -m elf_i386 + oracle.check + relocation fields + emulation lazy and now."""
    with clock.stage(MODEL):
        describe(case.program, x86_64_relocs=False)  # as record() in its test
        describe_i386(case.program, case.choices.no_base_objects)
        expected = outcome(case.program)
    with clock.stage(WRITE):
        objs = write_objects_i386(case.program, work / "objects", False, case.choices)
    libs = libraries(case.program, lib_dir)
    return linked_and_judged(lambda exe: link_linkharness_i386(objs, libs, exe, case.options),
                             work / "linkharness.out", objs, expected, lib_dir, clock)


def property_macho(case: MachoCase, work: Path, _lib_dir: Path,
                   clock: StageClock) -> list[str]:
    """linkharness modern, chained and classic + each output's checks and emulation."""
    with clock.stage(MODEL):
        describe(case.program, x86_64_relocs=False)  # as record() in its test
        describe_macho(case.program, case.variant)
        expected = outcome(case.program)
    with clock.stage(WRITE):
        objs = macho_pipeline.write_objects(case.program, work / "objs", case.variant)
        stubs = write_tbds(work / "stubs", case.program.libraries)
    problems: list[str] = []
    for n, (how, classic, chained) in enumerate(MACHO_BUILDS):
        exe = work / f"{n}.out"
        with clock.stage(f"linking (linkharness x{len(MACHO_BUILDS)})"):
            try:
                macho_pipeline.link_linkharness(objs, stubs, exe, classic=classic,
                                                chained=chained)
            except LinkError as err:
                problems.append(f"linkharness {how}: {err}")
                continue
        with clock.stage("oracle.check"):
            problems += macho_judge.structure(exe)
        with clock.stage("relocation-field oracle"):
            problems += macho_judge.fields(exe, objs)
        with clock.stage("emulating (lazy + now)"):
            problems += macho_judge.emulated(exe, expected, "lazy")
            problems += macho_judge.emulated(exe, expected, "now")
    return problems
