"""Rendering printf's integer, character, string and pointer conversions the way glibc does.

The values arrive already fetched and interpreted (signed or unsigned); these functions only
decide digits, prefixes and padding.  Rules checked against glibc 2.36: precision is a
minimum digit count and `.0` prints nothing for zero; `#o` forces a leading 0, `#x` adds 0x
only to non-zero values; `0` is ignored under `-` or with a precision; `%p` is `%#lx` that
also honours `+`/space and prints "(nil)" for NULL; `%c` and `%s` always pad with spaces.
"""

from __future__ import annotations

DIGIT_FORMATS = {"d": "d", "i": "d", "u": "d", "o": "o", "x": "x", "X": "X"}


def pad(body: bytes, width: int | None, flags: str) -> bytes:
    """Space-pad `body` to `width`, on the right under the `-` flag."""
    if width is None or len(body) >= width:
        return body
    fill = b" " * (width - len(body))
    return body + fill if "-" in flags else fill + body


def sign_prefix(negative: bool, flags: str) -> str:
    if negative:
        return "-"
    if "+" in flags:
        return "+"
    return " " if " " in flags else ""


def render_integer(
    value: int, conv: str, flags: str, width: int | None, precision: int | None
) -> bytes:
    """One of d i u o x X; `value` is negative only for the signed conversions."""
    magnitude = abs(value)
    digits = format(magnitude, DIGIT_FORMATS[conv])
    if precision is not None:
        digits = "" if precision == 0 and magnitude == 0 else digits.rjust(precision, "0")
    if conv == "o" and "#" in flags and not digits.startswith("0"):
        digits = "0" + digits
    prefix = sign_prefix(value < 0, flags) if conv in "di" else ""
    if conv in "xX" and "#" in flags and magnitude != 0:
        prefix = "0" + conv
    return _zero_pad(prefix, digits, flags, width, precision)


def render_pointer(value: int, flags: str, width: int | None, precision: int | None) -> bytes:
    if value == 0:
        return pad(b"(nil)", width, flags)
    digits = format(value, "x")
    if precision is not None:
        digits = digits.rjust(precision, "0")
    return _zero_pad(sign_prefix(False, flags) + "0x", digits, flags, width, precision)


def _zero_pad(
    prefix: str, digits: str, flags: str, width: int | None, precision: int | None
) -> bytes:
    if width is not None and "0" in flags and "-" not in flags and precision is None:
        digits = digits.rjust(width - len(prefix), "0")
    return pad((prefix + digits).encode("ascii"), width, flags)


def render_string(text: bytes, flags: str, width: int | None, precision: int | None) -> bytes:
    """`%s` of bytes already cut to at most `precision`; "(null)" is the caller's business."""
    if precision is not None:
        text = text[:precision]
    return pad(text, width, flags)
