"""fuzz/draws.py: `pick` and `integer` make st.sampled_from's and st.integers' choices
without building strategies: the same values, shrinking the same way, through the same
fallback when `draw` exposes no test case."""

from __future__ import annotations

from typing import Any, cast

from hypothesis import find, given, settings
from hypothesis import strategies as st

from fuzz.draws import (
    ByteChoices,
    PlainChoices,
    _nth_nearest_zero,
    byte_choices,
    choices_of,
    integer,
    pick,
)

LETTERS = ("a", "b", "c", "d")


@st.composite
def picked(draw: st.DrawFn) -> str:
    return pick(draw, LETTERS)


@st.composite
def ranged(draw: st.DrawFn, low: int, high: int) -> int:
    return integer(draw, low, high)


def test_pick_shrinks_to_the_first_element_and_reaches_every_one() -> None:
    assert find(picked(), lambda _: True) == "a"
    assert find(picked(), lambda x: x >= "c") == "c"
    seen: set[str] = set()

    @settings(max_examples=60, derandomize=True, database=None)
    @given(picked())
    def collect(x: str) -> None:
        seen.add(x)

    collect()
    assert seen == set(LETTERS)


def test_integer_stays_in_range_and_shrinks_towards_low() -> None:
    assert find(ranged(5, 300), lambda v: v >= 100) == 100
    assert find(ranged(-16, 40), lambda _: True) == 0  # st.integers shrinks towards 0

    @settings(max_examples=200, derandomize=True, database=None)
    @given(ranged(0, 0xFFFFFFFF))
    def within(v: int) -> None:
        assert 0 <= v <= 0xFFFFFFFF

    within()


def test_a_single_choice_draws_nothing_and_an_empty_one_rejects() -> None:
    def no_draw(_: Any) -> Any:
        raise AssertionError("a one-element pick must not draw")

    assert pick(cast(st.DrawFn, no_draw), ("only",)) == "only"
    @st.composite
    def maybe_empty(draw: st.DrawFn) -> int:
        return pick(draw, ()) if pick(draw, (0, 1)) else 7

    assert find(maybe_empty(), lambda _: True) == 7


def test_without_a_test_case_behind_draw_the_strategies_are_used() -> None:
    drawn: list[st.SearchStrategy[Any]] = []

    def draw(strategy: st.SearchStrategy[Any]) -> Any:
        drawn.append(strategy)
        return find(strategy, lambda _: True)  # its simplest value

    assert pick(cast(st.DrawFn, draw), LETTERS) == "a"
    assert integer(cast(st.DrawFn, draw), 3, 9) == 3
    assert len(drawn) == 2


@st.composite
def from_bytes(draw: st.DrawFn, low: int, high: int, count: int = 1) -> list[int]:
    chooser = byte_choices(draw)
    assert isinstance(chooser, ByteChoices)
    return [integer(chooser, low, high) for _ in range(count)]


@st.composite
def picked_from_bytes(draw: st.DrawFn) -> str:
    return pick(byte_choices(draw), LETTERS)


def test_byte_choices_shrink_like_the_engine_choices_they_replace() -> None:
    assert find(picked_from_bytes(), lambda _: True) == "a"
    assert find(picked_from_bytes(), lambda x: x >= "c") == "c"
    assert find(from_bytes(-16, 40), lambda _: True) == [0]  # st.integers's shrink target
    assert find(from_bytes(5, 300), lambda _: True) == [5]
    assert find(from_bytes(5, 300), lambda v: v[0] >= 100) == [100]


def test_byte_choices_reach_every_value_and_the_ends_of_wide_ranges() -> None:
    seen: set[int] = set()
    ends = {0: 0, 1: 0, 0xFFFFFFFE: 0, 0xFFFFFFFF: 0}

    @settings(max_examples=100, derandomize=True, database=None)
    @given(from_bytes(-3, 9, count=20), from_bytes(0, 0xFFFFFFFF, count=20))
    def collect(small: list[int], wide: list[int]) -> None:
        assert all(-3 <= v <= 9 for v in small) and all(0 <= v <= 0xFFFFFFFF for v in wide)
        seen.update(small)
        for v in wide:
            if v in ends:
                ends[v] += 1

    collect()
    assert seen == set(range(-3, 10))
    # st.integers draws each end of a wide range about once in 64 draws: 2,000 draws here
    assert all(n >= 5 for n in ends.values()), ends


def test_byte_choices_read_more_than_one_block() -> None:
    # 500 bytes: four blocks; the last value, in the last block, still shrinks to 1 (the
    # others shrink too, but a value read across two blocks may stay where it is)
    many = find(from_bytes(0, 0xFFFFFFFF, count=100), lambda v: v[-1] > 0)
    assert len(many) == 100 and many[-1] == 1


def test_byte_choices_order_a_range_by_distance_from_zero() -> None:
    assert [_nth_nearest_zero(-2, 4, n) for n in range(7)] == [0, 1, -1, 2, -2, 3, 4]
    assert [_nth_nearest_zero(-4, 1, n) for n in range(6)] == [0, 1, -1, -2, -3, -4]
    assert [_nth_nearest_zero(-9, -7, n) for n in range(3)] == [-7, -8, -9]
    assert [_nth_nearest_zero(3, 5, n) for n in range(3)] == [3, 4, 5]


@st.composite
def picks_from_bytes(draw: st.DrawFn, count: int) -> list[int]:
    chooser = byte_choices(draw)
    return [pick(chooser, range(200)) for _ in range(count)]


def test_byte_choices_pick_long_lists_without_weighting_their_ends() -> None:
    # st.sampled_from draws every element alike; an integer's end weights (4/256 for each
    # end) would give the first and last about 40 of these 2,000 draws instead of 10
    counts = [0] * 200

    @settings(max_examples=100, derandomize=True, database=None)
    @given(picks_from_bytes(20))
    def collect(picked: list[int]) -> None:
        for i in picked:
            counts[i] += 1

    collect()
    assert counts[0] + counts[-1] < 45, (counts[0], counts[-1])
    assert sum(1 for c in counts if c) > 190


def test_choices_of_reads_blocks_on_a_test_case_and_falls_back_without_one() -> None:
    @st.composite
    def made(draw: st.DrawFn) -> type:
        return type(choices_of(draw))

    assert find(made(), lambda _: True) is ByteChoices
    drawn: list[st.SearchStrategy[Any]] = []

    def plain(strategy: st.SearchStrategy[Any]) -> Any:
        drawn.append(strategy)
        return find(strategy, lambda _: True)

    chooser = choices_of(cast(st.DrawFn, plain))
    assert isinstance(chooser, PlainChoices)
    assert chooser.pick(LETTERS) == "a" and chooser.integer(3, 9) == 3
    assert len(drawn) == 2
