"""DT_RELR / SHT_RELR, packed relative relocations (glibc 2.36; GNU ld's
`-z pack-relative-relocs`, lld's `--pack-dyn-relocs=relr`, mold): decoded once for both
the emulated ld.so and the field oracle.

The table is a list of words.  An even word is an address: its slot is relocated, and the
next bitmap starts after it.  An odd word is a bitmap of the 8 * word - 1 slots after the
current position (bit 1 is the first); the position then moves past all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def relr_slots(entries: Iterable[int], word: int) -> Iterator[tuple[int, int]]:
    """(slot, entry index) for each slot the table relocates, at link-time addresses and
    in the table's order; the index lets a caller bound its work per entry."""
    span = (8 * word - 1) * word
    where = 0
    for index, entry in enumerate(entries):
        if not entry & 1:
            yield entry, index
            where = entry + word
            continue
        bitmap, slot = entry >> 1, where
        while bitmap:
            if bitmap & 1:
                yield slot, index
            bitmap >>= 1
            slot += word
        where += span
