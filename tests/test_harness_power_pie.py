"""Seeded bugs in the position-independent-executable paths (`-pie`), judged on PIE links of
drawn programs made PIE-legal (fuzz/pie.py) by every judge of property (a); every one must
be caught.  Split from tests/test_harness_power.py, which holds the x86-64 families."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

from fuzz import judge
from fuzz.model import Program
from fuzz.pipeline import libraries
from fuzz.power import (
    Mutants,
    WrittenCases,
    case_directories,
    collect,
    first_exposure,
    print_kill_table,
    seed_each,
)
from fuzz.semantics import outcome
from fuzz.strategies import programs
from linker import link
from linker.elf import link as elf_link
from linker.resolve import SymbolTable

PIE_EXAMPLES = 8
PIE_MUTANTS = Mutants()
pie_mutant = PIE_MUTANTS


def _plan_relative(mp: pytest.MonkeyPatch, edit: Callable[[Any, Any], None]) -> None:
    original = elf_link.plan_relative

    def plan(tables: Any, arch: Any, *rest: Any) -> None:
        original(tables, arch, *rest)
        edit(tables, arch)
    mp.setattr(elf_link, "plan_relative", plan)


@pie_mutant("a RELATIVE relocation is missing")
def _relative_missing(mp: pytest.MonkeyPatch) -> None:
    def edit(tables: Any, arch: Any) -> None:
        if tables.relative_count:
            del tables.rela_dyn[0]
            tables.relative_count -= 1
    _plan_relative(mp, edit)


@pie_mutant("a RELATIVE against a preemptible symbol")
def _relative_preemptible(mp: pytest.MonkeyPatch) -> None:
    """An import's GOT slot taken for a local one: rebased (to base + 0), never bound."""
    def edit(tables: Any, arch: Any) -> None:
        imports = [r for r in tables.rela_dyn if r.type == arch.dyn.glob_dat]
        for r in imports:
            r.type, r.dynsym, r.addend, r.addend_at = arch.dyn.relative, 0, 0, None
        rest = [r for r in tables.rela_dyn if r.type != arch.dyn.glob_dat and r not in imports]
        tables.rela_dyn[:] = imports + rest
        tables.relative_count += len(imports)
    _plan_relative(mp, edit)


@pie_mutant("GOT load of an import relaxed to lea")
def _import_got_relaxed(mp: pytest.MonkeyPatch) -> None:
    """Every `mov foo@GOTPCREL(%rip), %reg` (R_X86_64_REX_GOTPCRELX) made `lea foo(%rip)`,
    as bfd, lld and mold do for a symbol defined in the output, but for imports too."""
    from linker import scan as scan_module
    original = scan_module.pick_instruction_forms

    def pick(symtab: SymbolTable) -> None:
        original(symtab)
        for obj in symtab.objects:
            names = [h.name for h in obj.howtos]
            if "R_X86_64_REX_GOTPCRELX" not in names:
                continue
            relaxable, pc32 = names.index("R_X86_64_REX_GOTPCRELX"), names.index("R_X86_64_PC32")
            for sec in obj.sections:
                if sec is None or sec.data is None or not len(sec.relocs):
                    continue
                rows = sec.relocs.rows
                data = bytearray(sec.data)
                for n in np.nonzero(rows["howto"] == relaxable)[0].tolist():
                    at = int(rows["offset"][n])
                    if at >= 2 and data[at - 2] == 0x8B:  # mov -> lea
                        data[at - 2] = 0x8D
                        rows["howto"][n] = pc32
                sec.data = bytes(data)
    mp.setattr(scan_module, "pick_instruction_forms", pick)


PieCases = WrittenCases[Program]


@pytest.fixture(scope="module")
def pie_cases(tmp_path_factory: pytest.TempPathFactory) -> PieCases:
    from fuzz.pie import pie_form, pie_legal
    from fuzz.pipeline import write_objects
    root, lib_dir = case_directories(tmp_path_factory, "power-pie")
    drawn = collect(programs().map(pie_form).filter(pie_legal), PIE_EXAMPLES)
    return PieCases(root, lib_dir, [(p, write_objects(p, root / f"p{n}"))
                                    for n, p in enumerate(drawn)])


def _pie_judged(cases: PieCases, n: int) -> list[str]:
    program, objects = cases.cases[n]
    exe = cases.root / f"pie{n}"
    link([*map(str, objects), *libraries(program, cases.lib_dir)], exe,
         entry="_start", dynamic_linker=judge.DYNAMIC_LINKER, pie=True)
    return judge.everything(exe, objects, outcome(program), cases.lib_dir)


def _pie_exposed(cases: PieCases) -> str | None:
    return first_exposure((f"PIE program {n}", partial(_pie_judged, cases, n))
                          for n in range(len(cases.cases)))


def test_unmutated_linker_passes_on_pies(pie_cases: PieCases) -> None:
    assert _pie_exposed(pie_cases) is None


def test_seeded_pie_bugs_are_caught(pie_cases: PieCases) -> None:
    results = seed_each(PIE_MUTANTS, lambda: _pie_exposed(pie_cases))
    print_kill_table(None, results)
    assert all(results.values()), results
