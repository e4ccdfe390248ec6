"""The scaffolding the harness-power tests share (tests/test_harness_power*.py): a registry of
seeded linker bugs, a deterministic draw of Hypothesis examples, the loop that seeds each bug
and asks the test's judge what exposes it, the walk over valid cases that finds the first
exposure, and the printed kill table.

The mutants themselves monkeypatch linker internals, so they stay in the tests: fuzz/ never
imports the linker's internals, and nothing here needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from hypothesis import Phase, given, settings
from hypothesis.strategies import SearchStrategy

from fuzz.libtrace import build_libraries
from linker import LinkError

T = TypeVar("T")
Case = TypeVar("Case")

Mutant = Callable[[pytest.MonkeyPatch], None]
Exposed = Callable[[], "str | None"]  # what exposes the linker as patched now, or None


class Mutants:
    """Seeded bugs by name, in registration order, each optionally filed under a family."""

    def __init__(self, default_family: str | None = None) -> None:
        self.seeds: dict[str, Mutant] = {}
        self.family: dict[str, str] = {}
        self.default_family = default_family

    def __call__(self, name: str, family: str | None = None) -> Callable[[Mutant], Mutant]:
        """The decorator registering a mutant under `name` (and `family`, if families are kept)."""
        def register(fn: Mutant) -> Mutant:
            self.seeds[name] = fn
            filed = family or self.default_family
            if filed is not None:
                self.family[name] = filed
            return fn
        return register

    def __len__(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class WrittenCases(Generic[Case]):
    """A harness-power test's valid cases on disk: each case with its object files, under
    `root`, linking against the libtrace libraries in `lib_dir`."""

    root: Path
    lib_dir: Path
    cases: list[tuple[Case, list[Path]]]


def case_directories(tmp_path_factory: pytest.TempPathFactory, name: str, *,
                     m32: bool = False) -> tuple[Path, Path]:
    """A fresh directory for a test's cases and, in its lib/, the libtrace libraries (i386
    ones with `m32`) the cases link against: (root, lib_dir)."""
    root = tmp_path_factory.mktemp(name)
    build_libraries(root / "lib", m32=m32)
    return root, root / "lib"


def collect(strategy: SearchStrategy[T], count: int) -> list[T]:
    """`count` examples of `strategy`, the same ones on every run (derandomized, no database,
    generation only), so that what the mutants are judged on does not change between runs."""
    drawn: list[T] = []

    @settings(max_examples=count, derandomize=True, phases=[Phase.generate], database=None,
              deadline=None)
    @given(strategy)
    def draw(example: T) -> None:
        drawn.append(example)

    draw()
    return drawn


def seed_each(mutants: Mutants, exposed: Exposed, *, crash_kills: bool = False
              ) -> dict[str, str | None]:
    """Each mutant seeded alone (undone before the next): what exposed it, or None.

    With `crash_kills`, a mutant that makes the pipeline or a judge raise counts as caught
    (the Mach-O judges read what the linker wrote, and a broken output may not parse)."""
    results: dict[str, str | None] = {}
    for name, seed in mutants.seeds.items():
        with pytest.MonkeyPatch.context() as mp:
            seed(mp)
            if not crash_kills:
                results[name] = exposed()
                continue
            try:
                results[name] = exposed()
            except Exception as err:  # noqa: BLE001 - a mutant that crashes a judge is caught
                results[name] = f"crashed the pipeline: {type(err).__name__}: {err}"
    return results


def first_exposure(judged_cases: Iterable[tuple[str, Callable[[], list[str]]]]) -> str | None:
    """Walk (label, link-and-judge) pairs of valid cases in order: the first case whose link
    the linker refuses (every case is valid, so a refusal exposes it) or whose judges find a
    problem, as "<label> refused: ..." or "<label>: <first problem>"; None when all pass."""
    for label, judged in judged_cases:
        try:
            problems = judged()
        except LinkError as e:
            return f"{label} refused: {e}"
        if problems:
            return f"{label}: {problems[0]}"
    return None


def print_kill_table(title: str | None, results: dict[str, str | None],
                     mutants: Mutants | None = None, *, width: int = 100) -> int:
    """Print the caught count under `title`, the per-family counts (when `mutants` files them
    by family) and every mutant's fate with the first `width` characters of what caught it.
    Returns how many were caught."""
    killed = sum(bool(how) for how in results.values())
    if title is not None:
        print(f"\n{title}: {killed}/{len(results)} seeded bugs caught")
    if mutants is not None and mutants.family:
        for family in dict.fromkeys(mutants.family.values()):
            names = [n for n in mutants.seeds if mutants.family[n] == family]
            print(f"  {family:<32} {sum(bool(results[n]) for n in names)} of {len(names)}")
    for name, how in results.items():
        print(f"  {'KILLED ' if how else 'SURVIVED'} {name}"
              + (f": {how[:width]}" if how else ""))
    return killed
