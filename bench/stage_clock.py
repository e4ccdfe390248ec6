"""Per-stage wall-clock accounting for the fuzz-throughput benchmark.

A StageClock adds up time.perf_counter() intervals under stage names, in the order the
stages were first seen, so a table can list them as the pipeline runs them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class StageCost:
    """Seconds spent in one stage over all examples, and how many times it ran."""

    stage: str
    seconds: float
    calls: int


class StageClock:
    """Accumulates seconds per stage."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._calls: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float, calls: int = 1) -> None:
        self._seconds[name] = self._seconds.get(name, 0.0) + seconds
        self._calls[name] = self._calls.get(name, 0) + calls

    def costs(self) -> tuple[StageCost, ...]:
        return tuple(StageCost(n, s, self._calls[n]) for n, s in self._seconds.items())
