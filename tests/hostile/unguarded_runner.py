"""fuzz.hostile.cases.run_drawn with the emulator's translation guard taken out (a seeded
bug for tests/hostile/test_havoc_family.py; loaded by file path in spawned workers, since
what the guard prevents kills the process)."""

from __future__ import annotations

from pathlib import Path

from fuzz.hostile.cases import Drawn, run_drawn
from fuzz.hostile.seeds import Targets
from oracle.emulate import translation_guard


def run(drawn: Drawn, targets: Targets, work: Path) -> list[str]:
    translation_guard.first_unsafe = lambda *args: None
    return run_drawn(drawn, targets, work)
