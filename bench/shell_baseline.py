"""The baseline the fuzz throughput is compared with: a shell pipeline that assembles a
trivial case with GNU as, links it with GNU ld and runs it natively, checking only the exit
status. This is the cost the issue quotes (about 8 ms a case, 125 cases/s).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stage_clock import cpu_now

TRIVIAL_ASM = """\
    .globl _start
    .text
_start:
    mov $60, %eax
    mov $42, %edi
    syscall
"""
EXIT_STATUS = 42
PIPELINE = "as --64 -o case.o case.s && ld -o case case.o && ./case"


@dataclass(frozen=True)
class Baseline:
    """Wall and CPU seconds (the shell and its children) per case of the shell pipeline."""

    wall_s: tuple[float, ...]
    cpu_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cases_per_s(self) -> float:
        return 1.0 / self.median_s

    @property
    def cases_per_cpu_s(self) -> float:
        return 1.0 / statistics.median(self.cpu_s)

    def to_json(self) -> dict[str, object]:
        return {"pipeline": PIPELINE, "cases": len(self.wall_s), "median_s": self.median_s,
                "min_s": min(self.wall_s), "cases_per_s": self.cases_per_s,
                "median_cpu_s": statistics.median(self.cpu_s),
                "cases_per_cpu_s": self.cases_per_cpu_s}


def measure_baseline(directory: Path, cases: int) -> Baseline:
    """Run the pipeline `cases` times (after one warm-up) in `directory`; each must exit 42."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "case.s").write_text(TRIVIAL_ASM)
    times, cpu_times = [], []
    for i in range(cases + 1):
        (directory / "case").unlink(missing_ok=True)
        start, cpu = time.perf_counter(), cpu_now()
        done = subprocess.run(["sh", "-c", PIPELINE], cwd=directory, capture_output=True,
                              check=False)
        elapsed, cpu_used = time.perf_counter() - start, cpu_now() - cpu
        if done.returncode != EXIT_STATUS:
            raise RuntimeError(f"baseline pipeline exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace').strip()}")
        if i:
            times.append(elapsed)
            cpu_times.append(cpu_used)
    return Baseline(tuple(times), tuple(cpu_times))
