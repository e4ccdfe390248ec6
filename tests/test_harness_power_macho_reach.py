"""Harness power for fuzz/test_macho_reach.py: seeded bugs in Mach-O archive loading (x86_64
and i386) and in the Mach-O error models, each caught by that property's judges on the
archived samples and a deterministic handful of drawn cases, or, for the error models, by a
link that should fail succeeding."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from fuzz.macho import judge, pipeline, subtractor
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.reach import CHAIN_SAMPLE, archived, judged, macho_error_cases, package
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.strategies import macho_cases
from fuzz.macho.strategies_i386 import macho_i386_cases
from fuzz.macho.tbd import write_tbds
from fuzz.model import Program
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from fuzz.semantics import outcome
from linker import LinkError
from linker.elf import archive as archive_module
from linker.kinds import Overflow
from linker.macho import read as macho_read
from linker.macho import relocs_x86_64
from linker.macho.load import MachoLoader, read_macho_object
from linker.resolve import SymbolTable

DRAWN = 4
MUTANTS = Mutants()
mutant = MUTANTS


@mutant("a rebuilt archive index names the next member", "archives")
def _index_off_by_one(mp: pytest.MonkeyPatch) -> None:
    original = archive_module._scan_index

    def scan(path: str, members: Any, names: Any) -> dict[str, list[int]]:
        index = original(path, members, names)
        return {k: [(m + 1) % len(members) for m in v] for k, v in index.items()}
    mp.setattr(archive_module, "_scan_index", scan)


@mutant("an archive is searched in one round (a member only another member needs is missed)",
        "archives")
def _one_round(mp: pytest.MonkeyPatch) -> None:
    original = MachoLoader._pull
    searched: set[int] = set()

    def pull(self: MachoLoader, archive: Any, loaded: set[int]) -> bool:
        if id(archive) in searched:
            return False
        searched.add(id(archive))
        return bool(original(self, archive, loaded))
    mp.setattr(MachoLoader, "_pull", pull)


@mutant("a duplicate definition is accepted (the first one wins)", "errors")
def _duplicate_accepted(mp: pytest.MonkeyPatch) -> None:
    original = SymbolTable._add_definition

    def add(self: SymbolTable, sym: Any, obj: Any, i: int, weak: bool) -> None:
        if sym.file is not None and not sym.common:
            return
        original(self, sym, obj, i, weak)
    mp.setattr(SymbolTable, "_add_definition", add)


@mutant("every archive member is loaded, needed or not (as -all_load)", "archives")
def _all_load(mp: pytest.MonkeyPatch) -> None:
    original = MachoLoader._pull

    def pull(self: MachoLoader, archive: Any, loaded: set[int]) -> bool:
        added = bool(original(self, archive, loaded))
        indexed = {n for members in archive.index.values() for n in members}
        for n, member in enumerate(archive.members):
            if n in indexed and n not in loaded:
                loaded.add(n)
                self._add_object(read_macho_object(member.data,
                                                   archive_module.member_path(archive, member)))
                added = True
        return added
    mp.setattr(MachoLoader, "_pull", pull)


def _subtractor32(mp: pytest.MonkeyPatch, overflow: Overflow) -> None:
    """The reader's x86_64 table with SUBTRACTOR(32)'s range rule replaced."""
    key = relocs_x86_64.HOWTO_INDEX[(relocs_x86_64.SUBTRACTOR, 0, 2)]
    layout = macho_read._LAYOUTS[macho_read.MH_MAGIC_64]
    howtos = list(layout.howtos)
    howtos[key] = replace(howtos[key], overflow=overflow)
    mp.setitem(macho_read._LAYOUTS, macho_read.MH_MAGIC_64,
               layout._replace(howtos=tuple(howtos)))


@mutant("SUBTRACTOR(32) is not range-checked", "SUBTRACTOR ranges")
def _subtractor_unchecked(mp: pytest.MonkeyPatch) -> None:
    _subtractor32(mp, Overflow.NONE)


@mutant("SUBTRACTOR(32) is checked as unsigned", "SUBTRACTOR ranges")
def _subtractor_unsigned(mp: pytest.MonkeyPatch) -> None:
    _subtractor32(mp, Overflow.UNSIGNED)


@dataclass(frozen=True)
class Valid:
    program: Program
    inputs: list[Path]
    taken: list[Path]
    stubs: list[Path]
    exit_call: bool | None  # None: x86_64


@dataclass(frozen=True)
class Cases:
    root: Path
    valid: list[Valid]
    errors: list[tuple[list[Path], list[Path]]]  # (objects, stubs)
    subtractor: list[tuple[bool, list[Path]]]  # (past an edge, objects)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power-macho-reach")
    valid = []
    x64 = [(MACHO_SAMPLE, 0), (CHAIN_SAMPLE, 0),
           *((c.program, c.variant) for c in collect(macho_cases(), DRAWN))]
    for n, (program, variant) in enumerate(x64):
        p = archived(program)
        work = root / f"x{n}"
        inputs, taken = package(p, pipeline.write_objects(p, work / "objs", variant), work)
        valid.append(Valid(p, inputs, taken, write_tbds(work / "stubs", p.libraries), None))
    i386 = [(MACHO_I386_SAMPLE, 0),
            *((c.program, c.variant) for c in collect(macho_i386_cases(), DRAWN))]
    for n, (program, variant) in enumerate(i386):
        p = archived(program)
        work = root / f"i{n}"
        inputs, taken = package(p, macho32.write_objects(p, work / "objs", variant), work)
        valid.append(Valid(p, inputs, taken, write_tbds(work / "stubs", p.libraries),
                           macho32.exits_through_libsystem(variant)))
    errors = []
    for n, case in enumerate(collect(macho_error_cases(), 8)):
        work = root / f"e{n}"
        errors.append((pipeline.write_objects(case.program, work / "objs", case.variant),
                       write_tbds(work / "stubs", case.program.libraries)))
    pairs = [(c.overflows, subtractor.write_objects(c, root / f"s{n}"))
             for n, c in enumerate(subtractor.SAMPLES)]
    return Cases(root, valid, errors, pairs)


def _exposed(cases: Cases) -> str | None:
    for n, v in enumerate(cases.valid):
        exe = cases.root / f"v{n}.out"
        try:
            if v.exit_call is None:
                pipeline.link_linkharness(v.inputs, v.stubs, exe)
            else:
                macho32.link_linkharness(v.inputs, v.stubs, exe)
        except LinkError as e:
            return f"archived case {n} refused: {e}"
        problems = judged(exe, v.taken, v.program, outcome(v.program), v.exit_call)
        if problems:
            return f"archived case {n}: {problems[0]}"
    for n, (objects, stubs) in enumerate(cases.errors):
        try:
            pipeline.link_linkharness(objects, stubs, cases.root / "err.out")
        except LinkError:
            continue
        return f"error model {n} linked"
    for n, (past, objects) in enumerate(cases.subtractor):
        exe = cases.root / "sub.out"
        try:
            pipeline.link_linkharness(objects, [], exe)
        except LinkError as e:
            if past:
                continue
            return f"SUBTRACTOR sample {n} in range refused: {e}"
        if past:
            return f"SUBTRACTOR sample {n} past its edge linked"
        problems = [*judge.structure(exe), *judge.fields(exe, objects)]
        if problems:
            return f"SUBTRACTOR sample {n}: {problems[0]}"
    return None


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_macho_reach_bugs_are_caught(cases: Cases) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(cases), crash_kills=True)
    killed = print_kill_table("harness power, Mach-O archives and errors", results, MUTANTS)
    assert killed == len(MUTANTS), results
