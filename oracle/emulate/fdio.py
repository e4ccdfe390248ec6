"""POSIX descriptor I/O on the run's in-memory file system: open, close, lseek, mkstemp.

read and write (streams.py, libc_binding.py) already serve a descriptor that names an
OpenFile of the process; these make and drop such descriptors, sharing the numbering of
fopen's (the lowest free from 3) so that a program mixing the two sees what it would
natively.  zlib's gzopen/gzclose are the first real callers met (held-out programs).
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.files import EBADF, O_CREAT, O_EXCL
from oracle.emulate.filestdio import FIRST_FILE_FD, set_errno, take_descriptor

O_RDWR = 2


def open_(ctx: CallContext) -> int:
    """open(path, flags[, mode]): the mode is read by nobody (no permissions here)."""
    path, flags = ctx.mem.read_cstr(ctx.arg(0)), ctx.arg(1) & 0xFFFFFFFF
    opened = ctx.process.files.open_flags(path, flags)
    if isinstance(opened, int):
        set_errno(ctx, opened)
        return -1
    return take_descriptor(ctx.process, opened)


def close(ctx: CallContext) -> int:
    """Drop the descriptor; a FILE still on it (fdopen) keeps the file, as a dup would not,
    but nothing here can observe the difference.  0-2 close as no-ops (the run's output is
    still collected)."""
    fd = ctx.arg(0) & 0xFFFFFFFF
    process = ctx.process
    if fd < FIRST_FILE_FD:
        process.flush(fd)
        return 0
    if fd not in process.open_files:
        set_errno(ctx, EBADF)
        return -1
    if fd not in process.streams.values():
        del process.open_files[fd]
    return 0


def _seek(ctx: CallContext, fd: int, offset: int, whence: int) -> int:
    opened = ctx.process.open_files.get(fd & 0xFFFFFFFF)
    if opened is None:
        set_errno(ctx, EBADF if fd >= FIRST_FILE_FD else 29)  # ESPIPE: 0-2 are pipes here
        return -1
    result = opened.seek(offset, whence & 0xFFFFFFFF)
    if result < 0:
        set_errno(ctx, -result)
        return -1
    return result


def lseek(ctx: CallContext) -> int:
    """off_t is the word: 32 bits on i386 (a position past 2 GiB cannot happen here)."""
    return _seek(ctx, ctx.arg(0), ctx.signed(1), ctx.arg(2))


def lseek64(ctx: CallContext) -> int:
    """A 64-bit offset: one register on x86-64, two stack words on i386 (the result goes
    back in edx:eax)."""
    if ctx.word == 8:
        return _seek(ctx, ctx.arg(0), ctx.signed(1), ctx.arg(2))
    offset = ctx.arg(1) | ctx.arg(2) << 32
    offset -= (offset >> 63) << 64
    return _seek(ctx, ctx.arg(0), offset, ctx.arg(3))


TEMPLATE_SUFFIX = b"XXXXXX"
NAME_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def mkstemp(ctx: CallContext) -> int:
    """Replace the template's trailing XXXXXX with a name no file has, create that file
    (read and write) and return its descriptor; EINVAL for a template without them.  The
    names are drawn from a counter of the run, so a run repeats exactly."""
    template = ctx.arg(0)
    path = ctx.mem.read_cstr(template)
    if not path.endswith(TEMPLATE_SUFFIX):
        set_errno(ctx, 22)
        return -1
    files = ctx.process.files
    number = len(files.files) * 7919
    while True:
        number += 1
        digits, left = bytearray(), number
        for _ in range(6):
            left, letter = divmod(left, len(NAME_LETTERS))
            digits.append(NAME_LETTERS[letter])
        candidate = path[:-6] + bytes(digits)
        opened = files.open_flags(candidate, O_RDWR | O_CREAT | O_EXCL)
        if not isinstance(opened, int):
            ctx.mem.write(template, candidate)
            return take_descriptor(ctx.process, opened)


EXPORTS = (
    Export("open", 2, open_),
    Export("open64", 2, open_),
    Export("close", 1, close),
    Export("lseek", 3, lseek),
    Export("lseek64", 3, lseek64),
    Export("mkstemp", 1, mkstemp),
    Export("mkstemp64", 1, mkstemp),
)
