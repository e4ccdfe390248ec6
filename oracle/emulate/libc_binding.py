"""The emulated libc.so.6: start-up and exit, stdio over the core's streams, qsort and
bsearch, the environment, and the pure functions of `oracle.emulate.libc` bound to
the calling convention.

The pure functions take (mem, *integer arguments); the binding reads the arguments the
ABI way, hands over the heap, the streams or the variadic arguments a function needs,
and returns its integer result.
"""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UC_PROT_READ, UC_PROT_WRITE

from oracle.emulate import sorting, startup
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.libc import ctype, memory, numbers, stdio, strings
from oracle.emulate.libc.heap import Heap
from oracle.emulate.streams import ProcessStreams

LIBC_SONAMES = ("libc.so.6", "ld-linux-x86-64.so.2", "ld-linux.so.2", "libc.so")


def heap_of(ctx: CallContext) -> Heap:
    process = ctx.process
    if process.heap is None:
        # Mapped on first use: most programs under test never allocate.
        ctx.mem.map(process.heap_base, process.memory_cap, UC_PROT_READ | UC_PROT_WRITE)
        process.heap = Heap(ctx.mem, process.heap_base, process.memory_cap,
                            align=16 if ctx.word == 8 else 8)
    return process.heap


def _plain(name: str, arity: int, func: Callable[..., int]) -> Export:
    return Export(name, arity, lambda ctx: func(ctx.mem, *ctx.args(arity)))


def _worded(name: str, arity: int, func: Callable[..., int]) -> Export:
    return Export(name, arity, lambda ctx: func(ctx.mem, *ctx.args(arity), word=ctx.word))


def _streams(name: str, arity: int, func: Callable[..., int]) -> Export:
    return Export(name, arity,
                  lambda ctx: func(ctx.mem, ProcessStreams(ctx.process), *ctx.args(arity)))


def _printf_to(fixed: int, stream_arg: int | None, fmt_arg: int) -> Callable[[CallContext], int]:
    """printf-like: the stream (None: stdout) and the format are among `fixed` arguments."""

    def impl(ctx: CallContext) -> int:
        streams = ProcessStreams(ctx.process)
        stream = streams.stdout if stream_arg is None else ctx.arg(stream_arg)
        return stdio.fprintf(ctx.mem, streams, stream, ctx.arg(fmt_arg), ctx.varargs(fixed),
                             word=ctx.word)

    return impl


