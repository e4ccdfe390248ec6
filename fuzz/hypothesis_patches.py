"""Two changes to Hypothesis's per-example work, for speed, neither changing what is drawn.

1. Fixed-size byte blocks made at once (`fast_fixed_size_bytes`).

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

2. numpy's global random state left alone (`unmanaged_numpy_random`).  Around every
example Hypothesis seeds, saves and restores each global random generator it manages, so
that a test drawing from one repeats; once numpy is imported (the linker and the oracle
use it) that includes numpy's global RandomState, whose get_state, seed and set_state cost
about 110 µs an example, 2-3 times what Hypothesis spends on the rest of that care.  No
code here draws from numpy's global generator (tests/fuzz/test_hypothesis_patches.py
greps linker/, oracle/ and fuzz/ for it), so there is nothing to repeat; Python's own
`random` module stays managed.

Both are applied once, when fuzz.draws is imported; each returns whether the running
Hypothesis has the shape this was written against (if not, nothing is changed).
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


class _NotManaged:
    """Stands for numpy's generator in Hypothesis's slot for it: not registered."""


def unmanaged_numpy_random() -> bool:
    try:
        from hypothesis.internal import entropy as _entropy
    except ImportError:
        return False
    entropy: Any = _entropy
    if not hasattr(entropy, "NP_RANDOM") or not hasattr(entropy, "RANDOMS_TO_MANAGE"):
        return False
    wrapper = entropy.NP_RANDOM
    if wrapper is None:  # not registered yet: Hypothesis registers it when this is None
        entropy.NP_RANDOM = _NotManaged()
        return True
    if isinstance(wrapper, _NotManaged):
        return True
    for key, ref in list(entropy.RANDOMS_TO_MANAGE.data.items()):  # already registered
        if ref() is wrapper:
            del entropy.RANDOMS_TO_MANAGE[key]
    return True
