"""Cheap draws for the generators: an integer in a range, an element of a list built
during the draw.

A program model makes a hundred-odd small choices.  Through strategies each costs a
strategy object (`st.sampled_from(a_new_list)` builds, validates and labels a fresh one
every call, three times the cost of the draw) and a span of its own, which the engine then
walks when it mutates examples.  These helpers make the very same choice (an integer from
low to high, weighted at the ends of a wide range exactly as st.integers weights it;
sampled_from's index from 0 to len - 1) straight on the test case's ConjectureData, the
object behind a composite strategy's `draw`.  The recorded choices are those of
st.integers and st.sampled_from, so examples replay, shrink and reproduce as before; on a
Hypothesis whose `draw` does not expose its data they fall back to the strategies.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import reject
from hypothesis import strategies as st

T = TypeVar("T")
# st.integers weights the ends of a range wider than this (hypothesis IntegersStrategy).
WEIGHTED_WIDER_THAN = 127
# sampled_from never weights: longer lists go through it.
UNWEIGHTED_PICK = 128


@functools.lru_cache(maxsize=1024)
def ints(low: int, high: int) -> st.SearchStrategy[int]:
    """st.integers(low, high), built once per range."""
    return st.integers(low, high)


@functools.lru_cache(maxsize=1024)
def _end_weights(low: int, high: int) -> dict[int, float] | None:
    if high - low <= WEIGHTED_WIDER_THAN:
        return None
    return {low: 2 / 128, low + 1: 1 / 128, high - 1: 1 / 128, high: 2 / 128}


def _data(draw: st.DrawFn) -> Any:
    data = getattr(draw, "__self__", None)
    return data if hasattr(data, "draw_integer") else None


def integer(draw: st.DrawFn, low: int, high: int) -> int:
    """draw(st.integers(low, high)), without a strategy."""
    data = _data(draw)
    if data is None:
        return draw(ints(low, high))
    return int(data.draw_integer(low, high, weights=_end_weights(low, high)))


def pick(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of `choices`, as draw(st.sampled_from(choices)) would draw it."""
    if len(choices) == 1:
        return choices[0]
    if not choices:
        reject()
    data = _data(draw)
    if len(choices) > UNWEIGHTED_PICK or data is None:
        return draw(st.sampled_from(choices))
    return choices[data.draw_integer(0, len(choices) - 1)]
