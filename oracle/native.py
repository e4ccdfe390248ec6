"""Run an ELF executable natively (the ground truth the emulator is compared with).

The program runs in a session of its own, so that on timeout the whole process group —
the program and anything it spawned — is killed, not just the direct child.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NativeResult:
    exit_code: int  # negative: killed by that signal (as subprocess reports it)
    stdout: bytes
    stderr: bytes
    timed_out: bool


def run_native(path: str, argv: Sequence[str] = (), env: Mapping[str, str] | None = None,
               timeout: float = 10, cwd: str | None = None) -> NativeResult:
    """Run `path` with arguments `argv` (argv[0] is the path itself)."""
    proc = subprocess.Popen([os.path.abspath(path), *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(env) if env is not None else None, cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return NativeResult(proc.returncode, out, err, False)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return NativeResult(proc.returncode, out, err, True)