def _vprintf_to(stream_arg: int | None, fmt_arg: int, ap_arg: int) -> Callable[[CallContext], int]:
    def impl(ctx: CallContext) -> int:
        streams = ProcessStreams(ctx.process)
        stream = streams.stdout if stream_arg is None else ctx.arg(stream_arg)
        return stdio.vfprintf(ctx.mem, streams, stream, ctx.arg(fmt_arg), ctx.arg(ap_arg),
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


def _fflush(ctx: CallContext) -> int:
    ctx.process.flush()
    return 0


def _write(ctx: CallContext) -> int:
    fd, buf, count = ctx.args(3)
    return ctx.process.write_fd(fd, ctx.mem.read(buf, count))


def _getenv(ctx: CallContext) -> int:
    """Walks `environ` through the variable (the executable's COPY, if there is one)."""
    name = ctx.mem.read_cstr(ctx.arg(0)) + b"="
    mem, word = ctx.mem, ctx.word
    envp = int.from_bytes(mem.read(ctx.process.object_address("environ"), word), "little")
    while envp:
        entry = int.from_bytes(mem.read(envp, word), "little")
        if entry == 0:
            return 0
        text = mem.read_cstr(entry)
        if text.startswith(name):
            return entry + len(name)
        envp += word
    return 0


def _errno_location(ctx: CallContext) -> int:
    return ctx.process.object(("errno",), bytes(4)).address


def _malloc(ctx: CallContext) -> int:
    return heap_of(ctx).malloc(ctx.arg(0))


def _calloc(ctx: CallContext) -> int:
    return heap_of(ctx).calloc(ctx.arg(0), ctx.arg(1), word=ctx.word)


def _realloc(ctx: CallContext) -> int:
    return heap_of(ctx).realloc(ctx.arg(0), ctx.arg(1))


def _free(ctx: CallContext) -> int:
    if ctx.arg(0):
        heap_of(ctx).free(ctx.arg(0))
    return 0


def _strdup(ctx: CallContext) -> int:
    return strings.strdup(ctx.mem, heap_of(ctx), ctx.arg(0))


_PLAIN: dict[str, tuple[Callable[..., int], int]] = {
    **{name: (getattr(strings, name), n) for name, n in (
        ("strlen", 1), ("strnlen", 2), ("strcmp", 2), ("strncmp", 3), ("strcpy", 2),
        ("strncpy", 3), ("strcat", 2), ("strncat", 3), ("strchr", 2), ("strrchr", 2),
        ("strstr", 2))},
    **{name: (getattr(memory, name), n) for name, n in (
        ("memcpy", 3), ("memset", 3), ("memcmp", 3), ("memchr", 3))},
    "memmove": (memory.memcpy, 3),
    **{name: (getattr(ctype, name), 1) for name in (
        "isdigit", "isalpha", "isspace", "isalnum", "isupper", "islower", "isxdigit",
        "isprint", "ispunct", "toupper", "tolower")},
    "abs": (ctype.abs_, 1),
}
_WORDED: dict[str, tuple[Callable[..., int], int]] = {
    "strtol": (numbers.strtol, 3), "strtoul": (numbers.strtoul, 3),
    "strtoll": (numbers.strtoll, 3), "strtoull": (numbers.strtoull, 3),
    "atoi": (numbers.atoi, 1), "atol": (numbers.atol, 1), "atoll": (numbers.atoll, 1),
    "labs": (ctype.labs, 1),
}


def libc_exports() -> dict[str, Export]:
    """Every function the emulated libc.so.6 provides, by name."""
    exports = [
        *startup.EXPORTS,
        *sorting.EXPORTS,
        *(_plain(name, n, func) for name, (func, n) in _PLAIN.items()),
        *(_worded(name, n, func) for name, (func, n) in _WORDED.items()),
        _streams("puts", 1, stdio.puts),
        _streams("fputs", 2, stdio.fputs),
        _streams("fputc", 2, stdio.fputc),
        _streams("putc", 2, stdio.fputc),
        _streams("_IO_putc", 2, stdio.fputc),
        _streams("putchar", 1, stdio.putchar),
        _streams("fwrite", 4, stdio.fwrite),
        Export("fflush", 1, _fflush),
        Export("printf", 1, _printf_to(1, None, 0)),
        Export("fprintf", 2, _printf_to(2, 0, 1)),
        Export("__printf_chk", 2, _printf_to(2, None, 1)),
        Export("__fprintf_chk", 3, _printf_to(3, 0, 2)),
        Export("vprintf", 2, _vprintf_to(None, 0, 1)),
        Export("vfprintf", 3, _vprintf_to(0, 1, 2)),
        Export("sprintf", 2, _sprintf(0, None, 1, 2)),
        Export("snprintf", 3, _sprintf(0, 1, 2, 3)),
        Export("__sprintf_chk", 4, _sprintf(0, None, 3, 4)),
        Export("__snprintf_chk", 5, _sprintf(0, 1, 4, 5)),
        Export("write", 3, _write),
        Export("getenv", 1, _getenv),
        Export("__errno_location", 0, _errno_location),
        Export("malloc", 1, _malloc),
        Export("calloc", 2, _calloc),
        Export("realloc", 2, _realloc),
        Export("free", 1, _free),
        Export("strdup", 1, _strdup),
    ]
    return {export.name: export for export in exports}
