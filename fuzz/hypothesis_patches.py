"""One change to Hypothesis's random generation, for speed, with the same distribution.

The program generators read their choices from fixed-size byte blocks (fuzz/draws.py,
`ByteChoices`: a 128-byte block is one Hypothesis choice, a model two to four of them).
Hypothesis 6.170's random provider makes the bytes of a `draw_bytes` choice one at a time
inside its `many()` loop, about 0.8 µs a byte: 100 µs a block, a third of the CPU that
drawing a model costs.  For a fixed size (min_size == max_size) that loop draws nothing
but the bytes themselves (it stops at the size without a random decision), so making them
with one `randbytes(size)` on the same random generator gives bytes of the same
distribution, uniform and independent, in a few µs.  Everything else is Hypothesis's own
method unchanged: the constant it injects with 5% probability (checked first, as before),
every other size, shrinking, replay (a choice is the same bytes whoever made them), and
other backends (HypoFuzz's provider draws fresh choices through this one).

Applied once, when fuzz.draws is imported; `fast_fixed_size_bytes()` returns whether the
running Hypothesis has the method shape this was written against (if not, nothing is
changed and blocks are made the slow way).
"""

from __future__ import annotations

import inspect
from typing import Any

_PATCHED = "_linkharness_fixed_size_bytes"


def fast_fixed_size_bytes() -> bool:
    try:
        from hypothesis.internal.conjecture.providers import (
            COLLECTION_DEFAULT_MAX_SIZE,
            HypothesisProvider,
        )
    except ImportError:
        return False
    original = HypothesisProvider.draw_bytes
    if getattr(original, _PATCHED, False):
        return True
    if not hasattr(HypothesisProvider, "_maybe_draw_constant") or \
            list(inspect.signature(original).parameters) != ["self", "min_size", "max_size"]:
        return False

    def draw_bytes(self: Any, min_size: int = 0,
                   max_size: int = COLLECTION_DEFAULT_MAX_SIZE) -> bytes:
        if min_size != max_size or self._random is None:
            return original(self, min_size, max_size)
        constant = self._maybe_draw_constant("bytes", {"min_size": min_size,
                                                       "max_size": max_size})
        if constant is not None:
            return bytes(constant)
        return self._random.randbytes(min_size)

    setattr(draw_bytes, _PATCHED, True)
    draw_bytes.__doc__ = original.__doc__
    HypothesisProvider.draw_bytes = draw_bytes  # type: ignore[method-assign]
    return True
