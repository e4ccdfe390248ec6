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
    formula: str
    field: int
    width: int
    range: Range
    opcodes: tuple[tuple[int, bytes], ...] = ()
    rule: str = ""


def hexs(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def formula(terms: Sequence[tuple[str, str, int]]) -> tuple[int, str]:
    """Evaluate terms like [("+", "S", s), ("+", "A", a), ("-", "P", p)] and spell them out."""
    value = 0
    names: list[str] = []
    numbers: list[str] = []
    for i, (sign, name, number) in enumerate(terms):
        value += number if sign == "+" else -number
        prefix = "" if i == 0 and sign == "+" else f"{sign} "
        names.append(prefix + name)
        numbers.append(prefix + hexs(number))
    return value, f"{' '.join(names)} = {' '.join(numbers)} = {hexs(value)}"


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
