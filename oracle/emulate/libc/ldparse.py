"""strtold's conversion: the text of a number (as strtod's grammar matched it) to the x87
80-bit value nearest it, ties to even, with whether it overflowed or underflowed.

Hostile literals stay cheap: an exponent far past the format's range is settled before
any big number is made, and a mantissa of more than KEEP_DIGITS significant digits is
cut with a sticky digit (a nonzero digit dropped becomes a 1 after the last kept one),
so rounding stays right wherever KEEP_DIGITS digits decide it.
"""

from __future__ import annotations

from fractions import Fraction

from oracle.emulate.libc import longdouble

KEEP_DIGITS = 4000  # below CPython's int-from-decimal-string limit (4300)
EXPONENT_DIGITS = 9  # an exponent written with more digits is past any range anyway
DECIMAL_RANGE = (-4970, 4935)  # 10**n: below the smallest subnormal, above the largest
BINARY_RANGE = (-16500, 16385)
SIGN_BIT = 0x8000


def _special(negative: bool, mantissa: int) -> bytes:
    return mantissa.to_bytes(8, "little") + ((SIGN_BIT if negative else 0) | 0x7FFF
                                             ).to_bytes(2, "little")


def _zero(negative: bool) -> bytes:
    return bytes(8) + (SIGN_BIT if negative else 0).to_bytes(2, "little")


def _exponent(text: bytes) -> int:
    """The written exponent, clamped (its digits may be arbitrarily many)."""
    sign = -1 if text.startswith(b"-") else 1
    digits = text.lstrip(b"+-").lstrip(b"0") or b"0"
    return sign * (10**EXPONENT_DIGITS if len(digits) > EXPONENT_DIGITS else int(digits))


def _cut(digits: bytes) -> tuple[bytes, int]:
    """(significant digits, no leading zeros, kept to KEEP_DIGITS plus a sticky one; how
    many digit positions the value was shifted right to keep them)."""
    digits = digits.lstrip(b"0")
    if len(digits) <= KEEP_DIGITS:
        return digits, 0
    tail = digits[KEEP_DIGITS:]
    if tail.strip(b"0"):
        return digits[:KEEP_DIGITS] + b"1", len(tail) - 1
    return digits[:KEEP_DIGITS], len(tail)


def to_long_double(literal: bytes) -> tuple[bytes, bool]:
    """(10 bytes of the value, out of range: ERANGE) for a literal strtod's grammar
    accepts: [+-] then inf/infinity, nan[(...)], hex with optional p, or decimal."""
    text = literal.lower()
    negative = text.startswith(b"-")
    body = text.lstrip(b"+-")
    if body.startswith(b"inf"):
        return _special(negative, 1 << 63), False
    if body.startswith(b"nan"):
        return _special(negative, 3 << 62), False
    hexadecimal = body.startswith(b"0x")
    mantissa, _, written = (body[2:].partition(b"p") if hexadecimal else body.partition(b"e"))
    whole, _, fraction = mantissa.partition(b".")
    digits, shifted = _cut(whole + fraction)
    unit = 4 if hexadecimal else 1  # the written exponent's units per digit
    exponent = (_exponent(written) if written else 0) + unit * (shifted - len(fraction))
    if not digits:
        return _zero(negative), False
    low, high = BINARY_RANGE if hexadecimal else DECIMAL_RANGE
    order = (4 if hexadecimal else 1) * len(digits) + exponent
    if order > high:
        return _special(negative, 1 << 63), True
    if order < low:
        return _zero(negative), True
    base = 2 if hexadecimal else 10
    value = Fraction(int(digits, 16 if hexadecimal else 10)) * Fraction(base) ** exponent
    raw = longdouble.encode(value, negative)
    biased = int.from_bytes(raw[8:10], "little") & 0x7FFF
    if biased == 0x7FFF:
        return raw, True  # overflow
    # underflow, as glibc reports it: a subnormal (or zero) result that is not exact
    return raw, biased == 0 and longdouble.decode(raw)[1] != value
