"""The stdio streams the core owns: FILE objects for stdin, stdout and stderr in library
memory, the `stdin`/`stdout`/`stderr` variables that point at them (data objects with a
size, so COPY relocations work), and the sink the formatting half
(`oracle.emulate.libc.stdio`) writes to.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.process import FULL, LINE, UNBUFFERED, Process

FILE_SIZE = {8: 216, 4: 148}  # sizeof(FILE) in glibc, so copies and pointers look real
_IO_MAGIC = 0xFBAD0000


def create_standard_streams(process: Process) -> None:
    """Allocate the three FILEs and their pointer variables, and environ's aliases."""
    word = process.machine.abi.word
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        size = FILE_SIZE[word]
        file_addr = process.alloc_data(size)
        flags = _IO_MAGIC | (0x8 if fd == 0 else 0x4)  # _IO_NO_WRITES / _IO_NO_READS
        process.machine.mem.write(file_addr, flags.to_bytes(4, "little") + bytes(size - 4))
        process.streams[file_addr] = fd
        process.object((name,), file_addr.to_bytes(word, "little"))
    process.object(("environ", "__environ", "_environ"), process.envp.to_bytes(word, "little"))


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
