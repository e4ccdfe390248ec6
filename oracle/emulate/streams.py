"""The stdio streams the core owns: FILE objects for stdin, stdout and stderr in library
memory, the `stdin`/`stdout`/`stderr` variables that point at them (data objects with a
size, so COPY relocations work), and the sink the formatting half
(`oracle.emulate.libc.stdio`) writes to.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.libc import stdio
from oracle.emulate.process import FULL, LINE, UNBUFFERED, Process

FILE_SIZE = {8: 216, 4: 148}  # sizeof(FILE) in glibc, so copies and pointers look real
IO_MAGIC = 0xFBAD0000


def create_standard_streams(process: Process) -> None:
    """Allocate the three FILEs and their pointer variables, environ's aliases, the
    program's names (__progname & co) and getopt's variables."""
    word = process.machine.abi.word
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        size = FILE_SIZE[word]
        file_addr = process.alloc_data(size)
        flags = IO_MAGIC | (0x8 if fd == 0 else 0x4)  # _IO_NO_WRITES / _IO_NO_READS
        process.machine.mem.write(file_addr, flags.to_bytes(4, "little") + bytes(size - 4))
        process.streams[file_addr] = fd
        process.object((name,), file_addr.to_bytes(word, "little"))
    process.object(("environ", "__environ", "_environ"), process.envp.to_bytes(word, "little"))
    from oracle.emulate import getopt, gnu_messages  # (they write through these streams)

    gnu_messages.create_objects(process)
    getopt.create_objects(process)


class ProcessStreams:
    """oracle.emulate.libc.stdio.Streams over a Process: a FILE* names a descriptor."""

    def __init__(self, process: Process) -> None:
        self.process = process

    def _file(self, name: str) -> int:
        word = self.process.machine.abi.word
        addr = self.process.object_address(name)
        return int.from_bytes(self.process.machine.mem.read(addr, word), "little")

    @property
    def stdout(self) -> int:
        # Read through the variable (possibly the executable's COPY), as glibc's printf
        # uses its own stdout, which a program may have reassigned.
        return self._file("stdout")

    @property
    def stderr(self) -> int:
        return self._file("stderr")

    def fd_of(self, stream: int) -> int:
        fd = self.process.streams.get(stream)
        if fd is None:
            raise GuestFault(stream, "not a FILE* of this process")
        return fd

    def write(self, stream: int, data: bytes) -> None:
        fd = self.fd_of(stream)
        if fd == 0:
            raise GuestFault(stream, "write to stdin")
        self.process.stdio_write(fd, data)


def _fd(ctx: CallContext, stream: int) -> int:
    return ProcessStreams(ctx.process).fd_of(stream)


def fflush(ctx: CallContext) -> int:
    stream = ctx.arg(0)
    ctx.process.flush(None if stream == 0 else _fd(ctx, stream))
    return 0


def setvbuf(ctx: CallContext) -> int:
    """setvbuf(stream, buf, mode, size): only the mode matters (the buffer is ours)."""
    stream, _, mode = ctx.args(3)
    mode &= 0xFFFFFFFF
    if mode not in (FULL, LINE, UNBUFFERED):
        return -1
    fd = _fd(ctx, stream)
    ctx.process.flush(fd)
    ctx.process.buffering[fd] = mode
    return 0


def setbuf(ctx: CallContext) -> int:
    fd = _fd(ctx, ctx.arg(0))
    ctx.process.flush(fd)
    ctx.process.buffering[fd] = FULL if ctx.arg(1) else UNBUFFERED
    return 0


def setlinebuf(ctx: CallContext) -> int:
    fd = _fd(ctx, ctx.arg(0))
    ctx.process.flush(fd)
    ctx.process.buffering[fd] = LINE
    return 0


EXPORTS = (
    Export("fflush", 1, fflush),
    Export("setvbuf", 4, setvbuf),
    Export("setbuf", 2, setbuf),
    Export("setlinebuf", 1, setlinebuf),
)


# -- input: stdin is the bytes given to run(), read through a FILE buffer as glibc does --

EOF_VALUE = -1


def _readable(ctx: CallContext, stream: int) -> int | None:
    """The descriptor to read `stream` through (stdin or an open file), or None."""
    fd = _fd(ctx, stream)
    return fd if fd == 0 or fd in ctx.process.open_files else None


def fgetc(ctx: CallContext) -> int:
    fd = _readable(ctx, ctx.arg(0))
    if fd is None:
        return EOF_VALUE
    data = ctx.process.stream_read(fd, 1)
    return data[0] if data else EOF_VALUE


def getchar(ctx: CallContext) -> int:
    data = ctx.process.stdio_read(1)
    return data[0] if data else EOF_VALUE


def ungetc(ctx: CallContext) -> int:
    """Push a byte back into the stream's buffer (clears end of file, as glibc)."""
    c, stream = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1)
    fd = _readable(ctx, stream)
    if c == 0xFFFFFFFF or fd is None:
        return EOF_VALUE
    opened = ctx.process.open_files.get(fd)
    if opened is not None:
        opened.pushed_back.append(c & 0xFF)
        opened.eof = False
    else:
        ctx.process.stdin_buffer[0:0] = bytes([c & 0xFF])
        ctx.process.set_stdin_eof(False)
    return c & 0xFF


