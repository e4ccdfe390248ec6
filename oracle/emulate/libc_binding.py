"""The emulated libc.so.6: start-up and exit, stdio over the core's streams, qsort and
bsearch, the environment, and the pure functions of `oracle.emulate.libc` bound to
the calling convention.

The pure functions take (mem, *integer arguments); the binding reads the arguments the
ABI way, hands over the heap, the streams or the variadic arguments a function needs,
and returns its integer result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from oracle.emulate import (
    clock,
    ctype_tables,
    divide,
    environment,
    fdio,
    filestat,
    filestdio,
    getopt,
    glibc_extras,
    gnu_messages,
    jumps,
    libm,
    locale_c,
    procinfo,
    scanf,
    signals,
    sorting,
    startup,
    streams,
    streamscan,
    system_queries,
    tls,
    wide_chars,
)
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.libc import stdio, table
from oracle.emulate.libc.flatmem import FlatMemory
from oracle.emulate.libc.heap import Heap
from oracle.emulate.libc.rand import GlibcRand
from oracle.emulate.libc.table import LibFunction
from oracle.emulate.process import Process
from oracle.emulate.streams import ProcessStreams

LIBC_SONAMES = ("libc.so.6", "ld-linux-x86-64.so.2", "ld-linux.so.2", "libc.so")


def heap_of(ctx: CallContext) -> Heap:
    return ctx.process.ensure_heap()


def errno_address(ctx: CallContext) -> int:
    """errno lives in library data (one thread): __errno_location returns this."""
    return _errno_of(ctx.process)


def _errno_of(process: Process) -> int:
    return process.object(("errno",), bytes(4)).address


class _Serving(threading.local):
    """The process whose library call the shared table is serving (per thread: runs in
    one thread are sequential, and a call inside a call serves the same process)."""

    process: Process | None = None


_SERVING = _Serving()


def _serving() -> Process:
    process = _SERVING.process
    if process is None:
        raise RuntimeError("a shared libc table row was called outside a library call")
    return process


class _CurrentHeap:
    """The serving process's heap (mapped on first use), for the shared table's rows."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_serving().ensure_heap(), name)


class _CurrentStreams:
    """stdio.Streams of the serving process."""

    @property
    def stdout(self) -> int:
        return ProcessStreams(_serving()).stdout

    def write(self, stream: int, data: bytes) -> None:
        ProcessStreams(_serving()).write(stream, data)


class _CurrentRand:
    """rand()'s state of the serving process, seeded on first use."""

    def next(self) -> int:
        return _serving().rand().next()

    def seed(self, seed: int) -> None:
        _serving().rand().seed(seed)


def _set_errno(value: int) -> None:
    process = _serving()
    process.machine.mem.write(_errno_of(process), (value & 0xFFFFFFFF).to_bytes(4, "little"))


_SHARED: dict[int, dict[str, LibFunction]] = {}


def _shared_table(word: int) -> dict[str, LibFunction]:
    """The helper's table for this ABI, built once per process (it was once per run, a
    quarter of a small run's time): its heap, streams, errno and rand state are those of
    whichever process is being served."""
    shared = _SHARED.get(word)
    if shared is None:
        shared = _SHARED[word] = table.library(
            word, heap=cast(Heap, _CurrentHeap()), streams=_CurrentStreams(),
            errno=_set_errno, rng=cast(GlibcRand, _CurrentRand()))
    return shared


def _from_table(row: LibFunction) -> Export:
    def impl(ctx: CallContext) -> int:
        bound = _shared_table(ctx.word)[row.name]
        args = ctx.args(bound.arity)
        varargs = ctx.varargs(bound.arity) if bound.variadic else None
        outer, _SERVING.process = _SERVING.process, ctx.process
        try:
            return bound.call(ctx.mem, args, varargs)
        finally:
            _SERVING.process = outer

    return Export(row.name, row.arity, impl)


class _NoStreams:
    """Stands in for the streams when listing the table's names (never written to)."""

    stdout = 0

    def write(self, stream: int, data: bytes) -> None:
        raise AssertionError("the probe table is never called")


def _table_exports(word: int) -> list[Export]:
    probe_heap = Heap(FlatMemory(0x1000, 0x1000), 0x1000, 0x1000)
    rows = table.library(word, heap=probe_heap, streams=_NoStreams())
    return [_from_table(row) for row in rows.values()]


def _printf_to(fixed: int, stream_arg: int | None, fmt_arg: int) -> Callable[[CallContext], int]:
    """printf-like: the stream (None: stdout) and the format are among `fixed` arguments."""

    def impl(ctx: CallContext) -> int:
        streams = ProcessStreams(ctx.process)
        stream = streams.stdout if stream_arg is None else ctx.arg(stream_arg)
        return stdio.fprintf(ctx.mem, streams, stream, ctx.arg(fmt_arg), ctx.varargs(fixed),
                             word=ctx.word)

    return impl


