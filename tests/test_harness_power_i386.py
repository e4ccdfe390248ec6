"""The i386 harness's power: seed i386 bugs into the linker, one at a time, and require the
i386 fuzz pipeline (our ELF32 REL objects, linkharness `elf32-i386`, and fuzz.judge's
checks: oracle.check, the relocation-field oracle, emulated lazy and now) to catch each.

The programs are the every-flavour i386 sample (fuzz.samples_i386, always first, so kills
do not hinge on what Hypothesis draws) and a few drawn i386 cases (deterministic).  Each
mutant is a monkeypatch of the linker internal a plausible slip would touch; it is killed
by the first program it breaks (a wrong output, or a valid program refused).  Prints the
kill table; every seeded bug must be caught.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

from fuzz import judge
from fuzz.pipeline import libraries
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
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
from fuzz.strategies_i386 import SAMPLE_CASE, I386Case, i386_cases
from linker import apply as apply_module
from linker.arch import PLT_TEMPLATES
from linker.elf import link as elf_link
from linker.elf import read, relocs_i386
from linker.elf.reloc_table import build_table
from linker.kinds import Howto, Overflow, RelocKind

DRAWN_EXAMPLES = 12

MUTANTS = Mutants()
mutant = MUTANTS


def _template(mp: pytest.MonkeyPatch, **changes: Any) -> None:
    mp.setitem(PLT_TEMPLATES, "i386", dataclasses.replace(PLT_TEMPLATES["i386"], **changes))


def _howto(mp: pytest.MonkeyPatch, r_type: int, howto: Howto) -> None:
    """The i386 relocation table with one type's howto replaced."""
    supported = {**relocs_i386.SUPPORTED, r_type: howto}
    mp.setitem(read.RELOC_TABLES, "i386", build_table("i386", supported, relocs_i386.REFUSED))


def _compute(mp: pytest.MonkeyPatch, kind: RelocKind,
             edit: Callable[[dict[str, Any]], None]) -> None:
    original = apply_module.compute

    def compute(k: RelocKind, **letters: Any) -> np.ndarray:
        if k is kind:
            edit(letters)
        return original(k, **letters)
    mp.setattr(apply_module, "compute", compute)


@mutant("i386 PLT0 pushes GOT+8 instead of GOT+4 (the link map word)")
def _plt0_push(mp: pytest.MonkeyPatch) -> None:
    push, jump = PLT_TEMPLATES["i386"].plt0_fields
    _template(mp, plt0_fields=(dataclasses.replace(push, addend=push.addend + 4), jump))


@mutant("an i386 PLT entry pushes the index, not the .rel.plt byte offset")
def _plt_push_index(mp: pytest.MonkeyPatch) -> None:
    _template(mp, push_value=lambda n: n)


@mutant("REL implicit addends ignored (read as 0)")
def _rel_addend_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(read, "implicit_addends",
               lambda data, offset, widths: np.zeros(len(offset), dtype=np.int64))


@mutant("REL implicit addends of 8- and 16-bit fields zero-extended")
def _rel_addend_unsigned(mp: pytest.MonkeyPatch) -> None:
    original = read.implicit_addends

    def addends(data: Any, offset: np.ndarray, widths: np.ndarray) -> np.ndarray:
        out = original(data, offset, widths)
        for width in (1, 2):
            mask = widths == width
            out[mask] &= (1 << (8 * width)) - 1
        return out
    mp.setattr(read, "implicit_addends", addends)


@mutant("R_386_GOTOFF off by a word")
def _gotoff(mp: pytest.MonkeyPatch) -> None:
    def edit(letters: dict[str, Any]) -> None:
        letters["S"] = letters["S"] + 4
    _compute(mp, RelocKind.REL_GOT, edit)


@mutant("R_386_GOTPC ignores its addend (GOT - P)")
def _gotpc(mp: pytest.MonkeyPatch) -> None:
    def edit(letters: dict[str, Any]) -> None:
        letters["A"] = letters["A"] * 0
    _compute(mp, RelocKind.GOT_BASE_PC, edit)


@mutant("a no-base R_386_GOT32X computed as G + A - GOT (not G + A)")
def _got32x_no_base(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 43, dataclasses.replace(relocs_i386.SUPPORTED[43], no_base=None))


@mutant("R_386_16 checked as signed")
def _r16_signed(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 20, Howto("R_386_16", RelocKind.ABS, 2, Overflow.SIGNED))


@mutant("R_386_PC8 checked as unsigned")
def _pc8_unsigned(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 23, Howto("R_386_PC8", RelocKind.PC, 1, Overflow.UNSIGNED))


def _dynamic_relocs(mp: pytest.MonkeyPatch, edit: Callable[[Any, Any], None]) -> None:
    original = elf_link.plan_relocations

    def plan(tables: Any, arch: Any, *rest: Any) -> None:
        original(tables, arch, *rest)
        edit(tables, arch)
    mp.setattr(elf_link, "plan_relocations", plan)


@mutant("an i386 R_386_COPY relocation is missing")
def _copy_missing(mp: pytest.MonkeyPatch) -> None:
    def edit(tables: Any, arch: Any) -> None:
        tables.rela_dyn[:] = [r for r in tables.rela_dyn if r.type != arch.dyn.copy]
    _dynamic_relocs(mp, edit)


@mutant("an i386 R_386_JUMP_SLOT names the next slot")
def _jump_slot(mp: pytest.MonkeyPatch) -> None:
    def edit(tables: Any, arch: Any) -> None:
        for r in tables.rela_plt:
            where = r.where
            r.where = lambda where=where: where() + 4
    _dynamic_relocs(mp, edit)


Cases = WrittenCases[I386Case]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root, lib_dir = case_directories(tmp_path_factory, "power_i386", m32=True)
    drawn = [SAMPLE_CASE, *collect(i386_cases(), DRAWN_EXAMPLES)]
    valid = [(c, write_objects_i386(c.program, root / f"v{n}", choices=c.choices))
             for n, c in enumerate(drawn)]
    return Cases(root, lib_dir, valid)


def _judged(cases: Cases, n: int) -> list[str]:
    case, objs = cases.cases[n]
    exe = cases.root / f"out{n}"
    link_linkharness_i386(objs, libraries(case.program, cases.lib_dir), exe)
    return judge.everything(exe, objs, outcome(case.program), cases.lib_dir)


def _exposed(cases: Cases) -> str | None:
    """What exposes the current linker, or None when every check passes."""
    return first_exposure((f"program {n}", partial(_judged, cases, n))
                          for n in range(len(cases.cases)))


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_i386_bugs_are_caught(cases: Cases) -> None:
    assert len(MUTANTS) >= 6
    results = seed_each(MUTANTS, lambda: _exposed(cases))
    killed = print_kill_table("i386 harness power", results, width=100)
    assert killed == len(MUTANTS), results
