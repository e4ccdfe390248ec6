"""Cheap draws for the generators: an integer in a range, an element of a list built
during the draw.

A program model makes a hundred-odd small choices.  Through strategies each costs a
strategy object: `st.sampled_from(a_new_list)` builds, validates and labels a fresh one
every call, three times the cost of the draw itself.  These helpers make the very same
choice (an integer from low to high, weighted at the ends of a wide range exactly as
st.integers weights it; sampled_from's index from 0 to len - 1) straight on the test case's
ConjectureData, the object behind a composite strategy's `draw`, inside a span labelled by
the kind of choice, as a strategy's draw would be (the engine's mutator copies choices
between spans of one label; without them a third of its attempts overran).  The recorded
choices are those of st.integers and st.sampled_from, so examples replay, shrink and
reproduce as before; on a Hypothesis whose `draw` does not expose its data they fall back
to the strategies.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import reject
from hypothesis import strategies as st

try:
    from hypothesis.internal.conjecture.data import ConjectureData as _TestCase
    from hypothesis.internal.conjecture.utils import calc_label_from_name
except ImportError:  # another Hypothesis: the strategies, and any stable 64-bit label
    _TestCase = type(None)  # type: ignore[assignment,misc]

    def calc_label_from_name(name: str) -> int:
        return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
_RAW_DRAWS = all(hasattr(_TestCase, a) for a in ("draw_integer", "start_span", "stop_span"))

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
    """The test case behind a composite's `draw`, when this Hypothesis has one to give."""
    data = getattr(draw, "__self__", None)
    return data if _RAW_DRAWS and isinstance(data, _TestCase) else None


@functools.lru_cache(maxsize=1024)
def _label(*key: object) -> int:
    """A span label per kind of choice (its range, or its list's length), so that the
    engine's mutator, which copies a span's choices over another span of the same label,
    still finds like choices to duplicate (as it found like strategies before)."""
    return calc_label_from_name(repr(("fuzz.draws",) + key))


def integer(draw: st.DrawFn, low: int, high: int) -> int:
    """draw(st.integers(low, high)), without a strategy."""
    data = _data(draw)
    if data is None:
        return draw(ints(low, high))
    data.start_span(_label("integer", low, high))
    value = int(data.draw_integer(low, high, weights=_end_weights(low, high)))
    data.stop_span()
    return value


def pick(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of `choices`, as draw(st.sampled_from(choices)) would draw it."""
    if len(choices) == 1:
        return choices[0]
    if not choices:
        reject()
    data = _data(draw)
    if len(choices) > UNWEIGHTED_PICK or data is None:
        return draw(st.sampled_from(choices))
    data.start_span(_label("pick", len(choices)))
    index = data.draw_integer(0, len(choices) - 1)
    data.stop_span()
    return choices[index]


@functools.lru_cache(maxsize=256)
def selections(items: tuple[T, ...], low: int, high: int) -> tuple[tuple[T, ...], ...]:
    """Every ordered selection of `low` to `high` distinct items, shortest and earliest
    first: what st.lists(st.sampled_from(items), min_size=low, max_size=high, unique=True)
    can draw, for `pick` to choose with one choice instead of one per element and one per
    "another?" (the first, and simplest, is what that list shrinks to)."""
    return tuple(chosen for size in range(low, min(high, len(items)) + 1)
                 for chosen in itertools.permutations(items, size))
