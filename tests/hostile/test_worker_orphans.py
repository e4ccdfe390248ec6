"""A campaign's workers end with it (fuzz/hostile/supervise.die_with_parent): killing the
campaign's process, which then cannot stop its workers, must not leave one running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A parent that spawns one worker as the supervisor spawns them, prints its pid, and
# waits; the worker writes its file (argv[1]) once past die_with_parent.
PARENT = """
import multiprocessing, pathlib, sys, time
from fuzz.hostile.supervise import die_with_parent

def worker(ready):
    die_with_parent()
    pathlib.Path(ready).write_text("ready")
    time.sleep(600)

if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(target=worker, args=(sys.argv[1],))
    child.start()
    print(child.pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has ended
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_campaign_leaves_no_worker(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ready = tmp_path / "ready"
    parent = subprocess.Popen([sys.executable, str(script), str(ready)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        deadline = time.monotonic() + 120  # spawn and imports, under load
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists() and _alive(worker)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker outlived its campaign"
