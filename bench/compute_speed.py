"""The compute-heavy section of bench/emulate_speed.py: each kernel of
bench/compute_programs.py per target, timed four ways in the same run.

- bare (in process): bench/bare_unicorn.py's emu_start on the freestanding image, a fresh
  Unicorn instance each run (mapping untimed);
- bare (process): the same as a whole process, `python bench/bare_unicorn.py IMAGE`
  (Python's start and Unicorn's import included);
- `linkharness run` (process): the CLI on the dynamic program, a whole process;
- oracle.run (in process): the dynamic program, after one warm-up run.

Process times are the child's wall and CPU time (rusage of the reaped child); in-process
CPU time is this process's.  The ratios set oracle.run against bare in process, and the
CLI against bare as a process, by CPU time (the steadier figure on a shared machine).
Every run is checked: the dynamic program prints what the native build prints, the
freestanding image exits with the low byte of it.  Instructions are counted once per
program, by a separate oracle.run with a budget (Unicorn counting every instruction).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.bare_unicorn import run as bare_run
from bench.compute_programs import ComputeProgram

BARE_SCRIPT = Path(__file__).resolve().parent / "bare_unicorn.py"
COUNTING_BUDGET = 10**11
COUNTING_TIMEOUT = 600.0  # counting is about ten times slower: past the default 20 s wall
WAYS = ("bare (in process)", "bare (process)", "linkharness run (process)",
        "oracle.run (in process)")


class WrongComputeRun(Exception):
    """A run that did not print (or exit with) what the native build does."""


@dataclass(frozen=True)
class ComputeTiming:
    """One program's runs, each way: (wall s, CPU s) per run."""

    label: str
    instructions: int | None
    runs: dict[str, tuple[tuple[float, float], ...]]

    def median_cpu(self, way: str) -> float:
        return statistics.median(cpu for _, cpu in self.runs[way])

    def median_wall(self, way: str) -> float:
        return statistics.median(wall for wall, _ in self.runs[way])

    @property
    def in_process_ratio(self) -> float:
        """oracle.run's CPU time over bare Unicorn's, both in process."""
        return self.median_cpu(WAYS[3]) / self.median_cpu(WAYS[0])

    @property
    def process_ratio(self) -> float:
        """`linkharness run`'s CPU time over bare Unicorn's, both whole processes."""
        return self.median_cpu(WAYS[2]) / self.median_cpu(WAYS[1])

    def to_json(self) -> dict[str, object]:
        return {"program": self.label, "instructions": self.instructions,
                "in_process_cpu_ratio": self.in_process_ratio,
                "process_cpu_ratio": self.process_ratio,
                "ways": {way: {"median_wall_s": self.median_wall(way),
                               "median_cpu_s": self.median_cpu(way),
                               "runs": [list(r) for r in runs]}
                         for way, runs in self.runs.items()}}


# The processes run as an installed tool runs, with its modules' bytecode cached: a caller
# that set PYTHONDONTWRITEBYTECODE (a sandbox, CI) would make every process compile the
# emulator's sources again, a fixed cost no user pays after the first run.
PROCESS_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process(command: list[str], check: Callable[[subprocess.CompletedProcess[bytes]], str]
             ) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, capture_output=True, check=False, env=PROCESS_ENV)
    wall, cpu_s = time.perf_counter() - start, _children_cpu() - cpu
    wrong = check(done)
    if wrong:
        raise WrongComputeRun(f"{' '.join(command)}: {wrong}")
    return wall, cpu_s


def _bare_in_process(program: ComputeProgram) -> tuple[float, float]:
    done = bare_run(program.freestanding)
    if done.status != program.exit_status:
        raise WrongComputeRun(f"{program.freestanding}: bare Unicorn: exit {done.status}, "
                              f"not {program.exit_status}")
    return done.wall_s, done.cpu_s


def _bare_process(program: ComputeProgram) -> tuple[float, float]:
    def check(done: subprocess.CompletedProcess[bytes]) -> str:
        return "" if done.returncode == program.exit_status else (
            f"exit {done.returncode}, not {program.exit_status}")

    return _process([sys.executable, str(BARE_SCRIPT), str(program.freestanding)], check)


def _cli(program: ComputeProgram) -> tuple[float, float]:
    def check(done: subprocess.CompletedProcess[bytes]) -> str:
        if done.returncode == 0 and done.stdout == program.stdout:
            return ""
        return f"exit {done.returncode}, stdout {done.stdout!r}, stderr {done.stderr[-300:]!r}"

    return _process([sys.executable, "-m", "oracle.cli", "run", str(program.dynamic)], check)


def _oracle_run(program: ComputeProgram, max_instructions: int | None = None
                ) -> tuple[float, float, int | None]:
    from oracle import run

    start, cpu = time.perf_counter(), time.process_time()
    result = run(str(program.dynamic), [program.dynamic.name],
                 max_instructions=max_instructions,
                 **({} if max_instructions is None else {"timeout": COUNTING_TIMEOUT}))
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    if result.faults or result.exit_code != 0 or result.stdout != program.stdout:
        what = "; ".join(f.describe() for f in result.faults) or (
            f"exit {result.exit_code}, stdout {result.stdout!r}")
        raise WrongComputeRun(f"{program.label}: oracle.run: {what}")
    return wall, cpu_s, result.instructions


def time_compute(program: ComputeProgram, runs: int, count: bool = True) -> ComputeTiming:
    """`runs` runs each way, the ways alternating run by run (so a change in the machine's
    load falls on all of them), after one untimed oracle.run; then, when `count`, one
    counted run for the instruction count.  The warm-up runs each process once too (its
    imports' bytecode written, the image in the page cache)."""
    _oracle_run(program)
    _bare_process(program)
    _cli(program)
    timed: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    for _ in range(runs):
        timed[WAYS[0]].append(_bare_in_process(program))
        timed[WAYS[1]].append(_bare_process(program))
        timed[WAYS[2]].append(_cli(program))
        wall, cpu, _ = _oracle_run(program)
        timed[WAYS[3]].append((wall, cpu))
    instructions = _oracle_run(program, COUNTING_BUDGET)[2] if count else None
    return ComputeTiming(program.label, instructions,
                         {way: tuple(r) for way, r in timed.items()})


def table(timings: list[ComputeTiming]) -> str:
    """One row per program: median CPU ms each way (wall in brackets) and the two ratios."""
    head = (f"{'compute-heavy program':<36} {'instructions':>12} "
            + " ".join(f"{w:>22}" for w in ("bare in-proc CPU ms", "bare process CPU ms",
                                             "run CLI CPU ms", "oracle.run CPU ms"))
            + f" {'run/bare':>8} {'CLI/bare':>8}")
    rows = [head, "-" * len(head)]
    for t in timings:
        counted = f"{t.instructions:>12,}" if t.instructions is not None else f"{'-':>12}"
        cells = " ".join(f"{f'{1e3 * t.median_cpu(w):.0f} ({1e3 * t.median_wall(w):.0f})':>22}"
                         for w in WAYS)
        rows.append(f"{t.label:<36} {counted} {cells} {t.in_process_ratio:>7.2f}x "
                    f"{t.process_ratio:>7.2f}x")
    rows.append("(CPU ms, median; wall ms in brackets.  run/bare: oracle.run over bare "
                "Unicorn in process; CLI/bare: `linkharness run` over bare Unicorn, both "
                "whole processes)")
    return "\n".join(rows)
