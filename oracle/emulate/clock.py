"""Time and dates: time, clock, gettimeofday, clock_gettime, difftime, gmtime/localtime
(and their _r forms), mktime, timegm and strftime.

The clock is the host's (a program printing the time differs from run to run natively
too).  The guest's time zone is UTC, with no daylight saving: local time is UTC, named
"UTC" as glibc names it when /etc/localtime is UTC and TZ is unset (a program printing
local time matches a native run only on such a host).  Calendar arithmetic is Python's
proleptic Gregorian calendar, which is what glibc computes; strftime hands each
conversion to Python's, which is the host C library's in the C locale.

`struct tm` is nine ints, then `long tm_gmtoff` and `const char *tm_zone` (x86-64: 56
bytes, i386: 44); time_t and the fields of timeval/timespec are the word.
"""

from __future__ import annotations

import calendar
import re
import struct
import time

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.process import Process

CLOCKS_PER_SEC = 1_000_000
EOVERFLOW = 75


def _tm_layout(word: int) -> tuple[int, int, int]:
    """(tm_gmtoff offset, tm_zone offset, size) of struct tm."""
    return (40, 48, 56) if word == 8 else (36, 40, 44)


def _signed_word(ctx: CallContext, value: int) -> int:
    bits = 8 * ctx.word
    return value - (1 << bits) if value >> (bits - 1) else value


def _zone_name(process: Process, name: str) -> int:
    return process.object((f"tz name {name}",), name.encode() + b"\0").address


def _write_tm(ctx: CallContext, at: int, seconds: int, zone: str) -> int:
    """Fill the struct tm at `at` with the UTC broken-down time of `seconds`; `at`."""
    moment = time.gmtime(seconds)
    fields = (moment.tm_sec, moment.tm_min, moment.tm_hour, moment.tm_mday, moment.tm_mon - 1,
              moment.tm_year - 1900, (moment.tm_wday + 1) % 7, moment.tm_yday - 1, 0)
    gmtoff, zone_at, size = _tm_layout(ctx.word)
    data = bytearray(size)
    struct.pack_into("<9i", data, 0, *fields)
    word = "<q" if ctx.word == 8 else "<i"
    struct.pack_into(word, data, gmtoff, 0)
    struct.pack_into(word.upper(), data, zone_at, _zone_name(ctx.process, zone))
    ctx.mem.write(at, bytes(data))
    return at


def _read_tm(ctx: CallContext, at: int) -> tuple[int, ...]:
    return struct.unpack("<9i", ctx.mem.read(at, 36))


def _time_at(ctx: CallContext, pointer: int) -> int | None:
    """*pointer as a time_t, or None when it cannot be broken down (past year 9999)."""
    seconds = _signed_word(ctx, int.from_bytes(ctx.mem.read(pointer, ctx.word), "little"))
    return seconds if -62135596800 <= seconds <= 253402300799 else None


def time_(ctx: CallContext) -> int:
    now = int(time.time())
    out = ctx.arg(0)
    if out:
        ctx.mem.write(out, (now & ((1 << 8 * ctx.word) - 1)).to_bytes(ctx.word, "little"))
    return now


def clock(ctx: CallContext) -> int:
    """The host CPU time the run has taken (its thread's: process.py), in CLOCKS_PER_SEC."""
    return int((time.thread_time() - ctx.process.cpu_started) * CLOCKS_PER_SEC)


def _two_words(ctx: CallContext, at: int, high: int, low: int) -> None:
    ctx.mem.write(at, high.to_bytes(ctx.word, "little", signed=True)
                  + low.to_bytes(ctx.word, "little", signed=True))


