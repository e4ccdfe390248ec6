"""stdio on files: fopen and its family over the run's in-memory file system (files.py).

A FILE* of an opened file is a FILE-sized block in library data, like the standard
streams' (streams.py), mapped to a descriptor (3 and up) that names an OpenFile of the
process; the output functions (fputs, fprintf, fwrite, ...) already write through
`process.stdio_write(descriptor)` and the input ones read through `process.stream_read`.
Errors return what glibc returns (NULL, EOF, -1) and set errno.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.files import EBADF, EINVAL, ESPIPE, OpenFile
from oracle.emulate.guest import GuestFault
from oracle.emulate.process import Process
from oracle.emulate.streams import FILE_SIZE, IO_MAGIC

EOF_VALUE = -1
FIRST_FILE_FD = 3


def set_errno(ctx: CallContext, value: int) -> None:
    where = ctx.process.object(("errno",), bytes(4)).address
    ctx.mem.write(where, value.to_bytes(4, "little"))


def _fd(ctx: CallContext, stream: int) -> int:
    fd = ctx.process.streams.get(stream)
    if fd is None:
        raise GuestFault(stream, "not a FILE* of this process")
    return fd


def _file_of(ctx: CallContext, stream: int) -> OpenFile | None:
    """The open file behind `stream`, or None for the standard streams."""
    return ctx.process.open_files.get(_fd(ctx, stream))


def _free_fd(process: Process) -> int:
    fd = FIRST_FILE_FD
    while fd in process.open_files:
        fd += 1
    return fd


def _file_struct(process: Process, fd: int) -> int:
    """A FILE block for descriptor `fd` (one that fclose freed, else new library data)."""
    size = FILE_SIZE[process.machine.abi.word]
    stream = process.free_files.pop() if process.free_files else process.alloc_data(size)
    process.machine.mem.write(stream, IO_MAGIC.to_bytes(4, "little") + bytes(size - 4))
    process.streams[stream] = fd
    return stream


def take_descriptor(process: Process, opened: OpenFile) -> int:
    """The lowest free descriptor from 3, now naming `opened`."""
    fd = _free_fd(process)
    process.open_files[fd] = opened
    return fd


def _new_stream(process: Process, opened: OpenFile) -> int:
    """A FILE* for `opened` on the lowest free descriptor from 3."""
    return _file_struct(process, take_descriptor(process, opened))


def fopen(ctx: CallContext) -> int:
    path, mode = ctx.mem.read_cstr(ctx.arg(0)), ctx.mem.read_cstr(ctx.arg(1))
    opened = ctx.process.files.open(path, mode)
    if isinstance(opened, int):
        set_errno(ctx, opened)
        return 0
    return _new_stream(ctx.process, opened)


def tmpfile(ctx: CallContext) -> int:
    """An anonymous file, read and written, gone when closed."""
    return _new_stream(ctx.process, OpenFile(bytearray(), readable=True, writable=True,
                                             append=False))


def fdopen(ctx: CallContext) -> int:
    """A FILE* on an open descriptor: a file's shares its position; 0-2 name the standard
    streams' descriptors."""
    fd, mode = ctx.arg(0) & 0xFFFFFFFF, ctx.mem.read_cstr(ctx.arg(1))
    if mode[:1] not in (b"r", b"w", b"a"):
        set_errno(ctx, EINVAL)
        return 0
    if fd not in ctx.process.open_files and fd not in (0, 1, 2):
        set_errno(ctx, EBADF)
        return 0
    return _file_struct(ctx.process, fd)


def fclose(ctx: CallContext) -> int:
    stream = ctx.arg(0)
    fd = _fd(ctx, stream)
    process = ctx.process
    if fd < FIRST_FILE_FD:
        process.flush(fd)
        return 0  # the standard streams stay usable (nothing else would see them closed)
    del process.streams[stream]
    if fd not in process.streams.values():  # the last FILE on it: close the descriptor
        process.open_files.pop(fd, None)
    process.free_files.append(stream)
    return 0


