"""Harness power for fuzz/test_macho_subtractor.py: slips in the range rules of x86-64
SUBTRACTOR(32) pairs and i386 1- and 2-byte SECTDIFF pairs, seeded one at a time into the
linker, each caught by the properties' own checks (`pair_problems`, `sectdiff_problems`) on
their samples plus a deterministic draw.  The kill table is printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from fuzz.macho import sectdiff, subtractor
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from fuzz.test_macho_subtractor import pair_problems, sectdiff_problems
from linker.kinds import Howto, Overflow
from linker.macho import read as macho_read
from tests.shared_mutants import patch_howto_bounds

MUTANTS = Mutants()
mutant = MUTANTS
SUBTRACTOR32 = "X86_64_RELOC_SUBTRACTOR"
SECTDIFFS = ("GENERIC_RELOC_SECTDIFF", "GENERIC_RELOC_LOCAL_SECTDIFF")


def _bounds(mp: pytest.MonkeyPatch, applies: Callable[[Howto], bool],
            change: Callable[[int, int], tuple[int, int]]) -> None:
    """Howto.bounds changed for the howtos `applies` picks."""
    original = Howto.bounds

    def bounds(self: Howto) -> tuple[int, int]:
        lo, hi = original(self)
        return change(lo, hi) if applies(self) else (lo, hi)
    patch_howto_bounds(mp, bounds)


def _sub32(h: Howto) -> bool:
    return h.name.startswith(SUBTRACTOR32) and h.width == 4


def _sectdiff(width: int) -> Callable[[Howto], bool]:
    return lambda h: h.name.startswith(SECTDIFFS) and h.width == width


def _i386_rule(mp: pytest.MonkeyPatch, width: int, overflow: Overflow) -> None:
    """The i386 reader's SECTDIFF/LOCAL_SECTDIFF howtos of `width` with another rule."""
    layout = macho_read._LAYOUTS[macho_read.MH_MAGIC]
    howtos = tuple(replace(h, overflow=overflow) if _sectdiff(width)(h) else h
                   for h in layout.howtos)
    mp.setitem(macho_read._LAYOUTS, macho_read.MH_MAGIC, layout._replace(howtos=howtos))


@mutant("SUBTRACTOR(32): the top edge off by one (2**31 accepted)", "SUBTRACTOR ranges")
def _sub_top(mp: pytest.MonkeyPatch) -> None:
    _bounds(mp, _sub32, lambda lo, hi: (lo, hi + 1))


@mutant("SUBTRACTOR(32): the bottom edge off by one (-2**31 refused)", "SUBTRACTOR ranges")
def _sub_bottom(mp: pytest.MonkeyPatch) -> None:
    _bounds(mp, _sub32, lambda lo, hi: (lo + 1, hi))


@mutant("SUBTRACTOR(32) read either way, as R_X86_64_32 and 16 are (up to 2**32 - 1)",
        "SUBTRACTOR ranges")
def _sub_either(mp: pytest.MonkeyPatch) -> None:
    _bounds(mp, _sub32, lambda lo, hi: (lo, 2 * hi + 1))


@mutant("SECTDIFF(8) checked as signed (255 refused)", "SECTDIFF ranges")
def _sd8_signed(mp: pytest.MonkeyPatch) -> None:
    _i386_rule(mp, 1, Overflow.SIGNED)


@mutant("SECTDIFF(8) checked as unsigned (-128 refused)", "SECTDIFF ranges")
def _sd8_unsigned(mp: pytest.MonkeyPatch) -> None:
    _i386_rule(mp, 1, Overflow.UNSIGNED)


@mutant("SECTDIFF(16) not range-checked (truncated)", "SECTDIFF ranges")
def _sd16_unchecked(mp: pytest.MonkeyPatch) -> None:
    _i386_rule(mp, 2, Overflow.NONE)


@mutant("SECTDIFF(16): the top edge off by one (65536 accepted)", "SECTDIFF ranges")
def _sd16_top(mp: pytest.MonkeyPatch) -> None:
    _bounds(mp, _sectdiff(2), lambda lo, hi: (lo, hi + 1))


@mutant("SECTDIFF(16): the bottom edge off by one (-32769 accepted)", "SECTDIFF ranges")
def _sd16_bottom(mp: pytest.MonkeyPatch) -> None:
    _bounds(mp, _sectdiff(2), lambda lo, hi: (lo - 1, hi))


CASES: list[subtractor.SubtractorCase | sectdiff.SectdiffCase] = [
    *subtractor.SAMPLES, *collect(subtractor.subtractor_cases(), 1),
    *sectdiff.SAMPLES, *collect(sectdiff.sectdiff_cases(), 1)]


def _exposed(root: Path) -> str | None:
    for n, case in enumerate(CASES):
        work = root / f"c{n}"
        if isinstance(case, subtractor.SubtractorCase):
            problems = pair_problems(case, work)
        else:
            problems = sectdiff_problems(case, work, ("modern-10.9",))
        if problems:
            return f"case {n}: {problems[0]}"
    return None


def test_unmutated_linker_passes(tmp_path: Path) -> None:
    assert _exposed(tmp_path) is None


def test_seeded_range_bugs_are_caught(tmp_path: Path) -> None:
    runs = iter(range(1000))
    results = seed_each(MUTANTS, lambda: _exposed(tmp_path / f"r{next(runs)}"),
                        crash_kills=True)
    killed = print_kill_table("harness power, Mach-O SUBTRACTOR and SECTDIFF ranges",
                              results, MUTANTS)
    assert killed == len(MUTANTS), results
