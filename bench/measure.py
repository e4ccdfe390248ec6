"""Timing the linkers on one workload: wall time, CPU time and peak RSS of each link.

Each run is a fresh child of a small C runner (child_runner.py), reaped with `wait4`, whose
resource usage is that child's alone: peak RSS per run without RUSAGE_CHILDREN's running
maximum over every child so far, and without this interpreter's memory as a floor.
The output is deleted before each run, so no linker reuses or overwrites an old file, and is
run natively afterwards: a fast link of a wrong program is not a result.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.linkers import Linker
from bench.workload import Workload

RUN_TIMEOUT_S = 20  # for the linked program; it runs in microseconds when right


@dataclass(frozen=True)
class Sample:
    """One link: seconds of wall and CPU (user + system) time, peak RSS in KiB, status."""

    wall_s: float
    cpu_s: float
    max_rss_kib: int
    status: int


@dataclass(frozen=True)
class Measurement:
    """Everything the report says about one linker on one workload."""

    linker: str
    workload: str
    runs: int
    error: str | None = None  # why there are no figures (the link failed), else None
    wall_s: tuple[float, ...] = ()
    cpu_s: tuple[float, ...] = ()
    peak_rss_mib: float = 0.0
    output_bytes: int = 0
    verified: str = "not run"  # what running the output did
    verified_ok: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s) if self.wall_s else float("nan")

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s) if self.cpu_s else float("nan")


def run_once(runner: Path, command: list[str], cwd: Path, timeout_s: float,
             server_usage: bool = False) -> tuple[Sample, str]:
    """Run `command` once in `cwd` under the runner; the sample and its standard error.
    With `server_usage`, the command is linkharness's shim and what the link server's
    child used (the shim writes it down) is added: CPU time to the shim's, peak RSS the
    larger of the two."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result"
        usage = Path(scratch) / "server-usage"
        env = {**os.environ, "LINKHARNESS_SERVER_RUSAGE": str(usage)} if server_usage else None
        subprocess.run([str(runner), str(result), str(max(1, round(timeout_s))), *command],
                       cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, check=False, env=env)
        err.seek(0)
        stderr = err.read().decode(errors="replace").strip()
        if not result.exists():
            return Sample(0.0, 0.0, 0, 255), stderr or "the runner failed"
        wall_ns, user_us, sys_us, rss_kib, status = map(int, result.read_text().split())
        if usage.exists():  # absent when the shim linked directly
            child_user, child_sys, child_rss = map(int, usage.read_text().split()[:3])
            user_us, sys_us = user_us + child_user, sys_us + child_sys
            rss_kib = max(rss_kib, child_rss)
    if status == 128 + signal.SIGKILL:
        stderr = f"killed (timeout {timeout_s:.0f} s?)\n" + stderr
    return Sample(wall_ns / 1e9, (user_us + sys_us) / 1e6, rss_kib, status), stderr


def verify(program: Path, expected_status: int) -> tuple[bool, str]:
    """Run the linked program natively; whether it exited with `expected_status`."""
    try:
        done = subprocess.run([str(program)], capture_output=True, timeout=RUN_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return False, f"hung ({RUN_TIMEOUT_S} s)"
    except OSError as exc:
        return False, f"cannot execute: {exc.strerror}"
    if done.returncode < 0:
        return False, f"killed by signal {-done.returncode}"
    if done.returncode != expected_status:
        return False, f"exit {done.returncode}, expected {expected_status}"
    return True, f"exit {done.returncode}"


def first_error(stderr: str, status: int) -> str:
    """The line of a failed link's diagnostics that says why: the first naming an error.

    Linkers put the cause first and advice last ("use the --help option ..."); a line
    with "error" in it beats an earlier warning.
    """
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit status {status}, nothing on stderr"
    chosen = next((line for line in lines if "error" in line.lower()), lines[0])
    return chosen[:200]


def _output(out_dir: Path, workload: Workload, linker: Linker) -> Path:
    return (out_dir / f"{workload.name}.{linker.name}").resolve()


def _result(linker: Linker, workload: Workload, output: Path, runs: int,
            samples: list[Sample]) -> Measurement:
    ok, verified = verify(output, workload.expected_status)
    return Measurement(
        linker=linker.name,
        workload=workload.name,
        runs=runs,
        wall_s=tuple(s.wall_s for s in samples),
        cpu_s=tuple(s.cpu_s for s in samples),
        peak_rss_mib=max(s.max_rss_kib for s in samples) / 1024,
        output_bytes=output.stat().st_size,
        verified=verified,
        verified_ok=ok,
    )


def measure(linkers: list[Linker], workload: Workload, out_dir: Path, runner: Path,
            runs: int, warmup: int = 1, timeout_s: float = 900.0,
            progress: Callable[[str], None] | None = None) -> list[Measurement]:
    """Every linker on `workload`: `warmup` unrecorded rounds, then `runs` recorded ones.

    A round links once with each linker in turn, so a change in the machine's other load
    during the benchmark falls on every linker alike instead of on whichever ran then.
    A linker that fails once is dropped with its error; the others' outputs are run.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[Sample]] = {linker.name: [] for linker in linkers}
    errors: dict[str, str] = {}
    for i in range(warmup + runs):
        if progress is not None:
            what = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
            progress(f"[{workload.name}] {what}")
        for linker in linkers:
            if linker.name in errors:
                continue
            output = _output(out_dir, workload, linker)
            output.unlink(missing_ok=True)
            if linker.prepare is not None:
                linker.prepare()
            command = [*linker.command, "-o", str(output), *workload.args]
            sample, stderr = run_once(runner, command, workload.directory, timeout_s,
                                      linker.server_usage)
            if sample.status != 0 or not output.exists():
                errors[linker.name] = first_error(stderr, sample.status)
            elif i >= warmup:
                samples[linker.name].append(sample)
    return [
        Measurement(linker.name, workload.name, runs, error=errors[linker.name])
        if linker.name in errors
        else _result(linker, workload, _output(out_dir, workload, linker), runs,
                     samples[linker.name])
        for linker in linkers
    ]