def fgets(ctx: CallContext) -> int:
    """Up to size-1 bytes, through the first newline, NUL-terminated; NULL at end of file."""
    buf, size, stream = ctx.arg(0), ctx.signed(1), ctx.arg(2)
    fd = _readable(ctx, stream)
    if size <= 0 or fd is None:
        return 0
    line = ctx.process.stream_read(fd, size - 1, line=True)
    if not line:
        return 0
    ctx.mem.write(buf, line + b"\0")
    return buf


def fread(ctx: CallContext) -> int:
    ptr, size, count, stream = ctx.args(4)
    fd = _readable(ctx, stream)
    if size == 0 or fd is None:
        return 0
    data = ctx.process.stream_read(fd, size * count)
    whole = len(data) // size
    ctx.mem.write(ptr, data[: whole * size])
    return whole


def read(ctx: CallContext) -> int:
    fd, buf, count = ctx.args(3)
    opened = ctx.process.open_files.get(fd)
    if opened is not None and opened.readable:
        data = opened.read(count)
        ctx.mem.write(buf, data)
        return len(data)
    if fd != 0:  # not open, or open for writing only
        where = ctx.process.object(("errno",), bytes(4)).address
        ctx.mem.write(where, (9).to_bytes(4, "little"))  # EBADF
        return -1
    data = ctx.process.read_stdin(count)
    ctx.mem.write(buf, data)
    return len(data)


def fileno(ctx: CallContext) -> int:
    return _fd(ctx, ctx.arg(0))


def overflow(ctx: CallContext) -> int:
    """__overflow(FILE*, c): where glibc's inline putc_unlocked goes when the FILE's write
    pointers say its buffer is full, which for the emulator's FILEs (zeroed) is always."""
    return stdio.fputc(ctx.mem, ProcessStreams(ctx.process), ctx.arg(1), ctx.arg(0))


def _no_lock(ctx: CallContext) -> int:
    return 0  # flockfile & co: a run's threads take turns at library calls anyway


def isatty(ctx: CallContext) -> int:
    return 0  # stdin, stdout and stderr are pipes here


INPUT_EXPORTS = (
    Export("fgetc", 1, fgetc),
    Export("getc", 1, fgetc),
    Export("_IO_getc", 1, fgetc),
    Export("getc_unlocked", 1, fgetc),
    Export("fgetc_unlocked", 1, fgetc),
    Export("__uflow", 1, fgetc),  # glibc's inline getc_unlocked, its buffer being empty
    Export("__overflow", 2, overflow),
    Export("flockfile", 1, _no_lock),
    Export("funlockfile", 1, _no_lock),
    Export("ftrylockfile", 1, _no_lock),
    Export("getchar", 0, getchar),
    Export("ungetc", 2, ungetc),
    Export("fgets", 3, fgets),
    Export("fread", 4, fread),
    Export("read", 3, read),
    Export("fileno", 1, fileno),
    Export("isatty", 1, isatty),
)
