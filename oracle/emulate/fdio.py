"""POSIX descriptor I/O on the run's in-memory file system: open, close, lseek, mkstemp.

read and write (streams.py, libc_binding.py) already serve a descriptor that names an
OpenFile of the process; these make and drop such descriptors, sharing the numbering of
fopen's (the lowest free from 3) so that a program mixing the two sees what it would
natively.  zlib's gzopen/gzclose are the first real callers met (held-out programs).
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.files import EBADF, EINVAL, ENOSPC, O_CREAT, O_EXCL, OpenFile
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


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW, F_GETLK64, F_SETLK64, F_SETLKW64 = 5, 6, 7, 12, 13, 14
F_DUPFD_CLOEXEC = 1030
F_UNLCK = 2
O_WRONLY, O_APPEND = 1, 0o2000


def fcntl(ctx: CallContext) -> int:
    """The commands a single process can ask of its own descriptors: flags (nothing to
    keep: there is no exec), and record locks, which no other process can hold, so every
    lock is granted and F_GETLK answers F_UNLCK (struct flock and flock64 both start with
    the short l_type).  Others fail with EINVAL."""
    fd, command = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1) & 0xFFFFFFFF
    process = ctx.process
    opened = process.open_files.get(fd)
    if opened is None and fd >= FIRST_FILE_FD:
        set_errno(ctx, EBADF)
        return -1
    if command in (F_GETFD, F_SETFD, F_SETFL, F_SETLK, F_SETLKW, F_SETLK64, F_SETLKW64):
        return 0
    if command == F_GETFL:
        if opened is None:
            return 0 if fd == 0 else O_WRONLY  # stdin read, stdout/stderr written
        access = 2 if opened.readable and opened.writable else (O_WRONLY if opened.writable
                                                                 else 0)
        return access | (O_APPEND if opened.append else 0)
    if command in (F_GETLK, F_GETLK64):
        ctx.mem.write(ctx.arg(2), F_UNLCK.to_bytes(2, "little"))
        return 0
    if command in (F_DUPFD, F_DUPFD_CLOEXEC) and opened is not None:
        lowest = max(ctx.arg(2) & 0xFFFFFFFF, FIRST_FILE_FD)
        while lowest in process.open_files:
            lowest += 1
        process.open_files[lowest] = opened
        return lowest
    set_errno(ctx, 22)
    return -1


def _open_file(ctx: CallContext, fd: int) -> OpenFile | None:
    opened = ctx.process.open_files.get(fd & 0xFFFFFFFF)
    if opened is None:
        set_errno(ctx, EBADF if fd & 0xFFFFFFFF >= FIRST_FILE_FD else EINVAL)
    return opened


def fsync(ctx: CallContext) -> int:
    """Nothing to write back: 0 for a file, EINVAL for the pipes 0-2 (as Linux says)."""
    return 0 if _open_file(ctx, ctx.arg(0)) is not None else -1


def _truncate(ctx: CallContext, fd: int, length: int) -> int:
    opened = _open_file(ctx, fd)
    if opened is None or not opened.writable or length < 0:
        if opened is not None:
            set_errno(ctx, EINVAL)
        return -1
    data = opened.data
    if length < len(data):
        ctx.process.files.freed += len(data) - length
        del data[length:]
    else:
        ctx.process.hold_file_bytes(length - len(data))
        data.extend(bytes(length - len(data)))
    return 0


def ftruncate(ctx: CallContext) -> int:
    return _truncate(ctx, ctx.arg(0), ctx.signed(1))


def ftruncate64(ctx: CallContext) -> int:
    """off64_t: two stack words on i386."""
    if ctx.word == 8:
        return ftruncate(ctx)
    length = ctx.arg(1) | ctx.arg(2) << 32
    return _truncate(ctx, ctx.arg(0), length - ((length >> 63) << 64))


def _offset_at(ctx: CallContext, index: int, wide: bool) -> int:
    """An off_t (the word) or off64_t (two words on i386) argument."""
    if ctx.word == 8 or not wide:
        return ctx.signed(index)
    value = ctx.arg(index) | ctx.arg(index + 1) << 32
    return value - ((value >> 63) << 64)


def _positioned(write: bool, wide: bool) -> Callable[[CallContext], int]:
    """pread/pwrite(fd, buf, count, offset): at an offset, leaving the position alone."""

    def impl(ctx: CallContext) -> int:
        fd, buf, count = ctx.args(3)
        offset = _offset_at(ctx, 3, wide)
        opened = _open_file(ctx, fd)
        if opened is None or offset < 0 or not (opened.writable if write else opened.readable):
            if opened is not None:
                set_errno(ctx, EINVAL if offset < 0 else EBADF)
            return -1
        saved = opened.position
        opened.position = offset  # (Linux's pwrite still appends on an O_APPEND file)
        try:
            if write:
                before = len(opened.data)
                written = opened.write(ctx.mem.read(buf, count))
                ctx.process.hold_file_bytes(len(opened.data) - before)
                if written < 0:  # past MAX_FILE_BYTES: the file system is full
                    set_errno(ctx, ENOSPC)
                return written
            data = opened.read(count)
            opened.eof = False
            ctx.mem.write(buf, data)
            return len(data)
        finally:
            opened.position = saved

    return impl


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
    Export("fcntl", 2, fcntl),
    Export("fcntl64", 2, fcntl),
    Export("fsync", 1, fsync),
    Export("fdatasync", 1, fsync),
    Export("ftruncate", 2, ftruncate),
    Export("ftruncate64", 2, ftruncate64),
    Export("pread", 4, _positioned(write=False, wide=False)),
    Export("pread64", 4, _positioned(write=False, wide=True)),
    Export("pwrite", 4, _positioned(write=True, wide=False)),
    Export("pwrite64", 4, _positioned(write=True, wide=True)),
    Export("mkstemp64", 1, mkstemp),
)
