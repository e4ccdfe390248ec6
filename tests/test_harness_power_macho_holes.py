"""Harness power over the Mach-O rows that were holes: static archives (x86_64 and i386,
both archive writers), SUBTRACTOR pairs at the edges of their range in a drawn program, the
error models and a dylib's thread-local variables.  (It absorbed session 4's parallel
test_harness_power_macho_reach.py, whose mutants duplicated these but for the index one;
the SUBTRACTOR pairs of two symbols are tests/test_harness_power_macho_ranges.py's.)  Each bug is seeded into
the linker alone and the properties' own checks (fuzz/test_macho_archives.py's
archive_problems, fuzz/test_macho_errors.py's refusal_problems and the Mach-O judges) run on
the samples those properties always run plus a few deterministic draws; every bug must be
caught.  The kill table is printed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fuzz.macho import judge, pipeline
from fuzz.macho.archive import (
    CODE_ONLY,
    ArchiveCase,
    i386_archive_cases,
    sample_case,
    x86_64_archive_cases,
)
from fuzz.macho.errors import ERROR_SAMPLES, macho_error_cases
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.strategies import MachoCase
from fuzz.macho.subtractor import EDGE_SAMPLE, edge_cases
from fuzz.macho.tbd import write_tbds
from fuzz.macho.tlv import TlvCase
from fuzz.macho.tlv_dylib import dylib_aligned_bss, dylib_cases, dylib_sample
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from fuzz.semantics import outcome
from fuzz.test_macho_archives import archive_problems
from fuzz.test_macho_errors import refusal_problems
from fuzz.test_macho_tlv_dylib import dylib_problems
from linker import LinkError
from linker import resolve as resolve_mod
from linker.elf import archive as archive_module
from linker.kinds import Overflow
from linker.macho import load as macho_load
from linker.macho import read as macho_read
from linker.macho import relocs_x86_64 as macho_relocs
from linker.macho import tlv as macho_tlv_linker

DRAWN = 2

MUTANTS = Mutants()
mutant = MUTANTS


@mutant("archive: every member loaded, referenced or not")
def _pull_everything(mp: pytest.MonkeyPatch) -> None:
    original = macho_load.MachoLoader._pull

    def pull(self: Any, archive: Any, loaded: set[int]) -> bool:
        added = bool(original(self, archive, loaded))
        for n, member in enumerate(archive.members):
            if n not in loaded and macho_load.is_macho_object(member.data):
                loaded.add(n)
                obj = macho_load.read_macho_object(member.data, macho_load.member_path(
                    archive, member))
                self._add_object(obj)
                added = True
        return added
    mp.setattr(macho_load.MachoLoader, "_pull", pull)


@mutant("archive: a rebuilt (BSD) index names the next member")
def _bsd_index_off_by_one(mp: pytest.MonkeyPatch) -> None:
    original = archive_module._scan_index

    def scan(path: str, members: Any, names: Any) -> dict[str, list[int]]:
        index = original(path, members, names)
        return {k: [(m + 1) % len(members) for m in v] for k, v in index.items()}
    mp.setattr(archive_module, "_scan_index", scan)


@mutant("archive: a weak reference pulls no member (GNU ld's rule, not ld64's)")
def _weak_does_not_pull(mp: pytest.MonkeyPatch) -> None:
    original = macho_load.MachoLoader._pull

    def pull(self: Any, archive: Any, loaded: set[int]) -> bool:
        weak = {n: m for n, m in archive.index.items()
                if (s := self.symtab.by_name.get(n)) is not None and not s.strong_ref}
        for name in weak:
            del archive.index[name]
        try:
            return bool(original(self, archive, loaded))
        finally:
            archive.index.update(weak)
    mp.setattr(macho_load.MachoLoader, "_pull", pull)


@mutant("archive: a member fetched as soon as an object after the archive references it")
def _eager_fetch(mp: pytest.MonkeyPatch) -> None:
    original = macho_load.MachoLoader._add_object

    def add_object(self: Any, obj: Any) -> None:
        original(self, obj)
        while any([self._pull(a, loaded) for a, loaded in self.archives]):  # noqa: C419
            pass
    mp.setattr(macho_load.MachoLoader, "_add_object", add_object)


@mutant("archive: members pulled only when the archive is read (no rescan)")
def _pull_once(mp: pytest.MonkeyPatch) -> None:
    original = macho_load.MachoLoader._pull
    scanned: set[int] = set()

    def pull(self: Any, archive: Any, loaded: set[int]) -> bool:
        if id(archive) in scanned:
            return False
        scanned.add(id(archive))
        return bool(original(self, archive, loaded))
    mp.setattr(macho_load.MachoLoader, "_pull", pull)


def _subtractor32(mp: pytest.MonkeyPatch, overflow: Overflow) -> None:
    n = macho_relocs.HOWTO_INDEX[(macho_relocs.SUBTRACTOR, 0, 2)]
    layout = macho_read._LAYOUTS[macho_read.MH_MAGIC_64]
    howtos = list(layout.howtos)
    howtos[n] = dataclasses.replace(howtos[n], overflow=overflow)
    mp.setitem(macho_read._LAYOUTS, macho_read.MH_MAGIC_64, layout._replace(howtos=tuple(howtos)))


@mutant("SUBTRACTOR(32) not range-checked")
def _sub32_unchecked(mp: pytest.MonkeyPatch) -> None:
    _subtractor32(mp, Overflow.NONE)


@mutant("SUBTRACTOR(32) checked as unsigned")
def _sub32_unsigned(mp: pytest.MonkeyPatch) -> None:
    _subtractor32(mp, Overflow.UNSIGNED)


@mutant("duplicate strong definitions let through (the first wins)")
def _duplicates_allowed(mp: pytest.MonkeyPatch) -> None:
    original = resolve_mod.SymbolTable._add_definition

    def add(self: Any, sym: Any, obj: Any, i: int, weak: bool) -> None:
        if sym.file is not None and not sym.common and not weak \
                and sym.binding != resolve_mod.Binding.WEAK:
            return
        original(self, sym, obj, i, weak)
    mp.setattr(resolve_mod.SymbolTable, "_add_definition", add)


@mutant("an undefined symbol reported without the object that references it")
def _undefined_unplaced(mp: pytest.MonkeyPatch) -> None:
    def check_undefined(self: Any) -> None:
        for sym in self.symbols:
            if sym.strong_ref and sym.undefined:
                raise LinkError("undefined symbol", symbol=sym.name)
    mp.setattr(resolve_mod.SymbolTable, "check_undefined", check_undefined)


@mutant("TLV in a dylib: an imported descriptor's load relaxed as if defined here")
def _tlv_import_relaxed(mp: pytest.MonkeyPatch) -> None:
    original = macho_tlv_linker.relax_descriptor_loads

    def relax(symtab: Any) -> None:
        with pytest.MonkeyPatch.context() as inner:  # "resolved" taken for "defined here"
            inner.setattr(resolve_mod.GlobalSymbol, "defined",
                          property(lambda sym: not sym.undefined))
            inner.setattr(resolve_mod.GlobalSymbol, "imported", property(lambda sym: False))
            original(symtab)
    mp.setattr(macho_tlv_linker, "relax_descriptor_loads", relax)


@mutant("TLV in a dylib: the template starts at __thread_data's own alignment")
def _tlv_template_alignment(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(macho_tlv_linker, "align_template", lambda outs: None)


@dataclasses.dataclass(frozen=True)
class Cases:
    root: Path
    archives: list[tuple[ArchiveCase, str]]
    edges: list[MachoCase]
    errors: list[MachoCase]
    tlv_dylib: list[TlvCase]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    archives = [(sample_case(MACHO_SAMPLE), "x86_64"), (sample_case(MACHO_I386_SAMPLE), "i386"),
                (sample_case(MACHO_SAMPLE, weak_head=True), "x86_64"),
                (sample_case(MACHO_SAMPLE, llvm_ar=True), "x86_64"),
                (sample_case(CODE_ONLY, llvm_ar=True), "x86_64")]
    archives += [(c, "x86_64") for c in collect(x86_64_archive_cases(), DRAWN)]
    archives += [(c, "i386") for c in collect(i386_archive_cases(), DRAWN)]
    return Cases(tmp_path_factory.mktemp("power-macho-holes"), archives,
                 [EDGE_SAMPLE, *collect(edge_cases(), DRAWN)],
                 [*ERROR_SAMPLES, *collect(macho_error_cases(), DRAWN)],
                 [dylib_sample("x86_64"), dylib_sample("i386"), dylib_aligned_bss("x86_64"),
                  *collect(dylib_cases("x86_64"), DRAWN)])


def _exposed(c: Cases, run: list[int]) -> str | None:
    run[0] += 1
    work = c.root / f"run{run[0]}"
    for n, (case, arch) in enumerate(c.archives):
        modes = ("modern", "classic") if arch == "x86_64" else ("modern-10.9",)
        try:
            problems = archive_problems(case, work / f"ar{n}", arch, modes)
        except LinkError as e:
            return f"archive case {n} ({arch}) refused: {e}"
        if problems:
            return f"archive case {n}: {problems[0]}"
    for n, edge in enumerate(c.edges):
        objs = pipeline.write_objects(edge.program, work / f"e{n}", edge.variant)
        stubs = write_tbds(work / f"s{n}", edge.program.libraries)
        exe = work / f"e{n}.out"
        try:
            pipeline.link_linkharness(objs, stubs, exe)
        except LinkError as e:
            return f"edge case {n} refused: {e}"
        problems = judge.everything(exe, objs, edge.program, outcome(edge.program))
        if problems:
            return f"edge case {n}: {problems[0]}"
    for n, err in enumerate(c.errors):
        problems = refusal_problems(err, work / f"x{n}")
        if problems:
            return f"error case {n}: {problems[0]}"
    for n, tcase in enumerate(c.tlv_dylib):
        try:
            problems = dylib_problems(tcase, work / f"t{n}")
        except LinkError as e:
            return f"TLV dylib case {n} refused: {e}"
        if problems:
            return f"TLV dylib case {n}: {problems[0]}"
    return None


def _judge(c: Cases) -> Callable[[], str | None]:
    run = [0]
    return lambda: _exposed(c, run)


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _judge(cases)() is None


def test_seeded_bugs_are_caught(cases: Cases) -> None:
    results = seed_each(MUTANTS, _judge(cases), crash_kills=True)
    killed = print_kill_table("Mach-O archives, SUBTRACTOR edges, error models", results,
                              width=110)
    assert killed == len(MUTANTS), results
