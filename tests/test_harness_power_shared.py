"""The harness's power over shared libraries and the executables that use them: seed bugs
into linkharness's -shared and -pie paths, one at a time, and require the modules property's
judges (fuzz.modules_judge: checker, field oracle, emulated runs at drawn load bases,
native runs) to catch each.

The programs: fuzz.modules_samples' SAMPLE in two seats — linkharness making the libraries
for lld's executable, and lld's libraries under linkharness's PIE — SAMPLE_LISTED (libraries
linked with --dynamic-list) and SAMPLE_SYMBOLIC (-Bsymbolic-functions, --default-symver) by linkharness
alone, then two drawn
programs with linkharness in both seats.  Objects are compiled once; each mutant
relinks.  Every mutant must be caught; the table is printed (`-s`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz.libtrace import build_libraries
from fuzz.modules import ModuleProgram, programs
from fuzz.modules_build import BuildOptions
from fuzz.modules_judge import compile_all, judge_seat
from fuzz.modules_samples import SAMPLE, SAMPLE_LISTED, SAMPLE_SYMBOLIC
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from linker.elf import dso
from linker.elf import link as elf_link
from linker.model import SymType, Visibility
from linker.scan import DynamicWordSite

DRAWN = 2
MUTANTS = Mutants()
mutant = MUTANTS


def _wrap(mp: pytest.MonkeyPatch, name: str, after: Callable[..., Any]) -> None:
    """Replace linker.elf.link's `name` by a call to the original followed by `after(result,
    *args)`, whose return value (when not None) replaces the result."""
    original = getattr(elf_link, name)

    def patched(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        changed = after(result, *args)
        return result if changed is None else changed

    mp.setattr(elf_link, name, patched)


@mutant("a RELATIVE relocation left out (its count kept right)")
def _missing_relative(mp: pytest.MonkeyPatch) -> None:
    def drop(_: None, tables: Any, *rest: Any) -> None:
        if tables.relative_count:
            del tables.rela_dyn[tables.relative_count - 1]
            tables.relative_count -= 1
    _wrap(mp, "plan_relative", drop)


@mutant("DT_RELACOUNT one past the RELATIVE relocations")
def _relative_count(mp: pytest.MonkeyPatch) -> None:
    def count(_: None, tables: Any, *rest: Any) -> None:
        if tables.relative_count:
            tables.relative_count += 1
    _wrap(mp, "plan_relative", count)


def _preemptible_except(mp: pytest.MonkeyPatch, local: Callable[[Any], bool]) -> None:
    """Definitions for which `local(sym)` holds bound inside the library (not preemptible)."""
    def decide(flags: Any, symtab: Any, shared: Any, exported: Any) -> None:
        if shared is None:
            return
        for sym in exported:
            if not sym.imported and local(sym):
                flags[sym.id] = False
    _wrap(mp, "preemptible_ids", decide)


@mutant("a library's default-visibility data bound locally (RELATIVE, no GLOB_DAT)")
def _data_bound_locally(mp: pytest.MonkeyPatch) -> None:
    _preemptible_except(mp, lambda sym: sym.type == SymType.OBJECT)


@mutant("a library's calls to its own default functions bound locally (no PLT)")
def _calls_bound_locally(mp: pytest.MonkeyPatch) -> None:
    _preemptible_except(mp, lambda sym: sym.type == SymType.FUNC)


@mutant("a protected function treated as hidden (left out of .dynsym)")
def _protected_not_exported(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.exported_by_shared

    def exported(symtab: Any, opts: Any) -> Any:
        return [s for s in original(symtab, opts) if s.visibility != Visibility.PROTECTED]
    mp.setattr(elf_link, "exported_by_shared", exported)


@mutant("a symbolic dynamic relocation's addend off by a word")
def _symbolic_addend(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.plan_relocations

    def plan(tables: Any, arch: Any, layout: Any, synthetic: Any, scan: Any,
             symtab: Any) -> None:
        sites: list[DynamicWordSite] = scan.dynamic_words
        sites[:] = [dataclasses.replace(s, addend=s.addend + arch.word) if s.addend else s
                    for s in sites]
        original(tables, arch, layout, synthetic, scan, symtab)
    mp.setattr(elf_link, "plan_relocations", plan)


@mutant("PT_GNU_RELRO ending where .got starts")
def _relro_before_got(mp: pytest.MonkeyPatch) -> None:
    def shorten(region: Any, relro: Any, *rest: Any) -> Any:
        got = next((o for o in relro if o.name == ".got"), None)
        if region is None or got is None or got.addr <= region.addr:
            return None
        return dataclasses.replace(region, size=got.addr - region.addr)
    _wrap(mp, "relro_region", shorten)


@mutant("the soname written from the output's directory entry, not -soname")
def _soname(mp: pytest.MonkeyPatch) -> None:
    original = dso.SharedOptions

    def options(**kwargs: Any) -> Any:
        kwargs["soname"] = f"lib{kwargs.get('soname') or 'x'}.so"
        return original(**kwargs)
    mp.setattr(dso, "SharedOptions", options)


@mutant("JUMP_SLOT naming the next .dynsym entry")
def _jump_slot_symbol(mp: pytest.MonkeyPatch) -> None:
    def shift(_: None, tables: Any, arch: Any, *rest: Any) -> None:
        tables.rela_plt[:] = [dataclasses.replace(r, dynsym=r.dynsym + 1)
                              if r.type == arch.dyn.jump_slot else r for r in tables.rela_plt]
    _wrap(mp, "plan_relocations", shift)


@mutant("a PIE's COPY relocations left out")
def _no_copy(mp: pytest.MonkeyPatch) -> None:
    def drop(_: None, tables: Any, arch: Any, *rest: Any) -> None:
        tables.rela_dyn[:] = [r for r in tables.rela_dyn if r.type != arch.dyn.copy]
    _wrap(mp, "plan_relocations", drop)


@mutant("a preemptible symbol's GOT load relaxed to lea (bound locally)")
def _relaxed_preemptible(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.relax_got_loads

    def relax(symtab: Any, preemptible: Any) -> Any:
        imports_only = np.array([s.imported for s in symtab.symbols], dtype=bool)
        return original(symtab, preemptible[:len(imports_only)] & imports_only)
    mp.setattr(elf_link, "relax_got_loads", relax)


@mutant("a general-dynamic DTPOFF one word past its variable")
def _dtpoff(mp: pytest.MonkeyPatch) -> None:
    def shift(_: None, tables: Any, arch: Any, *rest: Any) -> None:
        tables.rela_dyn[:] = [dataclasses.replace(r, addend=r.addend + arch.word)
                              if r.type == arch.dyn.dtpoff else r for r in tables.rela_dyn]
    _wrap(mp, "plan_tls_relocations", shift)


@mutant("an executable's TPOFF against a library's variable left out")
def _no_tpoff(mp: pytest.MonkeyPatch) -> None:
    def drop(_: None, tables: Any, arch: Any, *rest: Any) -> None:
        tables.rela_dyn[:] = [r for r in tables.rela_dyn
                              if not (r.type == arch.dyn.tpoff and r.dynsym)]
    _wrap(mp, "plan_tls_relocations", drop)


@mutant("--dynamic-list ignored in -shared (every export stays preemptible)")
def _dynamic_list_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(dso, "_listed", lambda sym, opts: True)


@mutant("--dynamic-list read as -Bsymbolic (the listed names bound locally too)")
def _dynamic_list_binds_all(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(dso, "_listed", lambda sym, opts: False)


def _symbolic_as(mp: pytest.MonkeyPatch, what: str) -> None:
    original = dso.SharedOptions

    def options(**kwargs: Any) -> Any:
        if kwargs.get("symbolic") == "functions":
            kwargs["symbolic"] = what
        return original(**kwargs)
    mp.setattr(dso, "SharedOptions", options)


@mutant("-Bsymbolic-functions ignored (a library's own calls stay preemptible)")
def _symbolic_functions_ignored(mp: pytest.MonkeyPatch) -> None:
    _symbolic_as(mp, "none")


@mutant("-Bsymbolic-functions read as -Bsymbolic (data bound locally too)")
def _symbolic_functions_binds_data(mp: pytest.MonkeyPatch) -> None:
    _symbolic_as(mp, "all")


@mutant("--default-symver ignored (the exports stay unversioned)")
def _default_symver_ignored(mp: pytest.MonkeyPatch) -> None:
    original = dso.SharedOptions

    def options(**kwargs: Any) -> Any:
        kwargs["default_symver"] = False
        return original(**kwargs)
    mp.setattr(dso, "SharedOptions", options)


@mutant("--default-symver's node defined, but the exports left at the base version")
def _default_symver_base_index(mp: pytest.MonkeyPatch) -> None:
    def base(indices: Any, shared: Any, exported: Any) -> Any:
        return {gid: 1 for gid in indices} if shared.default_symver else None
    _wrap(mp, "version_indices", base)


SEATS = (("linkharness", "lld"), ("lld", "linkharness"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, list[tuple[ModuleProgram, list[list[Path]], tuple[str, str]]]]:
    libtrace = tmp_path_factory.mktemp("libtrace")
    build_libraries(libtrace)
    options = BuildOptions()
    cases = []
    work = tmp_path_factory.mktemp("sample")
    objects = compile_all(SAMPLE, options, work)
    cases += [(SAMPLE, objects, seat) for seat in SEATS]
    listed = compile_all(SAMPLE_LISTED, options, tmp_path_factory.mktemp("listed"))
    cases.append((SAMPLE_LISTED, listed, ("linkharness", "linkharness")))
    symbolic = compile_all(SAMPLE_SYMBOLIC, options, tmp_path_factory.mktemp("symbolic"))
    cases.append((SAMPLE_SYMBOLIC, symbolic, ("linkharness", "linkharness")))
    for n, program in enumerate(collect(programs(), DRAWN)):
        objects = compile_all(program, options, tmp_path_factory.mktemp(f"drawn{n}"))
        cases.append((program, objects, ("linkharness", "linkharness")))
    return libtrace, cases


def test_every_seeded_shared_bug_is_caught(
        prepared: tuple[Path, list[tuple[ModuleProgram, list[list[Path]], tuple[str, str]]]],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    libtrace, cases = prepared
    options = BuildOptions()

    def exposed() -> str | None:
        for program, objects, seat in cases:
            work = tmp_path_factory.mktemp("seat")
            verdict = judge_seat(program, objects, options, seat, work, libtrace,
                                 native=False)
            if verdict.problems:
                return verdict.problems[0]
        return None

    baseline = exposed()
    assert baseline is None, f"the unmutated linker already fails: {baseline}"
    results = seed_each(MUTANTS, exposed)
    killed = print_kill_table("shared output", results)
    assert len(MUTANTS) >= 8
    assert killed == len(results), [n for n, how in results.items() if not how]
