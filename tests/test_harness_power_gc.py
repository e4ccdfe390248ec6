"""The --gc-sections property's power: seed gc bugs into the linker, one at a time, and
require fuzz/test_gc_sections.py's judge (the model's trace under the emulator, oracle.check,
the field oracle, the dead sections' symbols gone, GNU ld's list of removed sections) to
catch each.  Cases: the every-flavour sample with the drawn-dead sample object, from our
writer and from GNU as, then a few deterministic draws.  Every seeded bug must be caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from fuzz.libtrace import build_libraries
from fuzz.model import Program
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.roundtrip import DeadSection, dead_sections
from fuzz.samples import SAMPLE
from fuzz.strategies import programs
from fuzz.test_gc_sections import DEAD_SAMPLE, judge_gc
from linker import gc as gc_module

DRAWN_EXAMPLES = 3
MUTANTS = Mutants()


def _wrap(mp: pytest.MonkeyPatch, before: Any = None, after: Any = None) -> None:
    original = gc_module.collect_garbage

    def collect_garbage(symtab: Any, roots: Iterable[str], exported: Any) -> Any:
        roots = list(roots)
        if before is not None:
            roots = before(symtab, roots)
        snapshot = {s.id: (s.file, s.section) for s in symtab.symbols}
        removed = original(symtab, roots, exported)
        if after is not None:
            after(symtab, snapshot)
        return removed
    mp.setattr(gc_module, "collect_garbage", collect_garbage)


@MUTANTS("the entry point is not a root")
def _entry_not_root(mp: pytest.MonkeyPatch) -> None:
    _wrap(mp, before=lambda symtab, roots: roots[1:])


@MUTANTS("SHF_GNU_RETAIN sections are not roots (retain ignored)")
def _retain_ignored(mp: pytest.MonkeyPatch) -> None:
    def before(symtab: Any, roots: list[str]) -> list[str]:
        for obj in symtab.objects:
            obj.retained = ()
        return roots
    _wrap(mp, before=before)


@MUTANTS("nothing is collected (the option accepted without effect)")
def _nothing_collected(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(gc_module, "collect_garbage", lambda symtab, roots, exported: [])


@MUTANTS("a collected section's global symbols are kept")
def _symbols_kept(mp: pytest.MonkeyPatch) -> None:
    def restore(symtab: Any, snapshot: dict[int, Any]) -> None:
        for sym in symtab.symbols:
            file, section = snapshot.get(sym.id, (None, None))
            if sym.file is None and file is not None and section is not None:
                sym.file, sym.section = file, section
    _wrap(mp, after=restore)


@MUTANTS("references from a live section to a global of another object are not followed")
def _globals_not_followed(mp: pytest.MonkeyPatch) -> None:
    original = gc_module.collect_garbage

    def collect_garbage(symtab: Any, roots: Iterable[str], exported: Any) -> Any:
        saved = symtab.gids
        # every global reference looks local: the walk then follows only same-object symbols
        symtab.gids = [g.copy() for g in saved]
        for g in symtab.gids:
            g[:] = -1
        try:
            return original(symtab, roots, exported)
        finally:
            symtab.gids = saved
    mp.setattr(gc_module, "collect_garbage", collect_garbage)


@dataclass
class Cases:
    root: Path
    lib_dir: Path
    cases: list[tuple[Program, tuple[DeadSection, ...], int]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power_gc")
    lib_dir = root / "lib"
    build_libraries(lib_dir)
    drawn = collect(st.tuples(programs(), dead_sections(), st.integers(0, 3)), DRAWN_EXAMPLES)
    return Cases(root, lib_dir, [(SAMPLE, DEAD_SAMPLE, 0), (SAMPLE, DEAD_SAMPLE, 1), *drawn])


def _judged(cases: Cases, n: int) -> list[str]:
    program, dead, flavour = cases.cases[n]
    work = cases.root / f"case{n}"
    work.mkdir(exist_ok=True)
    return judge_gc(program, dead, "as" if flavour == 1 else None, work, cases.lib_dir)


def _exposed(cases: Cases) -> str | None:
    return first_exposure((f"case {n}", partial(_judged, cases, n))
                          for n in range(len(cases.cases)))


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_gc_bugs_are_caught(cases: Cases) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(cases), crash_kills=True)
    killed = print_kill_table("--gc-sections harness power", results, width=110)
    assert killed == len(MUTANTS), results
