"""libSystem functions and data that glibc does not have under the same name: the
_FORTIFY_SOURCE `__*_chk` entry points clang emits for Darwin, `bzero`, the
`__tolower`/`__toupper` helpers, `__assert_rtn` (assert), and the ctype table that Darwin's <ctype.h> macros read.

Darwin's isdigit(c) and friends read `_DefaultRuneLocale.__runetype[c]` inline for c < 128
and call `__maskrune(c, mask)` otherwise, so the "C" locale's table must exist as data:
_RuneLocale is magic[8], encoding[32], two function pointers, invalid_rune (int), then
__runetype[256] (uint32 at offset 60; 52 on i386, whose pointers are 4 bytes),
__maplower[256] and __mapupper[256] (int32).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.guest import GuestFault
from oracle.emulate.macho.libsystem_extra import FixedArgs, extra_exports
from oracle.emulate.macho.libsystem_posix import posix_exports
from oracle.emulate.startup import abort

RUNETYPE_OFFSET = 60
RUNE_LOCALE_SIZE = RUNETYPE_OFFSET + 3 * 1024 + 64  # the range tables after it stay empty
# <ctype.h> class bits (_CTYPE_*)
CTYPE_A, CTYPE_C, CTYPE_D, CTYPE_G, CTYPE_L = 0x100, 0x200, 0x400, 0x800, 0x1000
CTYPE_P, CTYPE_S, CTYPE_U, CTYPE_X, CTYPE_B, CTYPE_R = (0x2000, 0x4000, 0x8000, 0x10000,
                                                       0x20000, 0x40000)
CTYPE_SW1 = 0x40000000  # printing width 1


def _runetype(c: int) -> int:
    ch = chr(c)
    bits = 0
    if c < 128:
        if ch.isalpha():
            bits |= CTYPE_A
        if c < 32 or c == 127:
            bits |= CTYPE_C
        if ch.isdigit():
            bits |= CTYPE_D | c - 0x30
        if 33 <= c <= 126:
            bits |= CTYPE_G
        if ch.islower():
            bits |= CTYPE_L
        if 33 <= c <= 126 and not ch.isalnum():
            bits |= CTYPE_P
        if ch in " \t\n\v\f\r":
            bits |= CTYPE_S
        if ch.isupper():
            bits |= CTYPE_U
        if ch in "0123456789abcdefABCDEF":
            bits |= CTYPE_X | int(ch, 16)
        if ch in " \t":
            bits |= CTYPE_B
        if 32 <= c <= 126:
            bits |= CTYPE_R | CTYPE_SW1
    return bits


def rune_locale(word: int = 8) -> bytes:
    """The "C" locale's _RuneLocale: magic "RuneMagA", encoding "NONE" and the tables."""
    head = b"RuneMagA" + b"NONE".ljust(32, b"\0") + bytes(2 * word + 4)
    runetype = struct.pack("<256I", *(_runetype(c) for c in range(256)))
    lower = struct.pack("<256i", *(ord(chr(c).lower()) if c < 128 else c for c in range(256)))
    upper = struct.pack("<256i", *(ord(chr(c).upper()) if c < 128 else c for c in range(256)))
    return (head + runetype + lower + upper).ljust(RUNE_LOCALE_SIZE, b"\0")


def _maskrune(ctx: CallContext) -> int:
    c, mask = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1) & 0xFFFFFFFF
    return _runetype(c) & mask if c < 256 else 0


def _class_test(mask: int) -> Callable[[CallContext], LibResult]:
    """iscntrl/isgraph/isblank: Darwin's <ctype.h> would test the rune table inline; the
    project's headers declare them as the libSystem functions they also are."""

    def impl(ctx: CallContext) -> int:
        c = ctx.arg(0) & 0xFFFFFFFF
        return 1 if c < 256 and _runetype(c) & mask else 0

    return impl


def _checked(base: Export, size_arg: int, limit_arg: int | None,
             strlen_of: int | None = None) -> Callable[[CallContext], LibResult]:
    """A __*_chk entry point: abort when the copy would overflow the object, else `base`."""

    def impl(ctx: CallContext) -> LibResult:
        limit = ctx.arg(limit_arg if limit_arg is not None else size_arg)
        size = (len(ctx.mem.read_cstr(ctx.arg(strlen_of))) + 1 if strlen_of is not None
                else ctx.arg(size_arg))
        if size > limit:
            ctx.process.write_fd(2, f"{ctx.symbol}: buffer overflow detected\n".encode())
            return abort(ctx)
        return base.impl(ctx)

    return impl


def _assert_rtn(ctx: CallContext) -> LibResult:
    """Darwin's assert(): __assert_rtn(func, file, line, expr) reports and aborts."""
    func, file, line, expr = ctx.args(4)
    text = (b"Assertion failed: (" + ctx.mem.read_cstr(expr) + b"), function "
            + ctx.mem.read_cstr(func) + b", file " + ctx.mem.read_cstr(file) + b", line "
            + str(line & 0xFFFFFFFF).encode() + b".\n")
    ctx.process.flush()
    ctx.process.write_fd(2, text)
    return abort(ctx)


def darwin_exports(glibc: Callable[[str], Export | None]) -> dict[str, Export]:
    """The Darwin-only functions, built over the emulated glibc's `glibc(name)`."""

    def need(name: str) -> Export:
        export = glibc(name)
        if export is None:
            raise GuestFault(0, f"the emulated libc has no {name}")
        return export

    rows = [
        Export("__memcpy_chk", 4, _checked(need("memcpy"), 2, 3)),
        Export("__memmove_chk", 4, _checked(need("memmove"), 2, 3)),
        Export("__memset_chk", 4, _checked(need("memset"), 2, 3)),
        Export("__strcpy_chk", 3, _checked(need("strcpy"), 0, 2, 1)),
        Export("__tolower", 1, need("tolower").impl),
        Export("__toupper", 1, need("toupper").impl),
        Export("__maskrune", 2, _maskrune),
        Export("iscntrl", 1, _class_test(CTYPE_C)),
        Export("isgraph", 1, _class_test(CTYPE_G)),
        Export("isblank", 1, _class_test(CTYPE_B)),
        Export("bzero", 2, _bzero(need("memset"))),
        Export("__bzero", 2, _bzero(need("memset"))),  # what clang -O2 calls for memset(p, 0, n)
        Export("__assert_rtn", 4, _assert_rtn),
        *extra_exports(glibc),
        *posix_exports(glibc),
    ]
    return {row.name: row for row in rows}


def _bzero(memset: Export) -> Callable[[CallContext], LibResult]:
    def impl(ctx: CallContext) -> LibResult:
        # bzero(p, n) is memset(p, 0, n)
        return memset.impl(FixedArgs(ctx, (ctx.arg(0), 0, ctx.arg(1))))

    return impl
