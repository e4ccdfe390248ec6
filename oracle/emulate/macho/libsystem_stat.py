"""libSystem's stat, lstat and fstat in their `$INODE64` forms (what the headers name for
macOS 10.6 and later), over the shared in-memory file system's answers (filestat.py):
Darwin's 64-bit-inode `struct stat`, whose layout is glibc's in neither word size.

    x86-64 (144): dev@0(4) mode@4(2) nlink@6(2) ino@8(8) uid@16 gid@20 rdev@24
                  atime@32 mtime@48 ctime@64 birthtime@80 (timespecs of two words)
                  size@96(8) blocks@104(8) blksize@112 flags@116 gen@120
    i386 (108):   the same fields with 4-byte timespec words and 8-byte fields aligned
                  to 4: atime@28 mtime@36 ctime@44 birthtime@52 size@60 blocks@68
                  blksize@76 flags@80 gen@84

The plain `_stat` names fill the older 32-bit-inode struct and are not served.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.files import EBADF, ENOENT
from oracle.emulate.filestat import (
    BLOCK,
    DEVICE,
    FIXED_TIME,
    Status,
    fd_status,
    path_status,
)
from oracle.emulate.filestdio import set_errno
from oracle.emulate.procinfo import GID, UID

# (struct size, where the four timespecs start, their size, where st_size starts)
LAYOUTS = {8: (144, 32, 16, 96), 4: (108, 28, 8, 60)}


def pack_stat64(word: int, status: Status) -> bytes:
    size, times_at, timespec, size_at = LAYOUTS[word]
    out = bytearray(size)
    struct.pack_into("<iHHQIIi", out, 0, DEVICE, status.mode, status.links, status.inode,
                     UID, GID, 0)
    half = "q" if word == 8 else "i"
    for number in range(4):
        struct.pack_into(f"<{half}{half}", out, times_at + number * timespec, FIXED_TIME, 0)
    struct.pack_into("<qqi", out, size_at, status.size, (status.size + 511) // 512, BLOCK)
    return bytes(out)


def _answer(ctx: CallContext, status: Status | None, out: int, missing: int) -> LibResult:
    if status is None:
        set_errno(ctx, missing)
        return -1
    ctx.mem.write(out, pack_stat64(ctx.word, status))
    return 0


def _by_path(ctx: CallContext) -> LibResult:
    status = path_status(ctx.process.files, ctx.mem.read_cstr(ctx.arg(0)))
    return _answer(ctx, status, ctx.arg(1), ENOENT)


def _by_fd(ctx: CallContext) -> LibResult:
    return _answer(ctx, fd_status(ctx, ctx.arg(0) & 0xFFFFFFFF), ctx.arg(1), EBADF)


INODE64: dict[str, Callable[[CallContext], LibResult]] = {
    "stat": _by_path, "lstat": _by_path, "fstat": _by_fd}


def inode64_export(name: str) -> Export | None:
    """The `$INODE64` function of this C name, if it is one served here."""
    impl = INODE64.get(name)
    return None if impl is None else Export(name, 2, impl)
