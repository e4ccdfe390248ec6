"""stat and its family over the run's in-memory file system, and the calls that change a
file's owner, mode or times (which succeed and change nothing: there are no permissions
and no clocks on these files).

What a stat says: a file is a regular file of mode 0644 and its size, owned by the run's
uid and gid; "/" (the working directory) and any directory a file's path passes through
are directories of mode 0755; descriptors 0-2 are pipes (as they are for a native run
whose output is captured).  Device, inode and times are made up but fixed, so a run
repeats.  glibc's layouts (x86-64 `struct stat`, i386 `struct stat` and `struct stat64`):

    x86-64 (144): dev@0 ino@8 nlink@16(8) mode@24 uid@28 gid@32 rdev@40 size@48
                  blksize@56 blocks@64 atim@72 mtim@88 ctim@104 (timespec of 2 words)
    i386 stat64 (96): dev@0 ino32@12 mode@16 nlink@20 uid@24 gid@28 rdev@32 size@44(8)
                  blksize@52 blocks@56(8) atim@64 mtim@72 ctim@80 ino@88(8)
    i386 stat (88): dev@0 ino@12 mode@16 nlink@20 uid@24 gid@28 rdev@32 size@44(4)
                  blksize@48 blocks@52 atim@56 mtim@64 ctim@72
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.files import EBADF, ENOENT, MemoryFiles
from oracle.emulate.filestdio import FIRST_FILE_FD, set_errno
from oracle.emulate.procinfo import GID, UID

S_IFIFO, S_IFDIR, S_IFREG = 0o010000, 0o040000, 0o100000
BLOCK = 4096
DEVICE = 0x801
FIXED_TIME = 1_700_000_000  # every file's atime, mtime and ctime
AT_FDCWD = -100
X_OK = 1
EACCES, ENOMEM, ERANGE = 13, 12, 34


@dataclass(frozen=True)
class Status:
    mode: int
    size: int
    inode: int
    links: int = 1  # a directory's are 2: its name and its "." (subdirectories not counted)


def _path_status(files: MemoryFiles, path: bytes) -> Status | None:
    name = files.normalize(path)
    data = files.files.get(name)
    if data is not None:
        return Status(S_IFREG | 0o644, len(data), files.inode(data))
    prefix = name.rstrip("/") + "/"
    if name == "/" or any(other.startswith(prefix) for other in files.files):
        return Status(S_IFDIR | 0o755, BLOCK, 1, links=2)  # (1: files count from 2)
    return None


def _fd_status(ctx: CallContext, fd: int) -> Status | None:
    if fd < FIRST_FILE_FD:
        return Status(S_IFIFO | 0o600, 0, 100 + fd)
    opened = ctx.process.open_files.get(fd)
    if opened is None:
        return None
    return Status(S_IFREG | 0o644, len(opened.data), ctx.process.files.inode(opened.data))


# what a path or a descriptor is, for the emulated libSystem's stat (Darwin's layout)
path_status = _path_status
fd_status = _fd_status


def _pack(word: int, large: bool, status: Status) -> bytes:
    blocks = (status.size + 511) // 512
    if word == 8:
        out = bytearray(144)
        struct.pack_into("<QQQIIIxxxxQqqq", out, 0, DEVICE, status.inode, status.links,
                         status.mode, UID, GID, 0, status.size, BLOCK, blocks)
        for at in (72, 88, 104):
            struct.pack_into("<qq", out, at, FIXED_TIME, 0)
        return bytes(out)
    if large:
        out = bytearray(96)
        struct.pack_into("<Q4xIIIIIQ4xqiq", out, 0, DEVICE, status.inode, status.mode,
                         status.links, UID, GID, 0, status.size, BLOCK, blocks)
        for at in (64, 72, 80):
            struct.pack_into("<ii", out, at, FIXED_TIME, 0)
        struct.pack_into("<Q", out, 88, status.inode)
        return bytes(out)
    if status.size >= 1 << 31:
        raise OverflowError  # stat on i386: EOVERFLOW, as glibc
    out = bytearray(88)
    struct.pack_into("<Q4xIIIIIQ4xiii", out, 0, DEVICE, status.inode, status.mode,
                     status.links, UID, GID, 0, status.size, BLOCK, blocks)
    for at in (56, 64, 72):
        struct.pack_into("<ii", out, at, FIXED_TIME, 0)
    return bytes(out)


def _answer(ctx: CallContext, status: Status | None, out: int, large: bool,
            missing: int) -> int:
    if status is None:
        set_errno(ctx, missing)
        return -1
    try:
        ctx.mem.write(out, _pack(ctx.word, large, status))
    except OverflowError:
        set_errno(ctx, 75)
        return -1
    return 0


def _by_path(name: str, large: bool) -> Export:
    def impl(ctx: CallContext) -> int:
        status = _path_status(ctx.process.files, ctx.mem.read_cstr(ctx.arg(0)))
        return _answer(ctx, status, ctx.arg(1), large, ENOENT)

    return Export(name, 2, impl)


def _by_fd(name: str, large: bool) -> Export:
    def impl(ctx: CallContext) -> int:
        status = _fd_status(ctx, ctx.arg(0) & 0xFFFFFFFF)
        return _answer(ctx, status, ctx.arg(1), large, EBADF)

    return Export(name, 2, impl)


def _at(name: str, large: bool) -> Export:
    """fstatat(dirfd, path, buf, flags): paths are taken from "/" whatever the dirfd."""

    def impl(ctx: CallContext) -> int:
        path = ctx.mem.read_cstr(ctx.arg(1))
        if not path:  # AT_EMPTY_PATH: the descriptor itself
            return _answer(ctx, _fd_status(ctx, ctx.arg(0) & 0xFFFFFFFF), ctx.arg(2), large,
                           EBADF)
        return _answer(ctx, _path_status(ctx.process.files, path), ctx.arg(2), large, ENOENT)

    return Export(name, 4, impl)


def _path_exists(ctx: CallContext) -> int:
    """chmod, chown, utime & co: 0 when the path names something, else ENOENT."""
    if _path_status(ctx.process.files, ctx.mem.read_cstr(ctx.arg(0))) is None:
        set_errno(ctx, ENOENT)
        return -1
    return 0


def access(ctx: CallContext) -> int:
    """F_OK, R_OK and W_OK hold for whatever exists (the guest owns every file); X_OK only
    for directories (no file here is a program to run)."""
    status = _path_status(ctx.process.files, ctx.mem.read_cstr(ctx.arg(0)))
    if status is None:
        set_errno(ctx, ENOENT)
        return -1
    if ctx.arg(1) & X_OK and not status.mode & S_IFDIR:
        set_errno(ctx, EACCES)
        return -1
    return 0


def getcwd(ctx: CallContext) -> int:
    """The working directory is "/" (relative paths are taken from it); ERANGE when the
    buffer is too small.  Given no buffer, a malloc'd one (the caller frees it, as pwd
    does): `size` bytes, or just enough when size is 0, as glibc's."""
    buf, size = ctx.arg(0), ctx.arg(1)
    if size and size < 2:
        set_errno(ctx, ERANGE)
        return 0
    if buf == 0:
        buf = ctx.process.ensure_heap().malloc(size or 2)
        if buf == 0:
            set_errno(ctx, ENOMEM)
            return 0
    ctx.mem.write(buf, b"/\0")
    return buf


