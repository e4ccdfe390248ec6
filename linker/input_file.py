"""Reading a named input without hanging on it: the one way the linker opens a file.

A plain `open()` blocks on a FIFO until some process opens it for writing, and a character
device such as /dev/zero never reaches end of file, so a stray name on a command line could
hang a link or grow its memory without bound.  Every input is opened non-blocking; a
regular file is then read (or mapped, when large) as usual, and anything else (a pipe from a
shell's `<(...)`, a FIFO, a device) is read as a stream with blocking restored, up to a cap:
a FIFO that no one writes reads as empty, and a stream past the cap is refused.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import stat

from .errors import LinkError

# A stream (not a regular file) may give at most this much: objects piped to a linker are
# small, and a device such as /dev/zero would otherwise be read for ever.
STREAM_LIMIT = 64 << 20
# A script, symbol list, version script or dynamic list is text a person or a build wrote:
# megabytes at most.
TEXT_LIMIT = 64 << 20


def read_input(path: str, map_at_least: int | None = None) -> bytes | mmap.mmap:
    """The bytes of `path`: a read-only map of a regular file of `map_at_least` bytes or
    more, else read whole.  Raises OSError as `open` would (a directory: EISDIR), and
    LinkError for a stream longer than STREAM_LIMIT."""
    read = read_input_status(path, map_at_least)
    assert read is not None
    return read[0]


def read_input_status(path: str, map_at_least: int | None = None, only_regular: bool = False
                      ) -> tuple[bytes | mmap.mmap, os.stat_result] | None:
    """`read_input` and the file's status (its identity, for a loader that meets one file
    under two names); None for anything but a regular file when `only_regular`.  Read
    through os calls: a buffered file object costs every input of a small link µs."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            if map_at_least is not None and info.st_size >= map_at_least:
                try:
                    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ), info
                except (OSError, ValueError):
                    pass  # a file system that cannot map: read it
            chunks: list[bytes] = []
            while True:  # to the end: one read, and one more that finds the end
                chunk = os.read(fd, info.st_size + 1)
                if not chunk:
                    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), info
                chunks.append(chunk)
        if only_regular:
            return None
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        return _read_stream(fd, path), info
    finally:
        os.close(fd)


def read_input_text(path: str) -> str:
    """A text input (script, symbol list, version script): bytes that are not UTF-8 pass
    through as surrogate escapes, as names in objects do.  At most TEXT_LIMIT bytes (a
    5 GiB sparse --dynamic-list was read whole, past the address-space limit)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # read_input says why
    if size > TEXT_LIMIT:
        raise LinkError(f"a text input of {size} bytes (at most {TEXT_LIMIT})", file=path)
    data = read_input(path)
    return bytes(data).decode("utf-8", errors="surrogateescape")


def _read_stream(fd: int, path: str) -> bytes:
    # Blocking again: a writer that is still producing is waited for; with no writer at
    # all, read() gives end of file at once.
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > STREAM_LIMIT:
            raise LinkError(f"cannot read input: it is not a regular file and gives more than "
                            f"{STREAM_LIMIT >> 20} MiB", file=path)
        chunks.append(chunk)
