"""long double (x87 80-bit) in printf and scanf: exact decoding, correctly rounded
encoding, glibc's renderings (checked against glibc in test_longdouble_native)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from oracle.emulate.libc import longdouble
from oracle.emulate.libc.flatmem import FlatMemory, PackedArgs
from oracle.emulate.libc.format import format_printf

ONE = (1 << 63).to_bytes(8, "little") + (16383).to_bytes(2, "little")


def test_one_decodes_exactly_and_encodes_back() -> None:
    assert longdouble.decode(ONE) == (False, Fraction(1), "")
    assert longdouble.encode(Fraction(1)) == ONE


@pytest.mark.parametrize("text", [b"0.1", b"3.14159265358979323846264338327950288",
                                  b"1e-4940", b"123456789.125", b"-2.5"])
def test_parse_rounds_to_the_nearest_x87_value(text: bytes) -> None:
    raw = longdouble.parse(text)
    negative, value, _ = longdouble.decode(raw)
    assert value is not None
    exact = Fraction(text.decode().lstrip("-"))
    assert negative == text.startswith(b"-")
    mantissa = int.from_bytes(raw[:8], "little")
    ulp = value / mantissa  # the value of the mantissa's last bit
    assert abs(value - exact) <= ulp / 2


@pytest.mark.parametrize(("conv", "flags", "width", "precision", "expected"), [
    ("f", "", None, None, "1.000000"), ("e", "", None, None, "1.000000e+00"),
    ("g", "", None, None, "1"), ("a", "", None, None, "0x8p-3"),
    ("a", "", None, 3, "0x8.000p-3"), ("f", "+", 10, 2, "     +1.00"),
    ("f", "0", 8, 1, "000001.0"), ("E", "-", 14, 2, "1.00E+00      "), ("g", "#", None, None,
                                                                         "1.00000"),
])
def test_render_one(conv: str, flags: str, width: int | None, precision: int | None,
                    expected: str) -> None:
    assert longdouble.render(ONE, conv, flags, width, precision) == expected.encode()


def test_infinities_and_nans_keep_their_sign() -> None:
    inf = (1 << 63).to_bytes(8, "little") + (0x7FFF).to_bytes(2, "little")
    neg_nan = (3 << 62).to_bytes(8, "little") + (0xFFFF).to_bytes(2, "little")
    assert longdouble.render(inf, "f", "", None, None) == b"inf"
    assert longdouble.render(neg_nan, "F", "", 5, None) == b" -NAN"


def test_printf_takes_a_long_double_from_its_slot_on_both_abis() -> None:
    mem = FlatMemory(0x1000, 16)
    # x86-64: an int in the first 8-byte cell, the long double 16-byte aligned after it
    image64 = (7).to_bytes(8, "little") + bytes(8) + ONE + bytes(6) + (9).to_bytes(8, "little")
    assert format_printf(mem, b"%d %Lg %d", PackedArgs(image64, 8)) == b"7 1 9"
    image32 = (7).to_bytes(4, "little") + ONE + bytes(2) + (9).to_bytes(4, "little")
    assert format_printf(mem, b"%d %Lg %d", PackedArgs(image32, 4), word=4) == b"7 1 9"
