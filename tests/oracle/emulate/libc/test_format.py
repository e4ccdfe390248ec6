"""printf engine behaviour that the native comparison cannot show: %n stores, refusals,
argument sizes per ABI, and where render_printf reports a refused conversion."""

from __future__ import annotations

import struct

import pytest

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc.flatmem import FlatMemory, PackedArgs
from oracle.emulate.libc.fmtspec import FormatError, parse_spec
from oracle.emulate.libc.format import format_printf
from oracle.emulate.libc.stdio import render_printf

BASE = 0x4000


def words(*values: int, size: int = 8) -> PackedArgs:
    return PackedArgs(b"".join((v % (1 << 8 * size)).to_bytes(size, "little") for v in values), size)


def test_percent_n_stores_the_count_with_the_length_modifier_size() -> None:
    mem = FlatMemory(BASE, 64)
    mem.write(BASE, b"\xff" * 16)
    out = format_printf(mem, b"abc%n%hhn|%lln", words(BASE, BASE + 4, BASE + 8))
    assert out == b"abc|"
    assert mem.read(BASE, 16) == b"\x03\0\0\0\x03\xff\xff\xff\x04\0\0\0\0\0\0\0"


def test_i386_long_long_takes_two_cells_and_long_one() -> None:
    image = struct.pack("<qiI", -2, -3, 0xDEADBEEF)
    out = format_printf(FlatMemory(BASE, 16), b"%lld %ld %lx", PackedArgs(image, 4), word=4)
    assert out == b"-2 -3 deadbeef"


def test_x86_64_int_conversion_ignores_the_upper_half_of_the_slot() -> None:
    out = format_printf(FlatMemory(BASE, 16), b"%d %u", words(0x1_FFFF_FFFF, 0x1_0000_0002))
    assert out == b"-1 2"


def test_string_with_precision_reads_no_further_than_needed() -> None:
    mem = FlatMemory(BASE, 4096)
    mem.write(BASE + 4092, b"abcd")  # unterminated right up to the end of memory
    assert format_printf(mem, b"[%.4s]", words(BASE + 4092)) == b"[abcd]"
    with pytest.raises(GuestFault):
        format_printf(mem, b"[%s]", words(BASE + 4092))


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [(b"%1$d", "positional"), (b"%m", "errno"), (b"%lc", "ASCII")],
)
def test_unsupported_conversions_are_refused_clearly(fmt: bytes, reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        format_printf(FlatMemory(BASE, 16), fmt, words(0xE9, 0))


def test_render_printf_reports_the_guest_address_of_the_refused_conversion() -> None:
    mem = FlatMemory(BASE, 64)
    mem.write(BASE, b"ok %d then %1$d\0")
    with pytest.raises(GuestFault) as caught:
        render_printf(mem, BASE, words(1), 8)
    assert caught.value.address == BASE + 11
    assert "positional" in caught.value.message


def test_runaway_width_is_refused_not_allocated() -> None:
    with pytest.raises(FormatError, match="too large"):
        format_printf(FlatMemory(BASE, 16), b"%*d", words(1 << 30, 1))


def test_parse_spec_reads_every_part() -> None:
    spec, end = parse_spec(b"x%-+08.3llxy", 1)
    assert (spec.flags, spec.width, spec.precision, spec.length, spec.conv) == (
        "-+0", 8, 3, "ll", "x")
    assert end == 11
