"""One acceptable content of a relocation field, and the formula that produced it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle.records import quick_init

from .types import Range


@quick_init
@dataclass(frozen=True)
class Expectation:
    """The field at `field` (width bytes) must hold `value`, if the `opcodes` bytes hold.

    value None means "any content": the field is filled at run time by a dynamic relocation
    that carries its own addend (RELA).
    """

    value: int | None
    formula: str | FormulaText  # str() of it spells the formula out
    field: int
    width: int
    range: Range
    opcodes: tuple[tuple[int, bytes], ...] = ()
    rule: str = ""


def hexs(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


class FormulaText:
    """A formula spelled out only when it is shown: the oracle lists every value a field
    may hold, most of which are never printed (spelling each out was a twentieth of the
    field oracle's time).  Equal to, and hashed as, the text it spells."""

    __slots__ = ("terms", "value")

    def __init__(self, terms: Sequence[tuple[str, str, int]], value: int) -> None:
        self.terms = terms
        self.value = value

    def __str__(self) -> str:
        names: list[str] = []
        numbers: list[str] = []
        for i, (sign, name, number) in enumerate(self.terms):
            prefix = "" if i == 0 and sign == "+" else f"{sign} "
            names.append(prefix + name)
            numbers.append(prefix + hexs(number))
        return f"{' '.join(names)} = {' '.join(numbers)} = {hexs(self.value)}"

    def __repr__(self) -> str:
        return repr(str(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (FormulaText, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __add__(self, other: str) -> str:
        return str(self) + other


def formula(terms: Sequence[tuple[str, str, int]]) -> tuple[int, FormulaText]:
    """Evaluate terms like [("+", "S", s), ("+", "A", a), ("-", "P", p)]; the text spells
    them out (when shown)."""
    value = 0
    for sign, _, number in terms:
        value += number if sign == "+" else -number
    return value, FormulaText(terms, value)


def wrap(value: int, word: int) -> int:
    """`value` as the psABI's arithmetic leaves it: modulo 2**(8 * word), read as signed.

    S + A is a sum of address-sized words, so an absolute symbol at 0xffffffffffff8000 (as
    `.set x, -0x8000` gives) is -0x8000, which a 16-bit field holds; an arbitrary-precision
    sum would call it an overflow where GNU ld and lld write `00 80`."""
    bits = 8 * word
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def fits(value: int, width: int, rule: Range) -> bool:
    bits = 8 * width
    if rule is Range.ANY:
        return True
    signed = -(1 << (bits - 1)) <= value < (1 << (bits - 1))
    unsigned = 0 <= value < (1 << bits)
    if rule is Range.SIGNED:
        return signed
    if rule is Range.UNSIGNED:
        return unsigned
    return signed or unsigned


def encode(value: int, width: int) -> bytes:
    return (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
