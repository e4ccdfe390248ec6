"""The -r round-trip property's power: seed `-r` bugs into the linker, one at a time, and
require fuzz/test_relocatable.py's judge (the final link of the -r output and the rest,
judged by oracle.check, the field oracle over the original objects, the emulator against
the model, and GNU ld's link of the same inputs) to catch each.

The cases are the every-flavour sample split two ways (always first, so kills do not hinge
on what Hypothesis draws) and a few deterministic draws.  Prints the kill table; every
seeded bug must be caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz.libtrace import build_libraries
from fuzz.lower_i386 import I386Choices
from fuzz.model import Program
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.roundtrip import Split
from fuzz.samples import SAMPLE
from fuzz.strategies import programs
from fuzz.strategies_i386 import SAMPLE_CASE, i386_cases
from fuzz.test_relocatable import judge_round_trip
from linker.elf import relocatable

DRAWN_EXAMPLES = 3
MUTANTS = Mutants()


def _wrap_rewrite(mp: pytest.MonkeyPatch, edit: Callable[[tuple[Any, ...]], tuple[Any, ...]]
                  ) -> None:
    original = relocatable._rewrite

    def rewrite(*args: Any) -> None:
        original(*edit(args))

    mp.setattr(relocatable, "_rewrite", rewrite)


@MUTANTS("a reference to an input's section symbol keeps its addend (not moved by the "
         "input's offset in the merged section)")
def _addend_not_moved(mp: pytest.MonkeyPatch) -> None:
    _wrap_rewrite(mp, lambda a: (a[0], a[1], a[2], a[3], np.zeros_like(a[4])))


@MUTANTS("a relocation kept against the previous input's offset in the merged section")
def _wrong_merged_offset(mp: pytest.MonkeyPatch) -> None:
    def edit(a: tuple[Any, ...]) -> tuple[Any, ...]:
        out, base = a[2]
        earlier = [off for _, off in out.inputs if off < base]
        return (a[0], a[1], (out, earlier[-1] if earlier else base), a[3], a[4])
    _wrap_rewrite(mp, edit)


@MUTANTS("a global defined in a merged section keeps its input value")
def _global_not_moved(mp: pytest.MonkeyPatch) -> None:
    original = relocatable._global

    def global_(sym: Any, placed: Any) -> Any:
        made = original(sym, placed)
        if isinstance(made.shndx, relocatable.RelSection):
            return relocatable.RelSymbol(made.name, sym.value, made.size, made.info,
                                         made.other, made.shndx)
        return made
    mp.setattr(relocatable, "_global", global_)


@MUTANTS("a relocation's offset not moved with its input section")
def _offset_not_moved(mp: pytest.MonkeyPatch) -> None:
    original = relocatable._rewrite

    def rewrite(obj: Any, sec: Any, where: Any, new_index: Any, delta: Any) -> None:
        out, base = where
        original(obj, sec, where, new_index, delta)
        if base and out.relocs is not None:  # the rows just added, back at the input's offsets
            rows = out.relocs[-len(sec.relocs):]
            rows["offset"] -= base
    mp.setattr(relocatable, "_rewrite", rewrite)


@MUTANTS("COMDAT groups not written again (their members become plain sections)")
def _groups_lost(mp: pytest.MonkeyPatch) -> None:
    original = relocatable.build_relocatable

    def build(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        for _, _, members in out.groups:
            for sec in members:
                sec.group = None
        out.groups = []
        return out
    mp.setattr(relocatable, "build_relocatable", build)  # api.py imports it at each link


@MUTANTS("i386: the rewritten addend of a REL relocation not written back into its field")
def _rel_addend_not_written(mp: pytest.MonkeyPatch) -> None:
    original = relocatable._contents
    mp.setattr(relocatable, "_contents", lambda out, rela: original(out, True))


@dataclass
class Cases:
    root: Path
    lib_dir: Path
    lib_dir_i386: Path
    cases: list[tuple[Program, Split, int, I386Choices | None]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power_r")
    lib_dir, lib_dir_i386 = root / "lib", root / "lib32"
    build_libraries(lib_dir)
    build_libraries(lib_dir_i386, m32=True)
    n = len(SAMPLE.objects)
    # Programs of three objects or more, all of them combined (the most sections merged)
    # or all but the first, from our writer and from GNU as.
    drawn = collect(programs().filter(lambda p: len(p.objects) >= 3), DRAWN_EXAMPLES)
    combined: list[tuple[Program, Split, int, I386Choices | None]] = [
        (p, (start, len(p.objects)), flavour, None) for p in drawn
        for start, flavour in ((0, 1), (1, 0))]
    i386 = collect(i386_cases().filter(lambda c: len(c.program.objects) >= 3), DRAWN_EXAMPLES)
    combined += [(c.program, (0, len(c.program.objects)), flavour, c.choices)
                 for c in [SAMPLE_CASE, *i386] for flavour in (0, 1)]
    # i386 objects each carry the get_pc_thunk COMDAT groups: with the first object left
    # out of the run, a copy of each group is on both sides of the -r
    combined += [(SAMPLE_CASE.program, (1, len(SAMPLE_CASE.program.objects)), flavour,
                  SAMPLE_CASE.choices) for flavour in (0, 1)]
    samples: list[tuple[Program, Split, int, I386Choices | None]] = [
        (SAMPLE, (0, n), 0, None), (SAMPLE, (1, n), 1, None)]
    return Cases(root, lib_dir, lib_dir_i386, [*samples, *combined[-2:], *combined[:-2]])


def _judged(cases: Cases, n: int) -> list[str]:
    program, run, flavour, choices = cases.cases[n]
    work = cases.root / f"case{n}"
    work.mkdir(exist_ok=True)
    return judge_round_trip(program, run, "as" if flavour == 1 else None, flavour <= 1, work,
                            cases.lib_dir if choices is None else cases.lib_dir_i386,
                            i386_choices=choices)


def _exposed(cases: Cases) -> str | None:
    return first_exposure((f"case {n}", partial(_judged, cases, n))
                          for n in range(len(cases.cases)))


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_relocatable_bugs_are_caught(cases: Cases) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(cases))
    killed = print_kill_table("-r harness power", results, width=110)
    assert killed == len(MUTANTS), results
