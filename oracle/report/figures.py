"""The report's figures, drawn with matplotlib (headless Agg backend) into PNG bytes.

- the matrix of relocation flavour x linker: each cell the worst result of the cases whose
  inputs hold that flavour (fail > known > fixed > pass; blank when no case applies);
- the coverage labels a hunt's examples hit (a bar per label);
- examples over time: each campaign's example count at its start time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: the report is made on CI machines too
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

# result -> (rank in the matrix: higher wins a cell, colour)
RESULT_STYLE = {
    "n/a": (0, "#f0f0f0"),
    "pass": (1, "#4caf50"),
    "fixed": (2, "#2196f3"),
    "known": (3, "#ffb300"),
    "error": (4, "#9c27b0"),
    "fail": (5, "#e53935"),
}


def _png(fig: plt.Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def matrix_figure(flavours: Sequence[str], linkers: Sequence[str],
                  cells: Mapping[tuple[str, str], str]) -> bytes:
    """A flavour x linker grid coloured by result, each cell labelled with it."""
    order = list(RESULT_STYLE)
    grid = [[RESULT_STYLE[cells.get((f, li), "n/a")][0] for li in linkers] for f in flavours]
    height = max(2.0, 0.28 * len(flavours) + 1.2)
    fig, ax = plt.subplots(figsize=(1.3 * len(linkers) + 3.2, height))
    ax.imshow(grid or [[0]], cmap=ListedColormap([RESULT_STYLE[r][1] for r in order]),
              vmin=0, vmax=len(order) - 1, aspect="auto")
    ax.set_xticks(range(len(linkers)), list(linkers))
    ax.set_yticks(range(len(flavours)), list(flavours), fontsize=7)
    ax.xaxis.tick_top()
    for y, flavour in enumerate(flavours):
        for x, linker in enumerate(linkers):
            ax.text(x, y, cells.get((flavour, linker), "n/a"), ha="center", va="center",
                    fontsize=6)
    ax.set_title("relocation flavour x linker (worst result of the cases using it)",
                 fontsize=9, pad=24)
    return _png(fig)


def coverage_figure(coverage: Mapping[str, int], examples: int) -> bytes:
    labels = sorted(coverage, key=lambda k: coverage[k])[-40:]
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.2 * len(labels) + 1)))
    ax.barh(labels or ["(no labels)"], [coverage[k] for k in labels] or [0], color="#5c6bc0")
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xlabel(f"examples (of {examples})")
    ax.set_title("coverage labels hit", fontsize=9)
    return _png(fig)


def timeline_figure(points: Sequence[tuple[str, int, int]]) -> bytes:
    """(campaign start, examples, cases found) per campaign, in time order."""
    fig, ax = plt.subplots(figsize=(7, 2.6))
    xs = list(range(len(points)))
    ax.plot(xs, [p[1] for p in points], marker="o", label="examples")
    ax.bar(xs, [p[2] for p in points], color="#e53935", alpha=0.6, label="cases found")
    ax.set_xticks(xs, [p[0] for p in points], rotation=20, fontsize=6)
    ax.set_title("examples and findings over time (one point per campaign)", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)
