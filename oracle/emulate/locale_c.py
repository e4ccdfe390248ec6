"""The C locale, the only one the guest has: setlocale, localeconv and strcoll.

A run's environment names no locale, so `setlocale(LC_ALL, "")` gives "C" natively too;
asking for any other locale fails (NULL), as it does for a locale a system has not
installed.  localeconv's struct lconv is the C locale's: "." and empty strings, every
char field CHAR_MAX.  strcoll in the C locale is strcmp.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.libc.strings import strcmp

C_NAMES = (b"", b"C", b"POSIX")  # C.UTF-8 is refused: its name would have to be kept
CHAR_MAX = 127
LCONV_STRINGS = 10  # decimal_point ... negative_sign, then 14 chars


def _string(ctx: CallContext, text: bytes) -> int:
    return ctx.process.object((f"locale string {text!r}",), text + b"\0").address


def setlocale(ctx: CallContext) -> int:
    wanted = ctx.arg(1)
    if wanted and ctx.mem.read_cstr(wanted) not in C_NAMES:
        return 0
    return _string(ctx, b"C")


def localeconv(ctx: CallContext) -> int:
    word = ctx.word
    pointers = [_string(ctx, b".")] + [_string(ctx, b"")] * (LCONV_STRINGS - 1)
    body = b"".join(p.to_bytes(word, "little") for p in pointers) + bytes([CHAR_MAX]) * 14
    size = (len(body) + word - 1) // word * word
    return ctx.process.object(("lconv",), body.ljust(size, b"\0")).address


def strcoll(ctx: CallContext) -> int:
    return strcmp(ctx.mem, ctx.arg(0), ctx.arg(1))


EXPORTS = (
    Export("setlocale", 2, setlocale),
    Export("localeconv", 0, localeconv),
    Export("strcoll", 2, strcoll),
)