def _fd_open(ctx: CallContext) -> int:
    """fchmod, fchown: 0 for an open descriptor, else EBADF."""
    if _fd_status(ctx, ctx.arg(0) & 0xFFFFFFFF) is None:
        set_errno(ctx, EBADF)
        return -1
    return 0


def _changes(names: tuple[str, ...], arity: int, impl: Callable[[CallContext], int]
             ) -> tuple[Export, ...]:
    return tuple(Export(name, arity, impl) for name in names)


# x86-64 has one struct stat (the *64 names are the same functions); on i386 the plain
# names fill the 32-bit struct stat and the *64 ones struct stat64
EXPORTS = (
    _by_path("stat", large=False),
    _by_path("lstat", large=False),
    _by_path("stat64", large=True),
    _by_path("lstat64", large=True),
    _by_fd("fstat", large=False),
    _by_fd("fstat64", large=True),
    _at("fstatat", large=False),
    _at("fstatat64", large=True),
    *_changes(("chmod", "utime", "utimes"), 2, _path_exists),
    *_changes(("chown", "lchown"), 3, _path_exists),
    Export("access", 2, access),
    Export("euidaccess", 2, access),
    Export("getcwd", 2, getcwd),
    Export("fchmod", 2, _fd_open),
    Export("fchown", 3, _fd_open),
)
