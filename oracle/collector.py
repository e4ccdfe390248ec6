"""The cycle collector paused while a judge runs, as the linker pauses it for a link.

A judge (`oracle.check`, the field oracle) makes thousands of short-lived container
objects (headers, symbols, relocations, verdicts) that all die, by reference count, when
it returns: it leaves no cycles.  With the collector running, every 700 allocations a
young collection walks whatever of them is still alive, and each tenth one promotes those
survivors to the oldest generation, whose growth then triggers a full collection of the
whole process (Hypothesis, numpy, every module: tens of milliseconds in a fuzz worker).
A judge's working set promoted on the way is what made most of those full collections.
Paused, the objects die young and uncounted; what cycles a judge might leave are
collected after it, by the collections its caller's allocations trigger.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def collector_paused(func: Callable[P, R]) -> Callable[P, R]:
    """`func` run with the cycle collector off (restored afterwards, also on an error);
    a nested call leaves it to the outermost."""
    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()
    return paused