def _sprintf(buf_arg: int, size_arg: int | None, fmt_arg: int, fixed: int
             ) -> Callable[[CallContext], int]:
    def impl(ctx: CallContext) -> int:
        args = ctx.varargs(fixed)
        if size_arg is None:
            return stdio.sprintf(ctx.mem, ctx.arg(buf_arg), ctx.arg(fmt_arg), args, word=ctx.word)
        return stdio.snprintf(ctx.mem, ctx.arg(buf_arg), ctx.arg(size_arg), ctx.arg(fmt_arg),
                              args, word=ctx.word)

    return impl


def _write(ctx: CallContext) -> int:
    """write(2) as libc returns it: -1 with errno set, where the system call's own
    convention (write_fd's) is -errno."""
    fd, buf, count = ctx.args(3)
    result = ctx.process.write_fd(fd, ctx.mem.read(buf, count))
    if result < 0:
        filestdio.set_errno(ctx, -result)
        return -1
    return result


def _errno_location(ctx: CallContext) -> int:
    return errno_address(ctx)


def libc_exports(word: int) -> dict[str, Export]:
    """Every function the emulated libc.so.6 provides, by name."""
    exports = [
        *_table_exports(word),  # first: the entries below override these
        *startup.EXPORTS,
        *jumps.EXPORTS,
        *signals.EXPORTS,
        *environment.EXPORTS,
        *ctype_tables.EXPORTS,
        *streams.EXPORTS,
        *streams.INPUT_EXPORTS,
        *filestdio.EXPORTS,
        *fdio.EXPORTS,
        *filestat.EXPORTS,
        *clock.EXPORTS,
        *locale_c.EXPORTS,
        *divide.EXPORTS,
        *procinfo.EXPORTS,
        *streamscan.EXPORTS,
        *tls.EXPORTS,
        *scanf.EXPORTS,
        *sorting.EXPORTS,
        *libm.IN_LIBC_TOO,
        *signals.SET_EXPORTS,
        *getopt.EXPORTS,
        *gnu_messages.EXPORTS,
        *wide_chars.EXPORTS,
        *glibc_extras.EXPORTS,
        *system_queries.EXPORTS,
        Export("_IO_putc", 2, lambda ctx: stdio.fputc(ctx.mem, ProcessStreams(ctx.process),
                                                      ctx.arg(0), ctx.arg(1))),
        Export("__printf_chk", 2, _printf_to(2, None, 1)),
        Export("__fprintf_chk", 3, _printf_to(3, 0, 2)),
        Export("__sprintf_chk", 4, _sprintf(0, None, 3, 4)),
        Export("__snprintf_chk", 5, _sprintf(0, 1, 4, 5)),
        Export("write", 3, _write),
        Export("__errno_location", 0, _errno_location),
    ]
    table = {export.name: export for export in exports}
    for export in _shared_with_libsystem(table.get):
        table.setdefault(export.name, export)
    for export in glibc_extras.derived(table):
        table.setdefault(export.name, export)
    return table


# libc.so.6 functions whose arguments are Linux structures or numbers that Darwin's differ
# from (open's O_* flags, struct stat, a 128-byte sigset_t where Darwin's is 4 bytes,
# struct passwd, fcntl's commands, sysconf's names, and the GNU ones below): the emulated
# libSystem must not lend them, or a Mach-O guest's memory
# would be written in the wrong shape; without a Darwin version they are "unimplemented"
LINUX_SHAPED = frozenset({
    "open", "open64", "stat", "lstat", "fstat", "stat64", "lstat64", "fstat64", "fstatat",
    "fstatat64", "sigemptyset", "sigfillset", "sigaddset", "sigdelset", "sigismember",
    "getpwuid", "getpwnam", "fcntl", "fcntl64", "sysconf",
    # glibc's: getopt over libc.so.6's optind & co (Darwin's are its own, and BSD's
    # getopt permutes nothing), nl_langinfo's and getrlimit's numbering, the C locale's
    # EILSEQ for bytes past ASCII and its locale_t, Linux-only calls
    "getopt", "getopt_long", "getopt_long_only", "__posix_getopt", "nl_langinfo",
    "nl_langinfo_l",
    "getrlimit", "getrlimit64", "sysinfo", "sched_getaffinity", "__sched_cpucount",
    "mbrtowc", "mbrlen", "mbtowc", "wcrtomb", "btowc", "wctob", "newlocale", "uselocale",
    "duplocale", "freelocale", "error", "error_at_line", "ioctl", "uname",
    "random", "srandom",  # glibc's generator, not shown to be Darwin's
    "statfs", "fstatfs", "statfs64", "fstatfs64", "mincore", "sigaltstack", "mblen",
})

SHARED_WITH_LIBSYSTEM = frozenset({"strtod", "atof", "strtok", "strerror", "perror", "llabs"})


def _shared_with_libsystem(glibc: Callable[[str], Export | None]) -> list[Export]:
    """strtod, atof, strtok, strerror, perror and llabs: written for the emulated libSystem
    with glibc's behaviour (oracle.emulate.macho.libsystem_extra), and as much libc.so.6's.
    Imported here, at first use: the macho package imports this module's users."""
    try:
        from oracle.emulate.macho.libsystem_extra import extra_exports
    except ImportError:
        return []
    return [row for row in extra_exports(glibc) if row.name in SHARED_WITH_LIBSYSTEM]
