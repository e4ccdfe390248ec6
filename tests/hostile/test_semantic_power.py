"""The semantic family's power (fuzz/hostile/semantic.py): each guard its finds added is
taken out again (a seeded bug, in the style of tests/test_harness_power*.py), and the
family's cases of the target that found it, drawn as a campaign draws them, must break a
rule.  To stay fast, each mutant starts at the first case of a campaign (seed, number)
that met it and may take a few more; a change to the family's draws moves these numbers
(the test then says which mutant escaped, and `python -m fuzz.hostile.campaign --family
semantic --seed S --target T` finds the new first catch)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.hostile.cases import run_drawn
from fuzz.hostile.seeds import Targets
from fuzz.hostile.semantic import SUFFIX
from fuzz.hostile.supervise import draw_numbered
from linker import synth
from linker.elf import archive, load, version_script
from linker.macho import tbd

CASES = 4  # per mutant, from its first catch on


def _script_expands_itself(mp: pytest.MonkeyPatch) -> None:
    def script(self: load.Loader, text: str, path: str, as_needed: bool,
               identity: tuple[int, int] = (-1, -1)) -> None:
        self._expand_script(text, path, as_needed)
    mp.setattr(load.Loader, "script", script)


def _tbd_names_unchecked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tbd, "_name", lambda value, key, path: str(value))


def _thin_member_any_file(mp: pytest.MonkeyPatch) -> None:
    real = archive.read_input_status
    mp.setattr(archive, "read_input_status",
               lambda path, only_regular=False: real(path, only_regular=False))


def _extern_blocks_of_any_depth(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(version_script, "MAX_EXTERN_DEPTH", 1 << 30)


def _copy_of_any_size(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(synth, "MAX_COPY_SIZE", 1 << 80)


# mutant: (target, campaign seed, first case that catches it, the seeded bug)
MUTANTS: dict[str, tuple[str, str, int, Callable[[pytest.MonkeyPatch], None]]] = {
    "a script may name itself": ("script", "power", 3, _script_expands_itself),
    "a .tbd name is whatever YAML made": ("tbd", "power", 49, _tbd_names_unchecked),
    "a thin member may be a device": ("archive", "1", 44, _thin_member_any_file),
    "a COPY relocation of any size": ("shared-object", "1", 542, _copy_of_any_size),
    "extern blocks nested to any depth": ("version-script", "power", 0,
                                          _extern_blocks_of_any_depth),
}


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_semantic_family_catches_the_guard_removed(mutant: str, targets: Targets,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    target, seed, first, seed_bug = MUTANTS[mutant]
    seed_bug(monkeypatch)
    for n in range(first, first + CASES):
        drawn = draw_numbered(targets, seed, target + SUFFIX, n)
        broken = run_drawn(drawn, targets, tmp_path / f"case{n}")
        if broken:
            print(f"{mutant}: caught by case {n} ({drawn.done}): {broken[0][:120]}")
            return
    pytest.fail(f"{mutant}: no rule broken in {CASES} cases of {target}{SUFFIX}")
