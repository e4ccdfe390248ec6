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
from typing import Any, Protocol, TypeVar, cast

from hypothesis import reject
from hypothesis import strategies as st

from .hypothesis_patches import fast_fixed_size_bytes, unmanaged_numpy_random

try:
    from hypothesis.internal.conjecture.data import ConjectureData as _TestCase
    from hypothesis.internal.conjecture.utils import calc_label_from_name
except ImportError:  # another Hypothesis: the strategies, and any stable 64-bit label
    _TestCase = type(None)  # type: ignore[assignment,misc]

    def calc_label_from_name(name: str) -> int:
        return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
_FAST_BLOCKS = fast_fixed_size_bytes()  # fuzz/hypothesis_patches.py
_NUMPY_UNMANAGED = unmanaged_numpy_random()
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
    if type(draw) is ByteChoices:
        return draw.integer(low, high)
    data = _data(draw)
    if data is None:
        return draw(ints(low, high))
    data.start_span(_label("integer", low, high))
    value = int(data.draw_integer(low, high, weights=_end_weights(low, high)))
    data.stop_span()
    return value


def pick(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of `choices`, as draw(st.sampled_from(choices)) would draw it."""
    if type(draw) is ByteChoices:
        return draw.pick(choices)
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


# Bytes drawn at a time by ByteChoices: a program model takes about 300 (five-word call
# arguments and data constants are most of it), so two or three draws make one.
BLOCK = 128
# Choices among more than this many values read one byte more than the range needs, so
# that the modulo's bias stays under 1/256 of a value's share.
UNBIASED_UP_TO = 16
# st.integers's end weights (see _end_weights) as byte values of the selector that a wide
# range reads first: 4/256 low, 2/256 low + 1, 2/256 high - 1, 4/256 high, at the top of
# the byte so that a zero selector (what shrinking makes) means "uniform".
_ENDS = ((252, 0), (250, 1), (248, -2), (244, -1))


class ByteChoices:
    """A composite's `draw` that makes its integer and pick choices from byte blocks drawn
    on the test case, `BLOCK` bytes at a time, instead of one Hypothesis choice each.

    Every choice costs the engine about 12 µs (recording, the data tree, span bookkeeping)
    whatever its size, and a program model makes about 160 of them: most of the 2.8 ms of
    CPU that drawing a model took, a quarter of an example of property (a).  Read from
    blocks, a model costs two to four choices.  The values keep their distributions
    (uniform picks; st.integers's weighted ends on ranges wider than 127) and their
    shrinking direction: all-zero bytes give every pick its first element and every
    integer the value st.integers shrinks to (0 when in range, else the end nearest it).
    What is lost is the engine's view of each choice: the shrinker shortens a model
    through its count choices (fewer functions, steps, items), whose later choices then
    read other bytes, rather than deleting one choice at a time; failures still shrink,
    less far.

    Hypothesis makes a block's random bytes one at a time in Python (about 0.8 µs a byte,
    100 µs a block); fuzz/hypothesis_patches.py has it make a fixed-size block at once.

    Anything else a strategy draws (`draw(st.permutations(...))`) goes to the wrapped
    `draw` unchanged.
    """

    def __init__(self, draw: st.DrawFn, data: Any, block: int = BLOCK) -> None:
        self._draw = draw
        self._data = data
        self._size = block
        self._block = b""
        self._at = 0

    def __call__(self, strategy: st.SearchStrategy[T], label: object = None) -> T:
        return self._draw(strategy, label)

    def _refill(self, n: int) -> bytes:
        """The block with at least `n` bytes unread, from `_at` on (read from 0 when
        the unread rest was carried over in front of a new block)."""
        block = self._block
        if self._at + n > len(block):
            block = self._block = block[self._at:] + self._data.draw_bytes(self._size,
                                                                          self._size)
            self._at = 0
        return block

    def _take(self, n: int) -> int:
        """The next `n` bytes as a big-endian number (zero bytes shrink to 0)."""
        block = self._refill(n)
        at = self._at
        self._at = at + n
        return int.from_bytes(block[at:at + n], "big")

    def pick(self, choices: Sequence[T]) -> T:
        """As pick(): st.sampled_from's choice.  The hottest draw (a model makes about
        eighty), so the common one-byte case reads its byte in place."""
        count = len(choices)
        if count <= 1:
            if not count:
                reject()
            return choices[0]
        width = _WIDTHS[count] if count <= _WIDEST else _width(count)
        at = self._at
        block = self._block if at + width <= len(self._block) else self._refill(width)
        at = self._at
        self._at = at + width
        if width == 1:
            return choices[(block[at] * count) >> 8]
        return choices[(int.from_bytes(block[at:at + width], "big") * count) >> (8 * width)]

    def integer(self, low: int, high: int) -> int:
        """As st.integers(low, high) draws: its ends weighted when the range is wide."""
        span = high - low + 1
        if span > WEIGHTED_WIDER_THAN + 1:
            selector = self._take(1)
            if selector >= 244:
                for at_least, end in _ENDS:
                    if selector >= at_least:
                        return low + end if end >= 0 else high + 1 + end
        elif span <= 1:
            return low
        width = _WIDTHS[span] if span <= _WIDEST else _width(span)
        at = self._at
        block = self._block if at + width <= len(self._block) else self._refill(width)
        at = self._at
        self._at = at + width
        # scaled, not reduced modulo the span: a smaller number read gives a value
        # nearer the shrink target, so that the shrinker, lowering bytes, lowers values
        if width == 1:
            n = (block[at] * span) >> 8
        else:
            n = (int.from_bytes(block[at:at + width], "big") * span) >> (8 * width)
        return low + n if low >= 0 else _nth_nearest_zero(low, high, n)

    def index(self, count: int) -> int:
        """As st.sampled_from picks among `count` elements: uniformly, ends unweighted."""
        width = _WIDTHS[count] if 1 < count <= _WIDEST else _width(count)
        # scaled, not reduced modulo the span (see integer)
        return (self._take(width) * count) >> (8 * width)


@functools.lru_cache(maxsize=256)
def _width(span: int) -> int:
    """Bytes read for a choice among `span` values: enough for the span, and one more
    when it is wide and not a power of two (the bias then stays under 1/256)."""
    width = ((span - 1).bit_length() + 7) // 8
    if span > UNBIASED_UP_TO and span & (span - 1):
        width += 1
    return width


# the widths of the spans most choices have (list lengths, small ranges), looked up
_WIDEST = 4096
_WIDTHS = {span: _width(span) for span in range(2, _WIDEST + 1)}


def _nth_nearest_zero(low: int, high: int, n: int) -> int:
    """The `n`th value of low..high in the order st.integers shrinks them: by distance
    from 0 (or from the end nearest it), positive first."""
    if low >= 0:
        return low + n
    if high <= 0:
        return high - n
    both = min(high, -low)  # values on both sides of 0, alternating
    if n <= 2 * both:
        return (n + 1) // 2 if n % 2 else -(n // 2)
    beyond = both + n - 2 * both
    return beyond if high > -low else -beyond


def byte_choices(draw: st.DrawFn, block: int = BLOCK) -> st.DrawFn:
    """`draw`, made to take its integer and pick choices from byte blocks of `block`
    bytes (ByteChoices) when this Hypothesis exposes the test case; unchanged otherwise."""
    if isinstance(draw, ByteChoices):
        return draw
    data = _data(draw)
    if data is None:
        return draw
    return cast(st.DrawFn, ByteChoices(draw, data, block))  # a DrawFn but for __signature__


class Choices(Protocol):
    """What a generator that makes its choices as methods takes (`choices_of`)."""

    def pick(self, choices: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...


class PlainChoices:
    """`pick` and `integer` as methods over a composite's `draw` that has no test case to
    read blocks from (the strategies' own choices, one each)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def pick(self, choices: Sequence[T]) -> T:
        return pick(self._draw, choices)

    def integer(self, low: int, high: int) -> int:
        return integer(self._draw, low, high)


def choices_of(draw: st.DrawFn, block: int = BLOCK) -> Choices:
    """byte_choices(draw, block), its pick and integer called as methods: a model makes
    about 140 choices, and the module functions' dispatch on the kind of `draw` was a
    fifth of each."""
    made = byte_choices(draw, block)
    return made if isinstance(made, ByteChoices) else PlainChoices(made)
