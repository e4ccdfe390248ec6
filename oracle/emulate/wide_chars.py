"""Multibyte and wide characters in glibc's C locale, and the locale objects around them.

The C locale's character set is ASCII ("ANSI_X3.4-1968", MB_CUR_MAX 1): bytes 0-0x7f are
the wide characters of the same value, a byte of 0x80 or more is an invalid sequence
(mbrtowc: EILSEQ), and the wide classes (iswprint & co) hold only for ASCII, with the
bits <ctype.h>'s table gives them.  newlocale accepts the names setlocale does ("",
"C", "POSIX") and hands out one C-locale handle; uselocale tracks the thread's choice
(LC_GLOBAL_LOCALE, -1, until it changes).  nl_langinfo answers from glibc's C locale.
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate import ctype_tables as ct
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.filestdio import set_errno
from oracle.emulate.locale_c import C_NAMES

EILSEQ, ENOENT = 84, 2
WEOF = 0xFFFFFFFF
LC_GLOBAL_LOCALE = -1
LOCALE_SIZE = {8: 232, 4: 116}  # sizeof(struct __locale_struct), so a copy looks real

# nl_langinfo items (category << 16 | index) of glibc's C locale; any other is ""
LANGINFO: dict[int, bytes] = {
    0x0000E: b"ANSI_X3.4-1968",  # CODESET
    0x10000: b".", 0x10001: b"",  # RADIXCHAR, THOUSEP
    0x20026: b"AM", 0x20027: b"PM",
    0x20028: b"%a %b %e %H:%M:%S %Y", 0x20029: b"%m/%d/%y", 0x2002A: b"%H:%M:%S",
    0x2002B: b"%I:%M:%S %p", 0x2006C: b"%a %b %e %H:%M:%S %Z %Y",
    0x4000F: b"-",  # CRNCYSTR
    0x50000: b"^[yY]", 0x50001: b"^[nN]",  # YESEXPR, NOEXPR
}
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
LANGINFO.update({0x20000 + i: d[:3].encode() for i, d in enumerate(_DAYS)})  # ABDAY_1..
LANGINFO.update({0x20007 + i: d.encode() for i, d in enumerate(_DAYS)})  # DAY_1..
LANGINFO.update({0x2000E + i: m[:3].encode() for i, m in enumerate(_MONTHS)})  # ABMON_1..
LANGINFO.update({0x2001A + i: m.encode() for i, m in enumerate(_MONTHS)})  # MON_1..

# wctype() names and the <ctype.h> bit each tests
CLASSES: dict[bytes, int] = {
    b"alnum": ct.ALNUM, b"alpha": ct.ALPHA, b"blank": ct.BLANK, b"cntrl": ct.CNTRL,
    b"digit": ct.DIGIT, b"graph": ct.GRAPH, b"lower": ct.LOWER, b"print": ct.PRINT,
    b"punct": ct.PUNCT, b"space": ct.SPACE, b"upper": ct.UPPER, b"xdigit": ct.XDIGIT,
}
_CLASS_BITS = [ct.classes(c) for c in range(128)]


def class_bits(wc: int) -> int:
    """The <ctype.h> bits of wide character `wc` in the C locale (0 past ASCII)."""
    return _CLASS_BITS[wc] if 0 <= wc < 128 else 0


def _wint(ctx: CallContext, index: int) -> int:
    return ctx.arg(index) & 0xFFFFFFFF


def _kept(ctx: CallContext, text: bytes) -> int:
    return ctx.process.object((f"langinfo {text!r}",), text + b"\0").address


def nl_langinfo(ctx: CallContext) -> int:
    return _kept(ctx, LANGINFO.get(ctx.arg(0) & 0xFFFFFFFF, b""))


def nl_langinfo_l(ctx: CallContext) -> int:
    return nl_langinfo(ctx)


def mbrtowc(ctx: CallContext) -> int:
    """mbrtowc(pwc, s, n, ps): 0 for NUL, 1 for an ASCII byte, -2 when n is 0, -1 (EILSEQ)
    for a byte of 0x80 or more; the state never leaves the initial one."""
    pwc, s, n = ctx.args(3)
    return _convert(ctx, pwc, s, n)


def _convert(ctx: CallContext, pwc: int, s: int, n: int) -> int:
    if s == 0:
        return 0
    if n == 0:
        return -2
    byte = ctx.mem.read(s, 1)[0]
    if byte >= 0x80:
        set_errno(ctx, EILSEQ)
        return -1
    if pwc:
        ctx.mem.write(pwc, byte.to_bytes(4, "little"))
    return 1 if byte else 0


def mbrlen(ctx: CallContext) -> int:
    s, n = ctx.args(2)
    return _convert(ctx, 0, s, n)


def mbtowc(ctx: CallContext) -> int:
    pwc, s, n = ctx.args(3)
    return _convert(ctx, pwc, s, n) if s else 0  # NULL: "no shift states"


def mblen(ctx: CallContext) -> int:
    s, n = ctx.args(2)
    return _convert(ctx, 0, s, n) if s else 0  # NULL: "no shift states"


def wcrtomb(ctx: CallContext) -> int:
    s, wc = ctx.arg(0), _wint(ctx, 1)
    if s == 0:
        return 1  # the initial shift sequence, one byte (NUL) in glibc
    if wc >= 0x80:
        set_errno(ctx, EILSEQ)
        return -1
    ctx.mem.write(s, bytes([wc]))
    return 1


def btowc(ctx: CallContext) -> int:
    c = ctx.arg(0) & 0xFFFFFFFF
    return c if c < 0x80 else WEOF


def wctob(ctx: CallContext) -> int:
    wc = _wint(ctx, 0)
    return wc if wc < 0x80 else -1


def wcwidth(ctx: CallContext) -> int:
    """1 for printable ASCII, 0 for L'\\0', -1 for everything else (the C locale)."""
    wc = _wint(ctx, 0)
    return 0 if wc == 0 else 1 if 0x20 <= wc < 0x7F else -1


def _class_test(bit: int) -> Callable[[CallContext], int]:
    return lambda ctx: class_bits(_wint(ctx, 0)) & bit


def wctype(ctx: CallContext) -> int:
    """A class's handle: its bit (0 for a name the C locale does not define)."""
    return CLASSES.get(ctx.mem.read_cstr(ctx.arg(0)), 0)


