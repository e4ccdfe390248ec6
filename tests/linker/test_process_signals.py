"""linker/process.py: a link ended by SIGTERM, SIGHUP or SIGINT (a build's timeout, a
closed terminal, Ctrl-C) while it writes leaves no output and no staged file behind, says
nothing, and ends as killed by that signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The first staged write is cut in the middle by the signal, as a kill would cut it.
STOPPED_LINK = """
import os, signal, sys
from linker import output_files, process
real = output_files._write_fd
def write_then_stop(fd, data):
    real(fd, data[: len(data) // 2])
    os.kill(os.getpid(), {signum})
    real(fd, data[len(data) // 2:])
output_files._write_fd = write_then_stop
sys.argv = ["ld", "-e", "_start", "-o", {out!r}, {obj!r}]
process.ld_main()
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_link_stopped_while_writing_leaves_nothing(tmp_path: Path, signum: int) -> None:
    source = tmp_path / "start.s"
    source.write_text(".globl _start\n_start: ret\n")
    obj = tmp_path / "start.o"
    subprocess.run(["as", "-o", str(obj), str(source)], check=True)
    out = tmp_path / "out" / "a.out"
    out.parent.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LINKHARNESS_SERVER": "0"}
    # the signal's default action, as a terminal starts a link (pytest run as a shell's
    # background job, or under nohup, would hand SIGINT or SIGHUP down ignored)
    action = "default_int_handler" if signum == signal.SIGINT else "SIG_DFL"
    default = f"import signal; signal.signal({int(signum)}, signal.{action})\n"
    done = subprocess.run(
        [sys.executable, "-c", default + STOPPED_LINK.format(signum=int(signum), out=str(out),
                                                             obj=str(obj))],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == -signum, done.stderr
    assert done.stderr == ""  # no traceback, no message: the caller chose to stop it
    assert list(out.parent.iterdir()) == []  # neither the output nor a staged file


def test_an_ignored_hangup_stays_ignored(tmp_path: Path) -> None:
    """Under nohup the link goes on and writes its output."""
    source = tmp_path / "start.s"
    source.write_text(".globl _start\n_start: ret\n")
    obj = tmp_path / "start.o"
    subprocess.run(["as", "-o", str(obj), str(source)], check=True)
    out = tmp_path / "a.out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LINKHARNESS_SERVER": "0"}
    done = subprocess.run(
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
         + STOPPED_LINK.format(signum=int(signal.SIGHUP), out=str(out), obj=str(obj))],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and os.access(out, os.X_OK)
