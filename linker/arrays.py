"""Small numpy helpers the linker shares.

`distinct` is `np.unique` for a 1-D array.  numpy 2's `np.unique` without return arrays asks
`np.ma.is_masked` first, and the first use of `np.ma` imports numpy's masked-array package:
~15 ms, a seventh of a hello link through the gcc shim (tests/linker/test_startup.py checks
that a link never imports it).
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D array, in ascending order (as np.unique)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
