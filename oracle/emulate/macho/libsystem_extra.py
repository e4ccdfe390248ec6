"""libSystem functions the shared emulated libc does not have yet, which real C programs
call: strtod and atof, strtok, strerror and perror, llabs, memset_pattern4/8/16 and
x86-64's __sincos_stret (which clang itself emits on Darwin); and the signal functions whose
Darwin structures or numbers differ from glibc's (sigaction, raise).

Their behaviour is glibc's, as for the rest of the emulated libSystem (a Mach-O build must
print what the program's native ELF build prints): glibc's strerror texts, strtod's C
syntax (leading space, sign, decimal or hexadecimal digits with an exponent, inf, infinity,
nan) with ERANGE on overflow.  Errno values 1-34 are the same on Darwin and Linux.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable

from unicorn.x86_const import UC_X86_REG_XMM1

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.machine import RunStop
from oracle.emulate.result import Fault

SPACES = b" \t\n\v\f\r"
ERANGE = 34
_DECIMAL = re.compile(rb"[+-]?(infinity|inf|nan(\([0-9a-z_]*\))?|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)",
                      re.IGNORECASE)
_HEX = re.compile(rb"[+-]?0x([0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(p[+-]?\d+)?", re.IGNORECASE)
# glibc's messages (string/_strerror.c, sysdeps errlist) for the errno values both share
MESSAGES = {
    0: "Success", 1: "Operation not permitted", 2: "No such file or directory",
    3: "No such process", 4: "Interrupted system call", 5: "Input/output error",
    6: "No such device or address", 7: "Argument list too long", 8: "Exec format error",
    9: "Bad file descriptor", 10: "No child processes",
    11: "Resource temporarily unavailable", 12: "Cannot allocate memory",
    13: "Permission denied", 14: "Bad address", 15: "Block device required",
    16: "Device or resource busy", 17: "File exists", 18: "Invalid cross-device link",
    19: "No such device", 20: "Not a directory", 21: "Is a directory",
    22: "Invalid argument", 23: "Too many open files in system", 24: "Too many open files",
    25: "Inappropriate ioctl for device", 26: "Text file busy", 27: "File too large",
    28: "No space left on device", 29: "Illegal seek", 30: "Read-only file system",
    31: "Too many links", 32: "Broken pipe", 33: "Numerical argument out of domain",
    34: "Numerical result out of range",
}


class FixedArgs(CallContext):
    """A call's context whose integer arguments are given, not read from the registers or
    the stack (one function served by another with its arguments rearranged)."""

    def __init__(self, ctx: CallContext, args: tuple[int, ...]) -> None:
        super().__init__(ctx.machine, ctx.library, ctx.symbol)
        self._fixed = args

    def arg(self, index: int) -> int:
        return self._fixed[index]


def _set_errno(ctx: CallContext, value: int) -> None:
    errno = ctx.process.object(("errno",), bytes(4))
    ctx.mem.write(errno.address, value.to_bytes(4, "little"))


def numeric_prefix(text: bytes) -> tuple[bytes, int]:
    """(the number's text, the offset just past it) at the start of `text` as strtod
    reads it (leading white space skipped); (b"", 0) when no number starts it."""
    at = len(text) - len(text.lstrip(SPACES))
    found = _HEX.match(text, at) or _DECIMAL.match(text, at)
    return (b"", 0) if found is None else (found.group(0), found.end())


def parse_double(text: bytes) -> tuple[float, int, bool]:
    """(value, bytes consumed, out of range) of C's strtod on `text`; (0.0, 0, False) when
    no number starts it."""
    at = len(text) - len(text.lstrip(SPACES))
    found = _HEX.match(text, at) or _DECIMAL.match(text, at)
    if found is None:
        return 0.0, 0, False
    literal = found.group(0).decode()
    if _HEX.fullmatch(found.group(0)):
        if "p" not in literal.lower():
            literal += "p0"
        value = float.fromhex(literal)
    else:
        value = float(literal.split("(")[0])
    digits = any(c.isdigit() for c in literal)
    overflow = digits and math.isinf(value)
    return value, found.end(), overflow


def _strtod(ctx: CallContext) -> LibResult:
    nptr, endptr = ctx.arg(0), ctx.arg(1)
    value, used, overflow = parse_double(ctx.mem.read_cstr(nptr))
    if overflow:
        _set_errno(ctx, ERANGE)
    if endptr:
        ctx.mem.write(endptr, (nptr + used).to_bytes(ctx.word, "little"))
    return value


def _atof(ctx: CallContext) -> LibResult:
    return parse_double(ctx.mem.read_cstr(ctx.arg(0)))[0]


def message_of_errno(number: int) -> bytes:
    """glibc's strerror text of an errno value (Unknown error N past the table)."""
    signed = number - (1 << 32) if number >> 31 else number
    return MESSAGES.get(signed, f"Unknown error {signed}").encode()


def _strerror(ctx: CallContext) -> LibResult:
    number = ctx.arg(0) & 0xFFFFFFFF
    return ctx.process.object((f"strerror {number}",), message_of_errno(number) + b"\0").address


def _perror(ctx: CallContext) -> LibResult:
    """perror(s): "s: message\\n" on stderr (just the message when s is NULL or empty)."""
    errno = ctx.process.object(("errno",), bytes(4))
    number = int.from_bytes(ctx.mem.read(errno.address, 4), "little")
    prefix = ctx.mem.read_cstr(ctx.arg(0)) if ctx.arg(0) else b""
    ctx.process.flush()
    ctx.process.write_fd(2, (prefix + b": " if prefix else b"") + message_of_errno(number)
                         + b"\n")
    return None


def _llabs(ctx: CallContext) -> LibResult:
    """llabs(long long): one register on x86-64, two stack words (low first) on i386."""
    raw = ctx.arg(0) if ctx.word == 8 else ctx.arg(0) | ctx.arg(1) << 32
    value = raw - (1 << 64) if raw >> 63 else raw
    return abs(value) & ((1 << 64) - 1)


def _memset_pattern(size: int) -> Callable[[CallContext], LibResult]:
    """memset_patternN(b, pattern, len): `len` bytes of the N-byte pattern repeated (the
    last copy cut short).  clang calls memset_pattern16 on Darwin for loops that fill an
    array with one non-byte value."""

    def impl(ctx: CallContext) -> LibResult:
        dest, pattern, length = ctx.arg(0), ctx.arg(1), ctx.arg(2)
        if length:
            unit = ctx.mem.read(pattern, size)
            ctx.mem.write(dest, (unit * (length // size + 1))[:length])
        return None

    return impl


def _sincos_stret(ctx: CallContext) -> LibResult:
    """x86-64 `__sincos_stret(x)`: {sin x, cos x} in xmm0 and xmm1 (clang pairs sin and cos
    of one value into this call for macOS 10.9 and later)."""
    abi, uc = ctx.machine.abi, ctx.machine.uc
    if abi.word != 8:
        site = ctx.abi_return_address()
        raise RunStop(Fault("unimplemented", site, ctx.machine.symbol_at(site),
                            "__sincos_stret is served for x86-64 only"))
    x = abi.float_arg(uc, ctx.mem, 0)
    uc.reg_write(UC_X86_REG_XMM1, struct.unpack("<Q", struct.pack("<d", math.cos(x)))[0])
    return math.sin(x)


def extra_exports(glibc: Callable[[str], Export | None]) -> list[Export]:
    """The functions of this module; strtok is strtok_r with libSystem's own state."""
    rows = [Export("strtod", 2, _strtod), Export("atof", 1, _atof),
            Export("strerror", 1, _strerror), Export("perror", 1, _perror),
            Export("llabs", 1, _llabs),
            *(Export(f"memset_pattern{n}", 3, _memset_pattern(n)) for n in (4, 8, 16)),
            Export("__sincos_stret", 0, _sincos_stret)]
    strtok_r = glibc("strtok_r")
    if strtok_r is not None:
        rows.append(Export("strtok", 2, _strtok(strtok_r)))
    return rows + signal_exports(glibc)


def _strtok(strtok_r: Export) -> Callable[[CallContext], LibResult]:
    def impl(ctx: CallContext) -> LibResult:
        state = ctx.process.object(("strtok state",), bytes(ctx.word))
        return strtok_r.impl(FixedArgs(ctx, (ctx.arg(0), ctx.arg(1), state.address)))

    return impl


# Darwin's signals (sys/signal.h): struct sigaction is the handler (a word), sa_mask (32
# bits) and sa_flags; SA_SIGINFO is 0x40; the signals ignored by default are SIGURG,
# SIGCHLD, SIGIO, SIGWINCH and SIGINFO.  The process keeps glibc's flags (the shared raise
# reads them), so the flags are translated on the way in and out.
DARWIN_SA_SIGINFO, LINUX_SA_SIGINFO = 0x40, 0x4
DARWIN_IGNORED_BY_DEFAULT = frozenset({16, 20, 23, 28, 29})


def _darwin_sigaction(ctx: CallContext) -> LibResult:
    sig, act, oldact = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1), ctx.arg(2)
    word = ctx.word
    handlers = ctx.process.signal_handlers
    old_handler, old_flags = handlers.get(sig, (0, 0))
    if act:
        handler = int.from_bytes(ctx.mem.read(act, word), "little")
        flags = int.from_bytes(ctx.mem.read(act + word + 4, 4), "little")
        handlers[sig] = (handler, LINUX_SA_SIGINFO if flags & DARWIN_SA_SIGINFO else 0)
    if oldact:
        flags = DARWIN_SA_SIGINFO if old_flags & LINUX_SA_SIGINFO else 0
        ctx.mem.write(oldact, old_handler.to_bytes(word, "little") + bytes(4)
                      + flags.to_bytes(4, "little"))
    return 0


def _darwin_raise(shared: Export) -> Callable[[CallContext], LibResult]:
    def impl(ctx: CallContext) -> LibResult:
        sig = ctx.arg(0) & 0xFFFFFFFF
        handler = ctx.process.signal_handlers.get(sig, (0, 0))[0]
        if handler == 0 and sig in DARWIN_IGNORED_BY_DEFAULT:
            return 0
        return shared.impl(ctx)

    return impl


def signal_exports(glibc: Callable[[str], Export | None]) -> list[Export]:
    """sigaction with Darwin's struct, raise with Darwin's default-ignored signals (signal
    itself is the shared one: its arguments mean the same)."""
    rows = [Export("sigaction", 3, _darwin_sigaction)]
    shared = glibc("raise")
    if shared is not None:
        rows.append(Export("raise", 1, _darwin_raise(shared)))
    return rows
