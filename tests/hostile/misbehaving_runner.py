"""A stand-in for fuzz.hostile.cases.run_drawn that misbehaves on chosen case numbers, so
that tests/hostile/test_campaign_supervisor.py can show the campaign survives a worker
that hangs, dies or allocates without bound (loaded by file path in spawned workers)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fuzz.hostile.cases import Drawn
from fuzz.hostile.seeds import Targets

HANGS, DIES, ALLOCATES, BREAKS = 1, 3, 4, 5


def run(drawn: Drawn, targets: Targets, work: Path) -> list[str]:
    if drawn.number == HANGS:
        time.sleep(600)
    if drawn.number == DIES:
        os.kill(os.getpid(), signal.SIGKILL)
    if drawn.number == ALLOCATES:
        hoard = bytearray(4 << 30)  # past the worker's address-space limit: MemoryError
        return [f"allocated {len(hoard)} bytes"]
    if drawn.number == BREAKS:
        return ["a rule broken"]
    return []
