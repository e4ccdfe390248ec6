"""fuzz/draws.py: `pick` and `integer` make st.sampled_from's and st.integers' choices
without building strategies: the same values, shrinking the same way, through the same
fallback when `draw` exposes no test case."""

from __future__ import annotations

from typing import Any, cast

from hypothesis import find, given, settings
from hypothesis import strategies as st

from fuzz.draws import integer, pick

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
