"""The hostile guest-code generator (fuzz/hostile/guest_code.py) catches the translator
crash: with the emulator's translation guard taken out, one of its first 200 programs
kills the process that runs it (SIGSEGV inside Unicorn), and with the guard every one of
them ends in a result; the same for the code written at run time and the watch on
writable code.  Each side runs in a child process: the crash is the process's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = 200
_RUNNER = """
import os, random, sys, tempfile
from fuzz.hostile.guest_code import draw_code, self_writing, static_executable
from fuzz.hostile.mutate import RandomPicker
from oracle import run
from oracle.emulate import code_writes, translation_guard
if sys.argv[1] == "unguarded":
    translation_guard.first_unsafe = lambda *args: None
if sys.argv[1] == "unwatched":  # the load-time guard only: writable code not watched
    code_writes.WritableCode.watch_mapped = lambda self: None
work = tempfile.mkdtemp()
for k in range(int(sys.argv[2])):
    bits = 64 if k % 2 == 0 else 32
    code = draw_code(RandomPicker(random.Random(f"guest:{k}")), bits)
    if sys.argv[3] == "written":
        code = self_writing(code, bits, 1 + k % 255)
    path = os.path.join(work, "guest")
    with open(path, "wb") as f:
        f.write(static_executable(code, bits))
    result = run(path, timeout=0.5, seed=0)
    assert result is not None
print("all returned")
"""


def _run_all(mode: str, shape: str = "at-entry") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUNNER, mode, str(PROGRAMS), shape],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_without_the_guard_a_drawn_program_kills_the_process() -> None:
    done = _run_all("unguarded")
    assert done.returncode < 0, done.stderr[-2000:]  # a signal, not an exception


def test_with_the_guard_every_drawn_program_returns() -> None:
    done = _run_all("guarded")
    assert done.returncode == 0 and done.stdout == "all returned\n", done.stderr[-2000:]


def test_code_written_at_run_time_kills_the_process_unless_watched() -> None:
    """The same programs written by a packer's prologue (guest_code.self_writing): the
    load-time guard alone sees only the XORed bytes, and one of them kills the process;
    with writable code watched (oracle/emulate/code_writes.py) every one returns."""
    unwatched = _run_all("unwatched", "written")
    assert unwatched.returncode < 0, unwatched.stderr[-2000:]
    watched = _run_all("guarded", "written")
    assert watched.returncode == 0 and watched.stdout == "all returned\n", \
        watched.stderr[-2000:]


@pytest.mark.parametrize("target", ["guest-code", "guest-code-written"])
def test_the_campaign_draws_and_replays_guest_code(tmp_path: Path, target: str) -> None:
    """`--target guest-code` (and `guest-code-written`): a case is drawn again from its
    number, and a kept one replays through run_kept (both binding modes)."""
    import random

    from fuzz.hostile.cases import draw_case, run_kept
    from fuzz.hostile.mutate import RandomPicker
    from fuzz.hostile.seeds import Targets

    def draw(n: int) -> bytes:
        picker = RandomPicker(random.Random(f"1:{target}:{n}"))
        return draw_case(picker, target, Targets({}, {})).data

    assert draw(7) == draw(7) and draw(7) != draw(8)
    kept = tmp_path / "guest"
    kept.write_bytes(draw(7))
    assert run_kept(Targets({}, {}), target, kept, tmp_path / "work") == []
