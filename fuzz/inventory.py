"""The fuzzers' contract: every feature README.md says the linker has, per target, with the
coverage labels (fuzz.coverage) that show a generated example exercised it.

A row with labels is *reached*: tests/fuzz/test_inventory.py draws examples of every target
deterministically (plus the hand-made samples) and fails when a row's labels do not all
appear.  A row without labels is a *hole*: a claimed feature no generator draws yet; its
`hole` says what is missing, and the test fails when a hole appears that is not in
KNOWN_HOLES (a new feature comes with its generator) or when a known hole has been filled
but is still listed.  `make fuzz` prints the table with the campaign's counts
(fuzz/conftest.py's terminal summary).

Three modules: the rows (fuzz/inventory_rows.py), the deterministic draws that reach them
(fuzz/inventory_draws.py), and here the checks and the printed table.

Adding a linker feature: add its row (fuzz/inventory_rows.py), a generator that draws it
(and a label that says so, drawn in fuzz/inventory_draws.py), and a seeded bug in the
harness-power tests that the fuzzers catch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from .inventory_draws import LabelTally, all_label_counts, label_counts, reached_labels
from .inventory_rows import ELF64, I386, KNOWN_HOLES, MACHO32, MACHO64, ROWS, TARGETS, Row

__all__ = ["ELF64", "I386", "KNOWN_HOLES", "MACHO32", "MACHO64", "ROWS", "TARGETS",
           "LabelTally", "Row", "all_label_counts", "label_counts", "reached_labels", "render",
           "unreached"]


def unreached(rows: Iterable[Row], labels: set[str]) -> list[Row]:
    """Rows (not holes) some of whose labels are missing from `labels`."""
    return [r for r in rows if r.labels and not set(r.labels) <= labels]


def render(counts: Counter[str] | dict[str, int], write: Callable[[str], None]) -> None:
    """The table, one line per row: how many examples drew each row (the smallest count of
    its labels), HOLE or KNOWN BUG for the rows no generator draws."""
    examples = counts.get("examples", 0)
    write(f"{'target':<13} {'family':<18} {'feature':<70} {'drawn':>7}")
    for row in ROWS:
        if row.known_bug:
            drawn = "BUG"
        elif not row.labels:
            drawn = "HOLE"
        else:
            drawn = str(min(counts.get(label, 0) for label in row.labels))
        write(f"{row.target:<13} {row.family:<18} {row.feature[:70]:<70} {drawn:>7}")
    holes = sum(not r.labels for r in ROWS)
    missed = [r for r in ROWS if r.labels and min(counts.get(x, 0) for x in r.labels) == 0]
    write(f"{len(ROWS)} rows over {examples} examples: {len(ROWS) - holes} reachable "
          f"({len(missed)} not drawn this run), {holes} holes")
