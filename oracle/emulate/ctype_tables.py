"""The C-locale tables behind glibc's <ctype.h> macros: isalpha(c) and friends compile to
(*__ctype_b_loc())[c] & _ISalpha, toupper/tolower (when inlined) to the int tables of
__ctype_toupper_loc/__ctype_tolower_loc.  Each function returns the address of a pointer
to entry 0 of a table indexed -128..255, built once per process in library memory.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export

# glibc's bit for each class (little-endian _ISbit numbering)
UPPER, LOWER, ALPHA, DIGIT, XDIGIT, SPACE, PRINT, GRAPH = (0x100, 0x200, 0x400, 0x800, 0x1000,
                                                           0x2000, 0x4000, 0x8000)
BLANK, CNTRL, PUNCT, ALNUM = 0x1, 0x2, 0x4, 0x8


def _classes(c: int) -> int:
    ch = chr(c)
    bits = 0
    if ch.isupper():
        bits |= UPPER | ALPHA | ALNUM
    if ch.islower():
        bits |= LOWER | ALPHA | ALNUM
    if ch.isdigit():
        bits |= DIGIT | ALNUM | XDIGIT
    if ch in "abcdefABCDEF":
        bits |= XDIGIT
    if ch in " \t\n\v\f\r":
        bits |= SPACE
    if ch in " \t":
        bits |= BLANK
    if 32 <= c < 127:
        bits |= PRINT
    if 33 <= c < 127:
        bits |= GRAPH
    if c < 32 or c == 127:
        bits |= CNTRL
    if 33 <= c < 127 and not ch.isalnum():
        bits |= PUNCT
    return bits


classes = _classes  # the C locale's bits of a character (the wide classes use them too)


def _table(ctx: CallContext, name: str, fmt: str, value: Callable[[int], int]) -> int:
    """The pointer variable for table `name`, creating the table on first use."""
    process = ctx.process
    existing = process.objects.get(name)
    if existing is not None:
        return existing.address
    values = [value(c) for c in range(-128, 256)]
    raw = struct.pack(f"<{len(values)}{fmt}", *values)
    table = process.object((name + ".table",), raw)
    entry0 = table.address + 128 * struct.calcsize(fmt)
    return process.object((name,), entry0.to_bytes(ctx.word, "little")).address


def ctype_b_loc(ctx: CallContext) -> int:
    return _table(ctx, "__ctype_b", "H", lambda c: _classes(c) if 0 <= c < 128 else 0)


def ctype_tolower_loc(ctx: CallContext) -> int:
    return _table(ctx, "__ctype_tolower", "i",
                  lambda c: c + 32 if 65 <= c <= 90 else c)


def ctype_toupper_loc(ctx: CallContext) -> int:
    return _table(ctx, "__ctype_toupper", "i",
                  lambda c: c - 32 if 97 <= c <= 122 else c)


EXPORTS = (
    Export("__ctype_b_loc", 0, ctype_b_loc),
    Export("__ctype_tolower_loc", 0, ctype_tolower_loc),
    Export("__ctype_toupper_loc", 0, ctype_toupper_loc),
)