def iswctype(ctx: CallContext) -> int:
    return class_bits(_wint(ctx, 0)) & ctx.arg(1)


def _case(upper: bool) -> Callable[[CallContext], int]:
    def impl(ctx: CallContext) -> int:
        wc = _wint(ctx, 0)
        if wc < 0x80:
            return ord(chr(wc).upper() if upper else chr(wc).lower())
        return wc

    return impl


def newlocale(ctx: CallContext) -> int:
    """The C locale's handle for the names setlocale accepts; else NULL with ENOENT."""
    name = ctx.arg(1)
    if name and ctx.mem.read_cstr(name) not in C_NAMES:
        set_errno(ctx, ENOENT)
        return 0
    return ctx.process.object(("C locale_t",), bytes(LOCALE_SIZE[ctx.word])).address


def uselocale(ctx: CallContext) -> int:
    """The thread's previous locale; NULL only asks."""
    state = ctx.process.state
    previous = state.get("uselocale", LC_GLOBAL_LOCALE)
    if ctx.arg(0):
        state["uselocale"] = ctx.arg(0)
    return previous if isinstance(previous, int) else LC_GLOBAL_LOCALE


EXPORTS = (
    Export("nl_langinfo", 1, nl_langinfo),
    Export("nl_langinfo_l", 2, nl_langinfo_l),
    Export("__ctype_get_mb_cur_max", 0, lambda ctx: 1),
    Export("mbsinit", 1, lambda ctx: 1),
    Export("mbrtowc", 4, mbrtowc),
    Export("mbrlen", 3, mbrlen),
    Export("mbtowc", 3, mbtowc),
    Export("mblen", 2, mblen),
    Export("wcrtomb", 3, wcrtomb),
    Export("btowc", 1, btowc),
    Export("wctob", 1, wctob),
    Export("wcwidth", 1, wcwidth),
    *(Export(f"isw{name.decode()}", 1, _class_test(bit)) for name, bit in CLASSES.items()),
    Export("wctype", 1, wctype),
    Export("iswctype", 2, iswctype),
    Export("towupper", 1, _case(True)),
    Export("towlower", 1, _case(False)),
    Export("newlocale", 3, newlocale),
    Export("duplocale", 1, lambda ctx: ctx.arg(0)),
    Export("freelocale", 1, lambda ctx: 0),
    Export("uselocale", 1, uselocale),
)
