"""Parsing one printf conversion specification: `%[flags][width][.precision][length]conv`.

Parsing is kept apart from argument fetching because `*` widths and precisions are
themselves arguments: the engine resolves them, in order, before the converted value.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.emulate.guest import GuestFault

FLAG_CHARS = b"-+ #0'I"
# Longest modifiers first, so "hh" is not read as "h" followed by a conversion "h".
LENGTHS = (b"hh", b"ll", b"h", b"l", b"q", b"L", b"j", b"z", b"Z", b"t")
CONVERSIONS = b"diouxXcspnaAeEfFgG%m"
STAR = -1  # width or precision given by the next int argument


class FormatError(GuestFault):
    """A format the engine refuses; `address` is the offset of the '%' in the format
    (callers that know where the format lives re-raise it with the guest address)."""


@dataclass(frozen=True)
class ConvSpec:
    """One parsed conversion; `text` is its source, printed verbatim if `conv` is unknown."""

    flags: str
    width: int | None  # STAR, or None when absent
    precision: int | None  # STAR, or None when absent ("." alone means 0)
    length: str
    conv: str  # "" when the format ends inside the specification
    text: bytes


def _number(fmt: bytes, at: int) -> tuple[int, int]:
    end = at
    while end < len(fmt) and 0x30 <= fmt[end] <= 0x39:
        end += 1
    return (int(fmt[at:end]) if end > at else 0), end


def parse_spec(fmt: bytes, start: int) -> tuple[ConvSpec, int]:
    """Parse the specification whose '%' is at `start`; return it and the index past it."""
    at = start + 1
    flags = bytearray()
    while at < len(fmt) and fmt[at] in FLAG_CHARS:
        flags.append(fmt[at])
        at += 1
    if at < len(fmt) and 0x31 <= fmt[at] <= 0x39:
        _, after = _number(fmt, at)
        if after < len(fmt) and fmt[after] == ord("$"):
            raise FormatError(start, "positional printf arguments (%n$) are not supported")
    width: int | None = None
    if at < len(fmt) and fmt[at] == ord("*"):
        width, at = STAR, at + 1
    elif at < len(fmt) and 0x30 <= fmt[at] <= 0x39:
        width, at = _number(fmt, at)
    precision: int | None = None
    if at < len(fmt) and fmt[at] == ord("."):
        at += 1
        if at < len(fmt) and fmt[at] == ord("*"):
            precision, at = STAR, at + 1
        else:
            precision, at = _number(fmt, at)
    length = b""
    for candidate in LENGTHS:
        if fmt.startswith(candidate, at):
            length, at = candidate, at + len(candidate)
            break
    conv = ""
    if at < len(fmt):
        conv = chr(fmt[at])
        at += 1
    spec = ConvSpec(flags.decode(), width, precision, length.decode(), conv, fmt[start:at])
    return spec, at
