"""Relative relocations in bulk: what ld.so does first and most, done as arrays.

A position-independent program's dynamic relocations are mostly R_*_RELATIVE (the slot
gets the load bias plus the addend) or, packed, DT_RELR (the slot gets the bias added to
what it holds).  A large PIE has hundreds of thousands; made one `Reloc` and one write at
a time they took 4 us each, so a 48 MB table spent 9 s loading against a 1 s limit.  Here
the slots are sorted, cut into runs of adjacent words, and each run is one read (REL,
RELR) and one write.

DT_RELR tables (oracle/relr.py decodes them) are applied the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from oracle.emulate.guest import GuestMemory
from oracle.relr import relr_slots

U64 = npt.NDArray[np.uint64]
RUN_FLUSH = 1 << 16  # RELR slots gathered before they are written: memory stays bounded


class Slots:
    """Writes to runs of adjacent words of one loaded object."""

    def __init__(self, mem: GuestMemory, write: Callable[[int, bytes], None], word: int,
                 step: Callable[[], None]) -> None:
        self.mem, self.write, self.word, self.step = mem, write, word, step
        self.dtype = np.dtype(f"<u{word}")

    def runs(self, addrs: U64) -> Iterator[tuple[int, int, int]]:
        """(first address, start, end) of each run of adjacent words in sorted `addrs`."""
        cuts = np.flatnonzero(np.diff(addrs) != self.word) + 1
        starts = [0, *cuts.tolist()]
        ends = [*cuts.tolist(), len(addrs)]
        for start, end in zip(starts, ends):
            self.step()
            yield int(addrs[start]), start, end

    def store(self, addrs: U64, values: U64) -> None:
        """Each slot of sorted `addrs` gets its value (truncated to the word)."""
        words = values.astype(self.dtype)
        for at, start, end in self.runs(addrs):
            self.write(at, words[start:end].tobytes())

    def add(self, addrs: U64, bias: int) -> None:
        """Each slot of sorted `addrs` gets `bias` added to what it holds (mod the word)."""
        for at, start, end in self.runs(addrs):
            held = np.frombuffer(self.mem.read(at, (end - start) * self.word), self.dtype)
            self.write(at, (held + self.dtype.type(bias % (1 << 8 * self.word))).tobytes())


def relr_addresses(entries: npt.NDArray[np.uint64], word: int, bias: int,
                   step: Callable[[], None]) -> Iterator[U64]:
    """The slots a DT_RELR table relocates (oracle/relr.py; the bias applied), in sorted
    batches; `step` once per table entry (the loading deadline)."""
    batch: list[int] = []
    last = -1
    mask = (1 << 64) - 1
    for slot, index in relr_slots(entries.tolist(), word):
        if index != last:
            step()
            last = index
        batch.append((slot + bias) & mask)
        if len(batch) >= RUN_FLUSH:
            yield np.sort(np.array(batch, dtype=np.uint64))
            batch = []
    if batch:
        yield np.sort(np.array(batch, dtype=np.uint64))
