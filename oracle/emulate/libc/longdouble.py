"""`long double` for the printf and scanf families: the x87 80-bit extended format (both
ABIs), read as an exact fraction and printed with glibc's exact, round-half-even decimal
conversion; %La as glibc prints this format (the leading hex digit holds the explicit
integer bit and the next three, so 1.0L is "0x8p-3").  scanf's %Lf stores the decimal
text correctly rounded to the 64-bit mantissa.
"""

from __future__ import annotations

from fractions import Fraction

from oracle.emulate.libc.fmtint import pad, sign_prefix

SIZE = 10  # bytes that hold the value (the slot is 16 on x86-64, 12 on i386)
BIAS = 16383
MANTISSA_BITS = 64
FRACTION_NIBBLES = 15  # the 60 bits after the leading hex digit
CHUNK_DIGITS = 2000
LOG10_2 = 0.30102999566398120


def decode(raw: bytes) -> tuple[bool, Fraction | None, str]:
    """(negative, exact value or None, "inf"/"nan"/"") of 10 little-endian bytes."""
    mantissa = int.from_bytes(raw[:8], "little")
    top = int.from_bytes(raw[8:10], "little")
    negative, exponent = bool(top >> 15), top & 0x7FFF
    if exponent == 0x7FFF:
        return negative, None, "inf" if mantissa & ((1 << 63) - 1) == 0 else "nan"
    scale = max(exponent, 1) - BIAS - (MANTISSA_BITS - 1)
    value = Fraction(mantissa) * (Fraction(2) ** scale)
    return negative, value, ""


def encode(value: Fraction, negative: bool = False) -> bytes:
    """The x87 value nearest `value` (ties to even), as 10 little-endian bytes."""
    sign = 0x8000 if negative else 0
    if value == 0:
        return bytes(8) + sign.to_bytes(2, "little")
    exponent = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** exponent > value:
        exponent -= 1
    biased = max(exponent + BIAS, 1)
    scale = biased - BIAS - (MANTISSA_BITS - 1)
    mantissa = _round_half_even(value / Fraction(2) ** scale)
    if mantissa >> MANTISSA_BITS:  # rounding carried into a new bit
        mantissa >>= 1
        biased += 1
    if biased >= 0x7FFF:
        return (1 << 63).to_bytes(8, "little") + (sign | 0x7FFF).to_bytes(2, "little")
    if not mantissa >> (MANTISSA_BITS - 1):
        biased = 0  # subnormal (or rounded to zero)
    return mantissa.to_bytes(8, "little") + (sign | biased).to_bytes(2, "little")


def parse(text: bytes) -> bytes:
    """scanf's %Lf of `text` (as strtold reads it: decimal, hex, inf, nan)."""
    body = text.strip().lower()
    negative = body.startswith(b"-")
    body = body.lstrip(b"+-")
    if body.startswith(b"inf"):
        return (1 << 63).to_bytes(8, "little") + ((0x8000 if negative else 0) | 0x7FFF
                                                  ).to_bytes(2, "little")
    if body.startswith(b"nan"):
        return (3 << 62).to_bytes(8, "little") + ((0x8000 if negative else 0) | 0x7FFF
                                                  ).to_bytes(2, "little")
    if body.startswith(b"0x"):
        return encode(Fraction(float.fromhex(body.decode("ascii"))), negative)
    return encode(Fraction(body.decode("ascii")), negative)