def freopen(ctx: CallContext) -> int:
    """Reopen `stream` on a path (the same FILE*, as glibc), or change nothing and fail."""
    path_at, mode_at, stream = ctx.args(3)
    process = ctx.process
    old_fd = _fd(ctx, stream)
    if path_at == 0:
        return stream  # a mode change only: every mode is allowed here
    opened = process.files.open(ctx.mem.read_cstr(path_at), ctx.mem.read_cstr(mode_at))
    if isinstance(opened, int):
        set_errno(ctx, opened)
        return 0
    if old_fd < FIRST_FILE_FD:
        process.flush(old_fd)
    elif list(process.streams.values()).count(old_fd) == 1:
        process.open_files.pop(old_fd, None)
    del process.streams[stream]
    fd = _free_fd(process)
    process.open_files[fd] = opened
    process.streams[stream] = fd
    return stream


def fseek(ctx: CallContext) -> int:
    return _fseek(ctx, ctx.arg(0), ctx.signed(1), ctx.arg(2) & 0xFFFFFFFF)


def fseeko64(ctx: CallContext) -> int:
    """A 64-bit offset: two stack words on i386."""
    if ctx.word == 8:
        return fseek(ctx)
    offset = ctx.arg(1) | ctx.arg(2) << 32
    return _fseek(ctx, ctx.arg(0), offset - ((offset >> 63) << 64), ctx.arg(3) & 0xFFFFFFFF)


def _fseek(ctx: CallContext, stream: int, offset: int, whence: int) -> int:
    opened = _file_of(ctx, stream)
    if opened is None:
        set_errno(ctx, ESPIPE)  # the standard streams are pipes here
        return -1
    result = opened.seek(offset, whence)
    if result < 0:
        set_errno(ctx, -result)
        return -1
    return 0


def ftell(ctx: CallContext) -> int:
    opened = _file_of(ctx, ctx.arg(0))
    if opened is None:
        set_errno(ctx, ESPIPE)
        return -1
    return opened.tell()


def rewind(ctx: CallContext) -> int:
    opened = _file_of(ctx, ctx.arg(0))
    if opened is not None:
        opened.seek(0, 0)
        opened.error = False
    return 0


def feof(ctx: CallContext) -> int:
    opened = _file_of(ctx, ctx.arg(0))
    if opened is None:
        return int(_fd(ctx, ctx.arg(0)) == 0 and ctx.process.stdin_eof)
    return int(opened.eof)


def ferror(ctx: CallContext) -> int:
    opened = _file_of(ctx, ctx.arg(0))
    return int(opened is not None and opened.error)


def clearerr(ctx: CallContext) -> int:
    opened = _file_of(ctx, ctx.arg(0))
    if opened is None:
        if _fd(ctx, ctx.arg(0)) == 0:
            ctx.process.set_stdin_eof(False)
    else:
        opened.eof = opened.error = False
    return 0


def remove(ctx: CallContext) -> int:
    error = ctx.process.files.remove(ctx.mem.read_cstr(ctx.arg(0)),
                                     ctx.process.file_in_use)
    if error:
        set_errno(ctx, error)
        return -1
    return 0


def rename(ctx: CallContext) -> int:
    error = ctx.process.files.rename(ctx.mem.read_cstr(ctx.arg(0)),
                                     ctx.mem.read_cstr(ctx.arg(1)), ctx.process.file_in_use)
    if error:
        set_errno(ctx, error)
        return -1
    return 0


EXPORTS = (
    Export("fopen", 2, fopen),
    Export("fopen64", 2, fopen),
    Export("fdopen", 2, fdopen),
    Export("freopen", 3, freopen),
    Export("freopen64", 3, freopen),
    Export("fclose", 1, fclose),
    Export("fseek", 3, fseek),
    Export("fseeko", 3, fseek),
    Export("fseeko64", 3, fseeko64),
    Export("ftell", 1, ftell),
    Export("ftello", 1, ftell),
    Export("ftello64", 1, ftell),
    Export("rewind", 1, rewind),
    Export("feof", 1, feof),
    Export("ferror", 1, ferror),
    Export("clearerr", 1, clearerr),
    Export("remove", 1, remove),
    Export("unlink", 1, remove),
    Export("rename", 2, rename),
    Export("tmpfile", 0, tmpfile),
    Export("tmpfile64", 0, tmpfile),
)