def gettimeofday(ctx: CallContext) -> int:
    now = time.time_ns()
    if ctx.arg(0):
        _two_words(ctx, ctx.arg(0), now // 10**9, now % 10**9 // 1000)
    return 0


def clock_gettime(ctx: CallContext) -> int:
    """Every clock reads the host's: CLOCK_REALTIME's time, the others monotonic ones."""
    which = ctx.arg(0) & 0xFFFFFFFF
    now = time.time_ns() if which == 0 else time.monotonic_ns()
    _two_words(ctx, ctx.arg(1), now // 10**9, now % 10**9)
    return 0


def difftime(ctx: CallContext) -> float:
    return float(_signed_word(ctx, ctx.arg(0)) - _signed_word(ctx, ctx.arg(1)))


def _broken_down(zone: str, reentrant: bool) -> Export:
    def impl(ctx: CallContext) -> int:
        seconds = _time_at(ctx, ctx.arg(0))
        if seconds is None:
            ctx.mem.write(ctx.process.object(("errno",), bytes(4)).address,
                          EOVERFLOW.to_bytes(4, "little"))
            return 0
        if reentrant:
            out = ctx.arg(1)
        else:  # glibc's one static struct tm, shared by gmtime and localtime
            out = ctx.process.object(("static tm",), bytes(_tm_layout(ctx.word)[2])).address
        return _write_tm(ctx, out, seconds, zone)

    name = ("localtime" if zone == "UTC" else "gmtime") + ("_r" if reentrant else "")
    return Export(name, 2 if reentrant else 1, impl)


def _normalizer(name: str, zone: str) -> Export:
    """mktime (local time, "UTC") or timegm ("GMT"): the time of a (possibly out-of-range)
    broken-down UTC time, which is normalized in place; -1 when it does not fit time_t."""
    return Export(name, 1, lambda ctx: _normalize(ctx, zone))


def _normalize(ctx: CallContext, zone: str) -> int:
    sec, minute, hour, mday, mon, year = _read_tm(ctx, ctx.arg(0))[:6]
    year += 1900 + mon // 12
    mon %= 12
    if not 1 <= year <= 9999:
        return -1
    seconds = calendar.timegm((year, mon + 1, 1, 0, 0, 0)) + \
        (mday - 1) * 86400 + hour * 3600 + minute * 60 + sec
    if not -62135596800 <= seconds <= 253402300799 or \
            (ctx.word == 4 and not -(1 << 31) <= seconds < 1 << 31):
        return -1
    _write_tm(ctx, ctx.arg(0), seconds, zone)
    return seconds


# one strftime conversion: flags, width, an E/O modifier, the letter
_CONVERSION = re.compile(rb"%[-_0^#]*[0-9]*[EO]?(.|$)", re.DOTALL)


def strftime(ctx: CallContext) -> int:
    """Each conversion through Python's strftime (the host C library's); literal bytes as
    they are.  0 when the result and its NUL do not fit `max`, as in C."""
    out, limit, fmt_at, tm_at = ctx.args(4)
    fmt = ctx.mem.read_cstr(fmt_at)
    sec, minute, hour, mday, mon, year, wday, yday, isdst = _read_tm(ctx, tm_at)
    gmtoff_at, zone_at, _ = _tm_layout(ctx.word)
    zone_ptr = int.from_bytes(ctx.mem.read(tm_at + zone_at, ctx.word), "little")
    zone = ctx.mem.read_cstr(zone_ptr).decode("latin-1") if zone_ptr else ""
    gmtoff = _signed_word(ctx, int.from_bytes(ctx.mem.read(tm_at + gmtoff_at, ctx.word),
                                              "little"))
    moment = time.struct_time((year + 1900, mon + 1, mday, hour, minute, sec, (wday + 6) % 7,
                               yday + 1, isdst, zone, gmtoff))
    pieces = []
    last = 0
    for match in _CONVERSION.finditer(fmt):
        pieces.append(fmt[last:match.start()])
        last = match.end()
        spec = match.group(0).decode("latin-1")
        try:
            pieces.append(time.strftime(spec, moment).encode("latin-1", "replace"))
        except (ValueError, OverflowError):
            pieces.append(b"?")
    pieces.append(fmt[last:])
    text = b"".join(pieces)
    if len(text) + 1 > limit:
        return 0
    ctx.mem.write(out, text + b"\0")
    return len(text)


EXPORTS = (
    Export("time", 1, time_),
    Export("clock", 0, clock),
    Export("gettimeofday", 2, gettimeofday),
    Export("clock_gettime", 2, clock_gettime),
    Export("difftime", 2, difftime),
    _broken_down("GMT", reentrant=False),
    _broken_down("GMT", reentrant=True),
    _broken_down("UTC", reentrant=False),
    _broken_down("UTC", reentrant=True),
    _normalizer("mktime", "UTC"),
    _normalizer("timelocal", "UTC"),
    _normalizer("timegm", "GMT"),
    Export("strftime", 4, strftime),
)
