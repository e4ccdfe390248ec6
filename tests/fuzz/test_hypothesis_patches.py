"""fuzz/hypothesis_patches.py: fixed-size byte blocks made at once are still uniform bytes and
other sizes are Hypothesis's own; numpy's global generator is not managed, and nothing
here draws from it."""

from __future__ import annotations

import re
from pathlib import Path
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.internal import entropy
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.providers import HypothesisProvider

import fuzz.draws  # noqa: F401  (applies the patches)
from fuzz.hypothesis_patches import fast_fixed_size_bytes, unmanaged_numpy_random

REPO = Path(__file__).resolve().parents[2]


def test_the_patches_apply_to_this_hypothesis() -> None:
    assert fast_fixed_size_bytes() and unmanaged_numpy_random()
    assert getattr(HypothesisProvider.draw_bytes, "_linkharness_fixed_size_bytes", False)


def test_fixed_size_blocks_are_uniform_bytes_and_other_sizes_vary() -> None:
    data = ConjectureData(random=Random(7))
    provider = data.provider  # below the test case, whose buffer 200 blocks would overrun
    blocks = b"".join(provider.draw_bytes(128, 128) for _ in range(200))
    counts = [blocks.count(bytes([v])) for v in range(256)]
    expected = len(blocks) / 256
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 400, chi2  # 255 degrees of freedom: about 255 when uniform
    sizes = {len(provider.draw_bytes(0, 40)) for _ in range(200)}
    assert len(sizes) > 10  # a variable size is Hypothesis's own draw, sizes and all


def test_numpy_global_random_is_not_managed() -> None:
    import numpy  # noqa: F401  (imported: Hypothesis would register its generator now)

    @settings(max_examples=3, database=None)
    @given(st.integers())
    def run(_: int) -> None:
        pass

    run()
    managed = [ref() for ref in entropy.RANDOMS_TO_MANAGE.data.values()]  # type: ignore[attr-defined]
    assert not any(type(r).__name__ == "NumpyRandomWrapper" for r in managed), managed


def test_nothing_draws_from_numpy_global_random() -> None:
    pattern = re.compile(r"\b(np|numpy)\.random\b|from numpy import random|from numpy\.random")
    users = [str(path.relative_to(REPO)) for package in ("linker", "oracle", "fuzz", "bench")
             for path in (REPO / package).rglob("*.py") if pattern.search(path.read_text())]
    assert users == []
