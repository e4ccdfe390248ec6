"""oracle.native: exit codes, captured streams, argv/env/cwd, and timeouts that kill the group."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from oracle.native import run_native


def _script(directory: Path, body: str) -> str:
    path = directory / "prog.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_exit_code_and_streams(tmp_path: Path) -> None:
    prog = _script(tmp_path, 'echo out; echo err >&2; exit 5\n')
    result = run_native(prog)
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (
        5, b"out\n", b"err\n", False)


def test_argv_env_and_cwd_reach_the_program(tmp_path: Path) -> None:
    prog = _script(tmp_path, 'echo "$1|$2|$WHO|$(pwd)"\n')
    work = tmp_path / "work"
    work.mkdir()
    result = run_native(prog, ["a b", "c"], env={"WHO": "me", "PATH": os.environ["PATH"]},
                        cwd=str(work))
    assert result.stdout == f"a b|c|me|{work}\n".encode()


def test_death_by_signal_is_a_negative_exit_code(tmp_path: Path) -> None:
    prog = _script(tmp_path, "kill -SEGV $$\n")
    assert run_native(prog).exit_code == -11


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split()[1] == "Z" for line in f if line.startswith("State:"))
    except FileNotFoundError:
        return True


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    prog = _script(tmp_path, f"sleep 300 &\necho $! > {pid_file}\necho started\nwait\n")
    result = run_native(prog, timeout=1)
    assert result.timed_out and result.exit_code == -9
    assert result.stdout == b"started\n"
    child = int(pid_file.read_text())
    # SIGKILL went to the whole group; the orphaned sleep is reaped by init soon after
    for _ in range(200):
        if _gone(child):
            break
        time.sleep(0.05)
    assert _gone(child)
