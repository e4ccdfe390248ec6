"""strtol, strtoul, strtoll, strtoull, atoi, atol, atoll, as glibc 2.36 parses (C locale).

Leading white space, an optional sign, then digits of the base: base 0 picks 16 after "0x",
8 after a leading "0", else 10; base 16 accepts an optional "0x".  A prefix "0x" not followed
by a hex digit is just the number 0 (the end pointer then points at the "x").  Out-of-range
results clamp to the type's limits and set errno to ERANGE; an invalid base returns 0,
sets EINVAL and leaves *endptr alone, as glibc does.  errno is set through an optional
`ErrnoSink` (the core's errno variable); without one it is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle.emulate.guest import GuestMemory
from oracle.emulate.libc.abi import c_int, long_range, mask, signed

ErrnoSink = Callable[[int], None]  # stores a value into the guest's errno
EINVAL, ERANGE, ENOMEM = 22, 34, 12  # Linux values, both ABIs

SPACES = b" \t\n\v\f\r"
_DIGITS = {c: v for v, c in enumerate(b"0123456789abcdefghijklmnopqrstuvwxyz")}
_DIGITS.update({c: v for v, c in enumerate(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")})


@dataclass(frozen=True)
class Parsed:
    """The magnitude read, its sign, and how many bytes were consumed (0: no number)."""

    magnitude: int
    negative: bool
    consumed: int


def _digit(text: bytes, at: int) -> int:
    return _DIGITS.get(text[at], 99) if at < len(text) else 99


def parse_integer(text: bytes, base: int) -> Parsed:
    """Parse the start of `text` as strto*l would, with a valid base (0 or 2..36)."""
    at = 0
    while at < len(text) and text[at] in SPACES:
        at += 1
    negative = at < len(text) and text[at] == ord("-")
    if at < len(text) and text[at] in b"+-":
        at += 1
    hex_prefix = text[at : at + 2] in (b"0x", b"0X") and _digit(text, at + 2) < 16
    if base in (0, 16) and hex_prefix:
        base, at = 16, at + 2
    elif base == 0:
        base = 8 if text[at : at + 1] == b"0" else 10
    end = at
    while _digit(text, end) < base:
        end += 1
    if end == at:
        return Parsed(0, False, 0)
    return Parsed(int(text[at:end], base), negative, end)


def _parse(
    mem: GuestMemory, nptr: int, endptr: int, base: int, word: int, errno: ErrnoSink | None
) -> Parsed | None:
    """Parse the guest string and store *endptr; None (and EINVAL) for an invalid base."""
    base = c_int(base)
    if base < 0 or base == 1 or base > 36:
        if errno is not None:
            errno(EINVAL)
        return None
    parsed = parse_integer(mem.read_cstr(nptr), base)
    if endptr:
        mem.write(endptr, (nptr + parsed.consumed).to_bytes(word, "little"))
    return parsed


def to_signed(parsed: Parsed, size: int, errno: ErrnoSink | None = None) -> int:
    low, high = long_range(size)
    value = -parsed.magnitude if parsed.negative else parsed.magnitude
    if not low <= value <= high and errno is not None:
        errno(ERANGE)
    return max(low, min(high, value))


def to_unsigned(parsed: Parsed, size: int, errno: ErrnoSink | None = None) -> int:
    if parsed.magnitude >> (8 * size):
        if errno is not None:
            errno(ERANGE)
        return mask(-1, size)
    return mask(-parsed.magnitude if parsed.negative else parsed.magnitude, size)


def strtol(
    mem: GuestMemory, nptr: int, endptr: int, base: int, *, word: int,
    errno: ErrnoSink | None = None,
) -> int:
    parsed = _parse(mem, nptr, endptr, base, word, errno)
    return 0 if parsed is None else to_signed(parsed, word, errno)


def strtoul(
    mem: GuestMemory, nptr: int, endptr: int, base: int, *, word: int,
    errno: ErrnoSink | None = None,
) -> int:
    parsed = _parse(mem, nptr, endptr, base, word, errno)
    return 0 if parsed is None else to_unsigned(parsed, word, errno)


def strtoll(
    mem: GuestMemory, nptr: int, endptr: int, base: int, *, word: int,
    errno: ErrnoSink | None = None,
) -> int:
    parsed = _parse(mem, nptr, endptr, base, word, errno)
    return 0 if parsed is None else to_signed(parsed, 8, errno)


def strtoull(
    mem: GuestMemory, nptr: int, endptr: int, base: int, *, word: int,
    errno: ErrnoSink | None = None,
) -> int:
    parsed = _parse(mem, nptr, endptr, base, word, errno)
    return 0 if parsed is None else to_unsigned(parsed, 8, errno)


def atoi(mem: GuestMemory, nptr: int, *, word: int, errno: ErrnoSink | None = None) -> int:
    """glibc: (int) strtol(nptr, NULL, 10), so a long that does not fit an int wraps."""
    return signed(strtol(mem, nptr, 0, 10, word=word, errno=errno), 4)


def atol(mem: GuestMemory, nptr: int, *, word: int, errno: ErrnoSink | None = None) -> int:
    return strtol(mem, nptr, 0, 10, word=word, errno=errno)


def atoll(mem: GuestMemory, nptr: int, *, word: int, errno: ErrnoSink | None = None) -> int:
    return strtoll(mem, nptr, 0, 10, word=word, errno=errno)
