"""Per-stage time accounting for the fuzz-throughput benchmark.

A StageClock adds up intervals under stage names, in the order the stages were first seen,
so a table can list them as the pipeline runs them. Each interval is measured twice: wall
time (time.perf_counter) and CPU time, this process's (time.process_time) plus that of its
finished children (getrusage RUSAGE_CHILDREN: the assemblers, linkers and native runs).
On a shared machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and of its reaped children so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class StageCost:
    """Wall and CPU seconds spent in one stage over all examples, and how many times."""

    stage: str
    seconds: float
    cpu_seconds: float
    calls: int


class StageClock:
    """Accumulates wall and CPU seconds per stage."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._cpu: dict[str, float] = {}
        self._calls: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), cpu_now()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start, cpu_now() - cpu)

    def add(self, name: str, seconds: float, cpu_seconds: float, calls: int = 1) -> None:
        self._seconds[name] = self._seconds.get(name, 0.0) + seconds
        self._cpu[name] = self._cpu.get(name, 0.0) + cpu_seconds
        self._calls[name] = self._calls.get(name, 0) + calls

    def costs(self) -> tuple[StageCost, ...]:
        return tuple(StageCost(n, s, self._cpu[n], self._calls[n])
                     for n, s in self._seconds.items())
