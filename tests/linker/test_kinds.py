"""The abstract relocation kinds: formulas and overflow bounds."""

import numpy as np
import pytest

from linker.kinds import Howto, Overflow, RelocKind, compute, formula


def _one(kind: RelocKind, **letters: int) -> int:
    arrays = {k: np.array([letters.get(k, 0)], dtype=np.int64) for k in "SAPGLTZ"}
    return int(compute(kind, GOT=letters.get("GOT", 0), **arrays)[0])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (RelocKind.ABS, 0x1000 + 8),
        (RelocKind.PC, 0x1000 + 8 - 0x2000),
        (RelocKind.PLT_PC, 0x3000 + 8 - 0x2000),
        (RelocKind.GOT_PC, 0x4000 + 8 - 0x2000),
        (RelocKind.GOT_OFF, 0x4000 + 8 - 0x5000),
        (RelocKind.REL_GOT, 0x1000 + 8 - 0x5000),
        (RelocKind.GOT_BASE_PC, 0x5000 + 8 - 0x2000),
        (RelocKind.SUB, 0x1000 - 0x600 + 8),
        (RelocKind.SIZE, 24 + 8),
    ],
)
def test_every_kind_computes_its_formula(kind: RelocKind, expected: int) -> None:
    value = _one(kind, S=0x1000, A=8, P=0x2000, L=0x3000, G=0x4000, GOT=0x5000, T=0x600, Z=24)
    assert value == expected
    assert formula(kind) != "-"


def test_bounds_follow_the_overflow_rule() -> None:
    assert Howto("x", RelocKind.ABS, 4, Overflow.SIGNED).bounds() == (-(1 << 31), (1 << 31) - 1)
    assert Howto("x", RelocKind.ABS, 4, Overflow.UNSIGNED).bounds() == (0, (1 << 32) - 1)
    assert Howto("x", RelocKind.ABS, 2, Overflow.EITHER).bounds() == (-(1 << 15), (1 << 16) - 1)
    assert Howto("x", RelocKind.ABS, 1, Overflow.EITHER).bounds() == (-128, 255)
