"""Plain-text tables for the command line: left-aligned columns, a rule under the header."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                 max_width: int = 90) -> str:
    """Columns are as wide as their widest cell, each cut to max_width characters."""
    cells = [[c if len(c) <= max_width else c[: max_width - 3] + "..." for c in row]
             for row in [list(header), *map(list, rows)]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
