"""One fuzz example through property (a) or property (b), stage by stage, on a StageClock.

Only the fuzz package's public functions are used (pipeline, judge, semantics), the same
ones the properties call, so the costs measured are the properties' own. A stage that finds
problems does not stop the example: the next stages still run and are timed, as the
property would have run them had the check passed; the problems are counted.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.stage_clock import StageClock
from fuzz import judge
from fuzz.coverage import describe
from fuzz.debug_judge import debug_info
from fuzz.model import Program
from fuzz.pie import pie_form
from fuzz.pipeline import (
    REFERENCE_LINKERS,
    LinkOptions,
    libraries,
    link_linkharness,
    link_with,
    write_objects,
)
from fuzz.semantics import Outcome, outcome
from linker import LinkError

MODEL, WRITE = "model (pie form, coverage, outcome)", "writing objects"


def property_a(program: Program, options: LinkOptions, work: Path, lib_dir: Path,
               clock: StageClock) -> list[str]:
    """linkharness link + oracle.check + relocation fields + emulation lazy and now, on the
    PIE form of the model when it is linked -pie, with its coverage labels recorded, as
    fuzz/test_linkharness.py does."""
    with clock.stage(MODEL):
        expected = outcome(program)
        if options.pie:
            program = pie_form(program)
        describe(program)  # the labels record() tallies (its event() needs a running test)
    with clock.stage(WRITE):
        objs = write_objects(program, work)  # beside the output, as the property has them
    libs = libraries(program, lib_dir)
    return linked_and_judged(lambda exe: link_linkharness(objs, libs, exe, options),
                             work / "linkharness.out", objs, expected, lib_dir, clock)


def linked_and_judged(link: Callable[[Path], None], exe: Path, objs: list[Path],
                      expected: Outcome, lib_dir: Path, clock: StageClock) -> list[str]:
    """The ELF properties' common tail, each step its own stage: link `exe` with
    linkharness, then what judge.everything runs: oracle.check, the field oracle, the
    debug-information judge and two emulated runs (lazy, now)."""
    with clock.stage("linking (linkharness)"):
        try:
            link(exe)
        except LinkError as err:
            return [f"linkharness: {err}"]
    with clock.stage("oracle.check"):  # the file read once, as judge.everything does
        data = exe.read_bytes()
        problems = judge.structure(data)
    with clock.stage("relocation-field oracle"):
        problems += judge.fields(exe, objs)
    with clock.stage("debug-information judge"):  # judge.everything's, fuzz/debug_judge.py
        problems += debug_info(exe)
    with clock.stage("emulating (lazy + now)"):
        seed = zlib.crc32(data)  # judge.load_seed's
        problems += judge.emulated(exe, expected, lib_dir, "lazy", seed)
        problems += judge.emulated(exe, expected, lib_dir, "now", seed)
    return problems


def property_b(program: Program, options: LinkOptions, work: Path, lib_dir: Path,
               clock: StageClock) -> list[str]:
    """Every reference linker + emulation of each, linkharness + native runs lazy and now."""
    options = replace(options, pie=False)  # (b) draws no -pie (fuzz/test_differential.py)
    with clock.stage(MODEL):
        expected = outcome(program)
    with clock.stage(WRITE):
        objs = write_objects(program, work / "objects")
    libs = libraries(program, lib_dir)
    problems: list[str] = []
    for linker in REFERENCE_LINKERS:
        exe = work / f"{linker}.out"
        with clock.stage(f"linking ({'+'.join(REFERENCE_LINKERS)})"):
            linked = link_with(linker, objs, libs, exe)
        if not linked.ok:
            problems.append(f"{linker} rejected the model: {linked.stderr}")
            continue
        with clock.stage(f"emulating {len(REFERENCE_LINKERS)} outputs (lazy)"):
            problems += [f"{linker}: {p}" for p in judge.emulated(exe, expected, lib_dir,
                                                                   "lazy")]
    exe = work / "linkharness.out"
    with clock.stage("linking (linkharness)"):
        try:
            link_linkharness(objs, libs, exe, options)
        except LinkError as err:
            return [*problems, f"linkharness: {err}"]
    with clock.stage("native runs (lazy + LD_BIND_NOW)"):
        problems += judge.native(exe, expected, lib_dir)
        problems += judge.native(exe, expected, lib_dir, bind_now=True)
    return problems
