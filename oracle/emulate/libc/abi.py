"""Integer conventions of the two ABIs: how wide `long` is, and how raw register values
(always handed over as unsigned) are read back as C's signed types.

`word` is the pointer and `long` size in bytes: 8 on x86-64 (LP64), 4 on i386 (ILP32).
"""

from __future__ import annotations


def mask(value: int, size: int) -> int:
    """`value` truncated to `size` bytes, as an unsigned number."""
    return value & ((1 << (8 * size)) - 1)


def signed(value: int, size: int) -> int:
    """The low `size` bytes of `value` read as a two's-complement signed number."""
    value = mask(value, size)
    return value - (1 << (8 * size)) if value >> (8 * size - 1) else value


def c_int(value: int) -> int:
    """A C `int` argument: only the low 32 bits of the register are defined."""
    return signed(value, 4)


def long_range(size: int) -> tuple[int, int]:
    """(min, max) of a signed integer of `size` bytes."""
    top = 1 << (8 * size - 1)
    return -top, top - 1
