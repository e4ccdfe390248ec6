"""Draws of the -r round-trip and --gc-sections properties (fuzz/test_relocatable.py,
fuzz/test_gc_sections.py), and the coverage labels the feature inventory reads from them."""

from __future__ import annotations

from hypothesis import strategies as st

Split = tuple[int, int]  # the run of objects [start, stop) combined by -r
DeadSection = tuple[str, bool, int]  # kind, refers to lh_main, the dead section it refers to
DEAD_KINDS = ("data", "rodata", "text", "retained")  # retained: SHF_GNU_RETAIN code


def splits(count: int) -> st.SearchStrategy[Split]:
    """A contiguous, non-empty run of `count` objects."""
    return st.integers(0, count - 1).flatmap(
        lambda start: st.tuples(st.just(start), st.integers(start + 1, count)))


def dead_sections() -> st.SearchStrategy[tuple[DeadSection, ...]]:
    """1-4 unreferenced sections; each may refer to lh_main and to another dead one."""
    return st.integers(1, 4).flatmap(lambda n: st.tuples(*[
        st.tuples(st.sampled_from(DEAD_KINDS), st.booleans(), st.integers(-1, n - 1))
        for _ in range(n)]))


def describe_split(run: Split) -> set[str]:
    return {"relocatable:run", *(["relocatable:run_of_several"] if run[1] - run[0] > 1 else [])}


def describe_dead(dead: tuple[DeadSection, ...]) -> set[str]:
    labels = {f"gc:dead:{kind}" for kind, _, _ in dead}
    if any(to_main for _, to_main, _ in dead):
        labels.add("gc:dead_refers_to_live")
    if any(0 <= to_dead != n for n, (_, _, to_dead) in enumerate(dead)):
        labels.add("gc:dead_refers_to_dead")
    return labels


def draw_labels(object_counts: list[int], count: int, i386: bool = False) -> set[str]:
    """The labels `count` deterministic draws give, for programs of these object counts."""
    from hypothesis import Phase, given, settings
    labels: set[str] = set()

    @settings(max_examples=count, derandomize=True, phases=[Phase.generate], database=None,
              deadline=None)
    @given(st.sampled_from(object_counts).flatmap(splits), dead_sections())
    def collect(run: Split, dead: tuple[DeadSection, ...]) -> None:
        labels.update(describe_split(run))
        if not i386:
            labels.update(describe_dead(dead))

    collect()
    return labels
