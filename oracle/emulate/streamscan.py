"""Reading formatted input and lines from a stream (stdin or an open file): scanf, fscanf
and their v- and __isoc99_ forms, getline and getdelim.

A conversion runs over what the stream still holds (at most WINDOW bytes ahead) and then
consumes exactly what it matched, the way glibc's scanf leaves the rest in the FILE's
buffer; stdin is consumed through its FILE buffer (Process.stdio_read), so read(0)
afterwards sees what glibc would have left it.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault, VarArgs
from oracle.emulate.libc.valist import va_list_args
from oracle.emulate.process import Process
from oracle.emulate.scanf import scan_counted

WINDOW = 1 << 16  # bytes of the stream a single call looks ahead
EOF_VALUE = -1


def _fd(ctx: CallContext, stream: int) -> int:
    fd = ctx.process.streams.get(stream)
    if fd is None:
        raise GuestFault(stream, "not a FILE* of this process")
    return fd


def _ahead(process: Process, fd: int) -> bytes:
    """Up to WINDOW bytes the stream will yield next, not consumed."""
    if fd == 0:
        held = bytes(process.stdin_buffer)
        return held + process.stdin[process.stdin_pos : process.stdin_pos + WINDOW - len(held)]
    opened = process.open_files.get(fd)
    if opened is None:
        return b""
    pushed = bytes(reversed(opened.pushed_back))
    return pushed + bytes(opened.data[opened.position : opened.position + WINDOW])


def _consume(process: Process, fd: int, count: int, *, reached_end: bool) -> None:
    process.stream_read(fd, count)
    if reached_end:  # the call wanted more than the stream had: end of file is seen
        if fd == 0:
            process.set_stdin_eof(True)
        elif fd in process.open_files:
            process.open_files[fd].eof = True


def _scan_stream(ctx: CallContext, stream_fd: int, fmt_at: int, args: VarArgs) -> int:
    text = _ahead(ctx.process, stream_fd)
    result, used = scan_counted(ctx.mem, text, ctx.mem.read_cstr(fmt_at), args, ctx.word)
    at_end = len(text) < WINDOW and (result == EOF_VALUE or used == len(text))
    _consume(ctx.process, stream_fd, used, reached_end=at_end)
    return result


def scanf(ctx: CallContext) -> int:
    return _scan_stream(ctx, 0, ctx.arg(0), ctx.varargs(1))


def fscanf(ctx: CallContext) -> int:
    return _scan_stream(ctx, _fd(ctx, ctx.arg(0)), ctx.arg(1), ctx.varargs(2))


def vscanf(ctx: CallContext) -> int:
    return _scan_stream(ctx, 0, ctx.arg(0), va_list_args(ctx.mem, ctx.arg(1), ctx.word))


def vfscanf(ctx: CallContext) -> int:
    return _scan_stream(ctx, _fd(ctx, ctx.arg(0)), ctx.arg(1),
                        va_list_args(ctx.mem, ctx.arg(2), ctx.word))


def vsscanf(ctx: CallContext) -> int:
    text = ctx.mem.read_cstr(ctx.arg(0))
    args = va_list_args(ctx.mem, ctx.arg(2), ctx.word)
    return scan_counted(ctx.mem, text, ctx.mem.read_cstr(ctx.arg(1)), args, ctx.word)[0]


def _getdelim(ctx: CallContext, lineptr: int, size_at: int, delimiter: int, stream: int
              ) -> int:
    """getdelim: the next record through `delimiter` into *lineptr (grown with realloc
    as glibc does, *n updated), NUL-terminated; its length, or -1 at end of file."""
    fd = _fd(ctx, stream)
    process, word = ctx.process, ctx.word
    text = _ahead(process, fd)
    end = text.find(bytes([delimiter & 0xFF]))
    record = text if end < 0 else text[: end + 1]
    _consume(process, fd, len(record), reached_end=end < 0 and len(text) < WINDOW)
    if not record:
        return EOF_VALUE
    buffer = int.from_bytes(ctx.mem.read(lineptr, word), "little")
    capacity = int.from_bytes(ctx.mem.read(size_at, word), "little") if buffer else 0
    if capacity < len(record) + 1:
        capacity = max(120, len(record) + 1)  # glibc's first allocation is 120 bytes
        buffer = process.ensure_heap().realloc(buffer, capacity)
        if buffer == 0:
            return EOF_VALUE
        ctx.mem.write(lineptr, buffer.to_bytes(word, "little"))
        ctx.mem.write(size_at, capacity.to_bytes(word, "little"))
    ctx.mem.write(buffer, record + b"\0")
    return len(record)


def getline(ctx: CallContext) -> int:
    return _getdelim(ctx, ctx.arg(0), ctx.arg(1), ord("\n"), ctx.arg(2))


def getdelim(ctx: CallContext) -> int:
    return _getdelim(ctx, ctx.arg(0), ctx.arg(1), ctx.arg(2), ctx.arg(3))


EXPORTS = (
    Export("scanf", 1, scanf),
    Export("__isoc99_scanf", 1, scanf),
    Export("__isoc23_scanf", 1, scanf),
    Export("fscanf", 2, fscanf),
    Export("__isoc99_fscanf", 2, fscanf),
    Export("__isoc23_fscanf", 2, fscanf),
    Export("vscanf", 2, vscanf),
    Export("__isoc99_vscanf", 2, vscanf),
    Export("vfscanf", 3, vfscanf),
    Export("__isoc99_vfscanf", 3, vfscanf),
    Export("vsscanf", 3, vsscanf),
    Export("__isoc99_vsscanf", 3, vsscanf),
    Export("getline", 3, getline),
    Export("getdelim", 4, getdelim),
)