def _round_half_even(value: Fraction) -> int:
    whole, rest = divmod(value.numerator, value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (twice == value.denominator and whole & 1):
        whole += 1
    return whole


def render(raw: bytes, conv: str, flags: str, width: int | None,
           precision: int | None) -> bytes:
    """printf's %L<conv> of the value in `raw`, for conv in eEfFgGaA."""
    negative, value, special = decode(raw)
    if value is None:
        body = sign_prefix(negative, flags) + special
        return pad((body.upper() if conv.isupper() else body).encode("ascii"), width, flags)
    if conv in "aA":
        digits = _hex(raw, precision, "#" in flags)
    elif conv in "fF":
        digits = _fixed(value, 6 if precision is None else precision, "#" in flags)
    elif conv in "eE":
        digits = _scientific(value, 6 if precision is None else precision, "#" in flags)
    else:
        digits = _general(value, precision, "#" in flags)
    if conv.isupper():
        digits = digits.upper()
    prefix = sign_prefix(negative, flags) + ("0x" if conv in "aA" else "")
    if conv in "aA" and conv == "A":
        prefix = prefix.upper()
    if width is not None and "0" in flags and "-" not in flags:
        digits = digits.rjust(width - len(prefix), "0")
    return pad((prefix + digits).encode("ascii"), width, flags)


def _fixed(value: Fraction, precision: int, alternate: bool) -> str:
    scaled = _round_half_even(value * 10**precision)
    whole, fraction = divmod(scaled, 10**precision)
    if precision == 0:
        return _decimal(whole) + ("." if alternate else "")
    return f"{_decimal(whole)}.{_decimal(fraction).rjust(precision, '0')}"


def _decimal(number: int) -> str:
    """str(number) for a number >= 0 of any size (Python refuses int-to-str conversions
    past 4,300 digits; an x87 value has up to 4,933 integer digits)."""
    if number < 10**CHUNK_DIGITS:
        return str(number)
    high, low = divmod(number, 10**CHUNK_DIGITS)
    return _decimal(high) + str(low).rjust(CHUNK_DIGITS, "0")


def _decimal_exponent(value: Fraction) -> int:
    """floor(log10(value)) for value > 0, exactly."""
    bits = value.numerator.bit_length() - value.denominator.bit_length()
    guess = int(bits * LOG10_2)
    while Fraction(10) ** guess > value:
        guess -= 1
    while Fraction(10) ** (guess + 1) <= value:
        guess += 1
    return guess


def _rounded_digits(value: Fraction, precision: int) -> tuple[int, int]:
    """(precision + 1 significant digits as an integer, decimal exponent) of value > 0."""
    exponent = _decimal_exponent(value)
    digits = _round_half_even(value / Fraction(10) ** (exponent - precision))
    if digits == 10 ** (precision + 1):
        digits, exponent = digits // 10, exponent + 1
    return digits, exponent


def _scientific(value: Fraction, precision: int, alternate: bool) -> str:
    digits, exponent = (0, 0) if value == 0 else _rounded_digits(value, precision)
    text = _decimal(digits).rjust(precision + 1, "0")
    mantissa = text[0] + ("." + text[1:] if precision else ("." if alternate else ""))
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _general(value: Fraction, precision: int | None, alternate: bool) -> str:
    significant = 6 if precision is None else max(precision, 1)
    exponent = 0 if value == 0 else _rounded_digits(value, significant - 1)[1]
    if alternate and value != 0 and exponent == significant == _decimal_exponent(value) + 1:
        # glibc's %#g quirk (as for double, see fmtfloat): rounding carried P integer
        # digits to 10**P, and it prints the e style with no fraction digits: "1.e+06"
        return _scientific(value, 0, alternate)
    if -4 <= exponent < significant:
        text = _fixed(value, significant - 1 - exponent, alternate)
        if not alternate and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    text = _scientific(value, significant - 1, alternate)
    if not alternate:
        mantissa, exp = text.split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}e{exp}"
    return text


def _hex(raw: bytes, precision: int | None, alternate: bool) -> str:
    """glibc's %La for the x87 format: "8p-3" for 1.0 (after the "0x")."""
    mantissa = int.from_bytes(raw[:8], "little")
    biased = int.from_bytes(raw[8:10], "little") & 0x7FFF
    if mantissa == 0:
        lead, fraction, exponent = 0, 0, 0
    else:
        lead, fraction = mantissa >> 60, mantissa & ((1 << 60) - 1)
        exponent = max(biased, 1) - BIAS - 3
    nibbles = FRACTION_NIBBLES
    if precision is not None and precision < nibbles:
        drop = 4 * (nibbles - precision)
        kept, rest = fraction >> drop, fraction & ((1 << drop) - 1)
        half = 1 << (drop - 1)
        if rest > half or (rest == half and (kept & 1 if precision else lead & 1)):
            kept += 1
        if kept >> (4 * precision):
            lead, kept = lead + 1, 0
        fraction, nibbles = kept, precision
    digits = format(fraction, f"0{nibbles}x") if nibbles else ""
    if precision is None:
        digits = digits.rstrip("0")
    elif precision > nibbles:
        digits += "0" * (precision - nibbles)
    point = "." if digits or alternate else ""
    return f"{lead:x}{point}{digits}p{exponent:+d}"
