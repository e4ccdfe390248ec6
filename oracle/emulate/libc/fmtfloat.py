"""Rendering printf's floating conversions (e E f F g G a A) the way glibc does.

For finite values Python's `%` operator is exact and rounds half-to-even on the exact binary
value, as glibc does, so e/f/g reuse it with the same flags (but for one glibc quirk of
`%#g`, see _carry_into_exponent).  Infinities and NaNs are built
here: glibc prints the sign of a NaN ("-nan" for x86's default NaN) and never zero-pads them.
Hexadecimal (`%a`) is built from the bits: a leading 1 (0 for subnormals, exponent -1022),
trailing zero nibbles dropped unless a precision asks for them, rounding half-to-even.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal

from oracle.emulate.libc.fmtint import pad, sign_prefix

PY_FLAGS = "-+ #0"
MANTISSA_NIBBLES = 13  # 52 fraction bits


def render_float(
    value: float, conv: str, flags: str, width: int | None, precision: int | None
) -> bytes:
    if not math.isfinite(value):
        word = "inf" if math.isinf(value) else "nan"
        body = sign_prefix(math.copysign(1.0, value) < 0, flags) + word
        return pad((body.upper() if conv.isupper() else body).encode("ascii"), width, flags)
    if conv in "aA":
        return _render_hex(value, conv, flags, width, precision)
    if conv in "gG" and "#" in flags and _carry_into_exponent(value, precision):
        conv, precision = ("e" if conv == "g" else "E"), 0
    spec = "%" + "".join(f for f in PY_FLAGS if f in flags)
    spec += "" if width is None else str(width)
    spec += "" if precision is None else f".{precision}"
    return ((spec + conv) % value).encode("ascii")


def _carry_into_exponent(value: float, precision: int | None) -> bool:
    """glibc's `%#g` quirk: when the value has exactly P integer digits before rounding and
    rounding carries it to 10**P, glibc switches to the e style but keeps the zero fraction
    digits it had planned for the f style ("1.e+02" for %#.2g of 99.5; C says "1.0e+02")."""
    if value == 0:
        return False
    digits = 6 if precision is None else max(precision, 1)
    before = Decimal(value).adjusted()  # exact: floor(log10(|value|))
    after = int(f"{value:.{digits - 1}e}".rsplit("e", 1)[1])
    return before == digits - 1 and after == digits


def _render_hex(
    value: float, conv: str, flags: str, width: int | None, precision: int | None
) -> bytes:
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    biased = (bits >> 52) & 0x7FF
    fraction = bits & ((1 << 52) - 1)
    if biased == 0 and fraction == 0:
        lead, exponent = 0, 0
    elif biased == 0:
        lead, exponent = 0, -1022
    else:
        lead, exponent = 1, biased - 1023
    nibbles = MANTISSA_NIBBLES
    if precision is not None and precision < nibbles:
        drop = 4 * (nibbles - precision)
        kept, rest = fraction >> drop, fraction & ((1 << drop) - 1)
        half = 1 << (drop - 1)
        if rest > half or (rest == half and (kept & 1 if precision else lead & 1)):
            kept += 1
        if kept >> (4 * precision):  # the carry ran into the leading digit
            lead, kept = lead + 1, 0
        fraction, nibbles = kept, precision
    digits = format(fraction, f"0{nibbles}x") if nibbles else ""
    if precision is None:
        digits = digits.rstrip("0")
    elif precision > nibbles:
        digits += "0" * (precision - nibbles)
    point = "." if digits or "#" in flags else ""
    prefix = sign_prefix(math.copysign(1.0, value) < 0, flags) + "0x"
    body = f"{lead}{point}{digits}p{exponent:+d}"
    if width is not None and "0" in flags and "-" not in flags:
        body = body.rjust(width - len(prefix), "0")
    text = prefix + body
    return pad((text.upper() if conv == "A" else text).encode("ascii"), width, flags)
