"""Python's cyclic garbage collector, tuned for the fuzz properties' processes.

CPython collects its youngest generation every 700 net container allocations, and an
example of property (a) allocates tens of thousands (model records, lowered instructions,
the linker's and the judges' tables): about one young collection an example, each
scanning the survivors of the last, 0.3-0.4 ms, and every tenth one the middle generation
too, a few ms; about 0.5 ms of CPU an example in all (measured with gc.callbacks on 100
examples of bench/fuzz_throughput.py).  Nearly everything an example makes is freed by
reference counting when the example ends, so collecting less often finds the same
garbage and scans fewer survivors: with the thresholds below, the same examples took
3-8% less CPU (alternating runs, load 9-11).  Cycles still get collected, later.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 50)


def tune() -> None:
    """Raise the collector's thresholds to THRESHOLDS (never lower ones set higher)."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(now, wanted) for now, wanted in zip(current, THRESHOLDS)))
