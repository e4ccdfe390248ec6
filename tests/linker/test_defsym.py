"""`--defsym` numbers read as GNU ld reads them (bfd_scan_vma): past 64 bits a number
saturates, and a K/M suffix then scales it as a 64-bit multiply (values checked against
GNU ld 2.40's symbol tables)."""

from __future__ import annotations

import pytest

from linker.defsym import parse_defsym_expression
from linker.errors import LinkError


@pytest.mark.parametrize("expr, value", [
    ("0x10", 0x10),
    ("017", 15),
    ("4k", 4096),
    ("2M", 2 * 1024 * 1024),
    ("-5", -5),
    ("99999999999999999999999999", (1 << 64) - 1),
    ("0x1ffffffffffffffffffff", (1 << 64) - 1),
    ("99999999999999999999K", 0xfffffffffffffc00),
    ("0x10000000000000M", 0),
])
def test_numbers_read_as_gnu_ld_reads_them(expr: str, value: int) -> None:
    assert parse_defsym_expression("x", expr) == (None, value)


def test_symbol_plus_a_number_past_64_bits_saturates() -> None:
    assert parse_defsym_expression("x", "main+99999999999999999999") == ("main", (1 << 64) - 1)
    assert parse_defsym_expression("x", "main-0x8") == ("main", -8)


@pytest.mark.parametrize("expr", ["1/0", "~0", "ALIGN(8)", "0x", "1<<70"])
def test_other_expressions_are_refused_in_one_line(expr: str) -> None:
    with pytest.raises(LinkError, match=r"only NUMBER, SYMBOL and SYMBOL\+/-NUMBER") as info:
        parse_defsym_expression("x", expr)
    assert "\n" not in str(info.value)
