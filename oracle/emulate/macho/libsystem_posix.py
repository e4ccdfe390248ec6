"""libSystem's POSIX and BSD functions that held-out C programs call and the shared
emulated libc has not (or has under glibc's numbering): posix_memalign (clang's
<mm_malloc.h> calls it for _mm_malloc), the `*_unlocked` character functions (functions in
libSystem, not macros over a FILE's buffer as in glibc), sysconf with Darwin's `_SC_*`
numbers, sched_yield, <err.h>'s err/errx/warn/warnx, and open (BSD's O_* flags, translated
to the shared file system's) and lseek (off_t is 64-bit on i386 macOS too: two stack words,
the result in edx:eax).

Values are the emulated machine's, chosen so a program prints what its native Linux build
prints where the two systems agree: one processor (threads run one at a time), 4 KiB
pages, 100 clock ticks a second.  err and warn write "PROGNAME: message[: strerror]\\n" to
stderr as both BSD's and glibc's do, PROGNAME being argv[0]'s last component (Darwin's
getprogname(), glibc's program_invocation_short_name).
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.libc.stdio import render_printf
from oracle.emulate.macho.libsystem_extra import FixedArgs, message_of_errno

EINVAL = 22
# open(2)'s flags: Darwin's <fcntl.h> value -> Linux's, which the shared open takes
DARWIN_OPEN_FLAGS = {0x0008: 0o2000,  # O_APPEND
                     0x0200: 0o100,  # O_CREAT
                     0x0400: 0o1000,  # O_TRUNC
                     0x0800: 0o200}  # O_EXCL
O_ACCMODE = 3
# <unistd.h> on Darwin: sysconf names -> the emulated machine's values
DARWIN_SYSCONF = {
    3: 100,  # _SC_CLK_TCK
    29: 4096,  # _SC_PAGESIZE
    57: 1,  # _SC_NPROCESSORS_CONF
    58: 1,  # _SC_NPROCESSORS_ONLN
}


def _errno(ctx: CallContext) -> int:
    errno = ctx.process.object(("errno",), bytes(4))
    return int.from_bytes(ctx.mem.read(errno.address, 4), "little")


def _set_errno(ctx: CallContext, value: int) -> None:
    errno = ctx.process.object(("errno",), bytes(4))
    ctx.mem.write(errno.address, value.to_bytes(4, "little"))


def _posix_memalign(ctx: CallContext) -> LibResult:
    """posix_memalign(memptr, alignment, size): 0 and the block in *memptr; EINVAL for an
    alignment that is no power-of-two multiple of the word; ENOMEM (12) when full."""
    memptr, alignment, size = ctx.args(3)
    if alignment < ctx.word or alignment & (alignment - 1):
        return EINVAL
    block = ctx.process.ensure_heap().memalign(alignment, size)
    if block == 0:
        return 12
    ctx.mem.write(memptr, block.to_bytes(ctx.word, "little"))
    return 0


def _sysconf(ctx: CallContext) -> LibResult:
    value = DARWIN_SYSCONF.get(ctx.signed(0))
    if value is None:
        _set_errno(ctx, EINVAL)
        return -1
    return value


def _progname(ctx: CallContext) -> bytes:
    argv = ctx.process.argv
    if not argv:
        return b""
    arg0 = int.from_bytes(ctx.mem.read(argv, ctx.word), "little")
    return ctx.mem.read_cstr(arg0).rsplit(b"/", 1)[-1] if arg0 else b""


def _reporter(fmt_arg: int, with_errno: bool, exits: bool,
              exit_: Export | None) -> Callable[[CallContext], LibResult]:
    """err(eval, fmt, ...), errx, warn(fmt, ...), warnx."""

    def impl(ctx: CallContext) -> LibResult:
        number = _errno(ctx)  # before formatting can change it
        fmt = ctx.arg(fmt_arg)
        text = _progname(ctx) + b": "
        if fmt:
            text += render_printf(ctx.mem, fmt, ctx.varargs(fmt_arg + 1), ctx.word)
            if with_errno:
                text += b": "
        if with_errno:
            text += message_of_errno(number)
        ctx.process.write_fd(2, text + b"\n")
        if exits and exit_ is not None:
            return exit_.impl(FixedArgs(ctx, (ctx.arg(0),)))
        return None

    return impl


def _open(shared: Export) -> Callable[[CallContext], LibResult]:
    def impl(ctx: CallContext) -> LibResult:
        darwin = ctx.arg(1) & 0xFFFFFFFF
        linux = darwin & O_ACCMODE
        for bit, value in DARWIN_OPEN_FLAGS.items():
            if darwin & bit:
                linux |= value
        return shared.impl(FixedArgs(ctx, (ctx.arg(0), linux, ctx.arg(2))))

    return impl


def _same_as(export: Export | None, name: str) -> list[Export]:
    return [] if export is None else [Export(name, export.arity, export.impl)]


def posix_exports(glibc: Callable[[str], Export | None]) -> list[Export]:
    exit_ = glibc("exit")
    rows = [Export("posix_memalign", 3, _posix_memalign),
            Export("sysconf", 1, _sysconf),
            Export("sched_yield", 0, lambda ctx: 0),
            Export("err", 2, _reporter(1, True, True, exit_)),
            Export("errx", 2, _reporter(1, False, True, exit_)),
            Export("warn", 1, _reporter(0, True, False, exit_)),
            Export("warnx", 1, _reporter(0, False, False, exit_))]
    for locked in ("getc", "getchar", "putc", "putchar"):
        rows += _same_as(glibc(locked), f"{locked}_unlocked")
    shared_open = glibc("open")
    if shared_open is not None:
        rows.append(Export("open", 3, _open(shared_open)))
    rows += _same_as(glibc("lseek64"), "lseek")  # Darwin's off_t is always 64-bit
    return rows
