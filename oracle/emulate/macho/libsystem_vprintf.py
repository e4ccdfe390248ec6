"""i386 libSystem's v*printf family: a va_list there is a pointer into the caller's
argument area, as on i386 Linux, but a `long double` in it takes a 16-byte cell aligned to
16 (sizeof(long double) is 16 on i386 macOS; clang aligns the caller's copy), where the
shared libc reads glibc's 12-byte cell.  x86-64's va_list is the same on both systems."""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.abi import I386_DARWIN
from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.guest import VarArgs
from oracle.emulate.libc import stdio
from oracle.emulate.libc.valist import va_list_args
from oracle.emulate.streams import ProcessStreams


def _args(ctx: CallContext, index: int) -> VarArgs:
    return va_list_args(ctx.mem, ctx.arg(index), 4, I386_DARWIN.long_double_slot)


def _vfprintf(stream_arg: int | None) -> Callable[[CallContext], LibResult]:
    """vprintf(fmt, ap) when stream_arg is None, else vfprintf(stream, fmt, ap)."""

    def impl(ctx: CallContext) -> LibResult:
        streams = ProcessStreams(ctx.process)
        fmt = 0 if stream_arg is None else 1
        stream = streams.stdout if stream_arg is None else ctx.arg(stream_arg)
        return stdio.fprintf(ctx.mem, streams, stream, ctx.arg(fmt), _args(ctx, fmt + 1),
                             word=4)

    return impl


def _vsprintf(ctx: CallContext) -> LibResult:
    return stdio.sprintf(ctx.mem, ctx.arg(0), ctx.arg(1), _args(ctx, 2), word=4)


def _vsnprintf(ctx: CallContext) -> LibResult:
    return stdio.snprintf(ctx.mem, ctx.arg(0), ctx.arg(1), ctx.arg(2), _args(ctx, 3), word=4)


def _vasprintf(ctx: CallContext) -> LibResult:
    return stdio.asprintf(ctx.mem, ctx.process.ensure_heap(), ctx.arg(0), ctx.arg(1),
                          _args(ctx, 2), word=4)


def i386_vprintf_exports() -> dict[str, Export]:
    rows = [Export("vprintf", 2, _vfprintf(None)), Export("vfprintf", 3, _vfprintf(0)),
            Export("vsprintf", 3, _vsprintf), Export("vsnprintf", 4, _vsnprintf),
            Export("vasprintf", 3, _vasprintf)]
    return {row.name: row for row in rows}
