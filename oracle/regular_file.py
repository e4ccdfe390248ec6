"""Reading a file the oracle is asked to judge, without hanging on it.

`open()` blocks on a FIFO until someone writes to it, and a device such as /dev/zero never
ends, so `linkharness check` or `run` given such a name would hang or grow without bound.
The files the oracle judges are executables, libraries and objects on disk: anything but a
regular file is refused, as an OSError that says so.  The file is opened non-blocking so
that even the refusal cannot wait.
"""

from __future__ import annotations

import errno
import os
import stat

NOT_REGULAR = "not a regular file (a FIFO, device or socket)"


# Past this the oracle does not read a file whole (unless its caller says otherwise): the
# checker's rules scan the whole file, and a 5 GiB sparse file once took 50 s and 5 GB of
# memory in `linkharness check`.  The executables the harness judges are megabytes.
ORACLE_FILE_LIMIT = 256 << 20


class FileTooLarge(OSError):
    """The file is larger than the caller's limit; `size` is its length in bytes.  An
    OSError (EFBIG), so that a judge reporting unreadable files reports this one too."""

    def __init__(self, size: int, limit: int = ORACLE_FILE_LIMIT) -> None:
        super().__init__(errno.EFBIG, f"file of {size} bytes is larger than the oracle "
                         f"reads ({limit} bytes)")
        self.size = size


def read_regular(path: str | os.PathLike[str], limit: int | None = ORACLE_FILE_LIMIT
                 ) -> bytes:
    """The bytes of the regular file at `path`.  OSError when it is not one; when it is
    larger than `limit` (None: no limit), FileTooLarge (the caller may word the rule)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, NOT_REGULAR, os.fspath(path))
        if limit is not None and info.st_size > limit:
            raise FileTooLarge(info.st_size, limit)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        return f.read()


def read_head(path: str | os.PathLike[str], size: int) -> bytes:
    """The first `size` bytes of a regular file, for telling formats apart; b"" for
    anything that cannot be read or is not a regular file (so it is no format at all)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        return os.pread(fd, size, 0) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(fd)
