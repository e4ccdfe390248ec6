"""The per-run in-memory file system that stdio on files works against.

A run starts with an empty file system, or with a copy of the regular files under a
directory the caller names (read once, at the start; nothing is ever written back), and
the file system is thrown away with the run: nothing a guest does reaches the host's
files.  Paths are guest paths: relative ones are taken from "/" (the guest's working
directory), "." and ".." are resolved textually, and a seeded file F under the directory
is "/F".  There are no directories to create, no permissions and no links: a path names
a file or nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ENOENT, EBADF, EEXIST, EINVAL, ENOSPC, ESPIPE = 2, 9, 17, 22, 28, 29
O_CREAT, O_EXCL, O_TRUNC, O_APPEND = 0o100, 0o200, 0o1000, 0o2000  # Linux x86, both ABIs
MAX_SEED_BYTES = 64 << 20  # a seed directory larger than this is refused, not half-read
MAX_FILE_BYTES = 64 << 20  # a guest file that would grow past this fails with ENOSPC


class SeedError(Exception):
    """The seed directory cannot be taken in (too large, unreadable)."""


@dataclass
class OpenFile:
    """An open file description: the file's bytes (shared with the file system while the
    file exists there), a position and what the opening mode allows."""

    data: bytearray
    readable: bool
    writable: bool
    append: bool
    position: int = 0
    eof: bool = False
    error: bool = False
    pushed_back: bytearray = field(default_factory=bytearray)  # ungetc, last pushed first

    def read(self, size: int, *, line: bool = False) -> bytes:
        """Up to `size` bytes from the position (through the first newline with `line`);
        sets eof when the end stops the read short."""
        if not self.readable:
            self.error = True
            return b""
        out = bytearray()
        while self.pushed_back and len(out) < size:
            out.append(self.pushed_back.pop())
            if line and out.endswith(b"\n"):
                return bytes(out)
        want = size - len(out)
        chunk = self.data[self.position : self.position + want]
        if line:
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunk = chunk[: newline + 1]
        self.position += len(chunk)
        out += chunk
        if len(out) < size and not (line and out.endswith(b"\n")):
            self.eof = True
        return bytes(out)

    def write(self, data: bytes) -> int:
        """Write at the position (at the end in append mode); bytes written, or -1."""
        if not self.writable:
            self.error = True
            return -1
        if self.append:
            self.position = len(self.data)
        end = self.position + len(data)
        if end > MAX_FILE_BYTES:
            self.error = True
            return -1
        if self.position > len(self.data):
            self.data.extend(bytes(self.position - len(self.data)))
        self.data[self.position : end] = data
        self.position = end
        self.pushed_back.clear()
        return len(data)

    def seek(self, offset: int, whence: int) -> int:
        """lseek: SEEK_SET 0, SEEK_CUR 1, SEEK_END 2; the new position or -EINVAL."""
        base = {0: 0, 1: self.position - len(self.pushed_back), 2: len(self.data)}.get(whence)
        if base is None or base + offset < 0:
            return -EINVAL
        self.position = base + offset
        self.pushed_back.clear()
        self.eof = False
        return self.position

    def tell(self) -> int:
        return max(0, self.position - len(self.pushed_back))


class MemoryFiles:
    """The file system of one run: path -> the file's bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytearray] = {}
        # Bytes let go since the process last settled its memory cap: truncated, or of a
        # removed or replaced file no descriptor holds (see Process.hold_file_bytes).
        self.freed = 0
        # stat's inode numbers: one per file's bytes, whether reached by a path or an open
        # descriptor (sqlite compares the two to see that its database was not moved)
        self.inodes: dict[int, int] = {}

    def inode(self, data: bytearray) -> int:
        return self.inodes.setdefault(id(data), len(self.inodes) + 2)

    @staticmethod
    def seeded(directory: str | Path) -> MemoryFiles:
        """A file system holding a copy of every regular file under `directory` (symbolic
        links are skipped: a seed is the directory's own files, nothing outside it)."""
        fs = MemoryFiles()
        root = Path(directory)
        if not root.is_dir():
            raise SeedError(f"{root}: not a directory")
        total = 0
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size  # before reading: a 3 GiB sparse file took 21 s
            if total > MAX_SEED_BYTES:
                raise SeedError(f"{root}: more than {MAX_SEED_BYTES} bytes of files")
            data = path.read_bytes()
            total += len(data) - path.stat().st_size  # a file that grew while being read
            if total > MAX_SEED_BYTES:
                raise SeedError(f"{root}: more than {MAX_SEED_BYTES} bytes of files")
            fs.files["/" + path.relative_to(root).as_posix()] = bytearray(data)
        return fs

    @staticmethod
    def normalize(path: bytes) -> str:
        text = path.decode("utf-8", "surrogateescape")
        return posixpath.normpath(posixpath.join("/", text)).replace("//", "/")

    def open(self, path: bytes, mode: bytes) -> OpenFile | int:
        """fopen's modes (r, w, a, each with + and b; x with w): the open file, or an errno."""
        kind, plus, exclusive = mode[:1], b"+" in mode, b"x" in mode
        if kind not in (b"r", b"w", b"a") or not path:
            return EINVAL if kind not in (b"r", b"w", b"a") else ENOENT
        name = self.normalize(path)
        data = self.files.get(name)
        if kind == b"r":
            if data is None:
                return ENOENT
        elif data is not None and exclusive:
            return EEXIST
        elif data is None or kind == b"w":
            if data is None:
                data = self.files[name] = bytearray()
            else:
                self.freed += len(data)
                del data[:]
        return OpenFile(data, readable=kind == b"r" or plus, writable=kind != b"r" or plus,
                        append=kind == b"a")

    def open_flags(self, path: bytes, flags: int) -> OpenFile | int:
        """open(2)'s flags (O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND;
        the rest, O_CLOEXEC or O_LARGEFILE, change nothing here): the file, or an errno."""
        access = flags & 3
        if access == 3:
            return EINVAL
        if not path:
            return ENOENT
        name = self.normalize(path)
        data = self.files.get(name)
        if data is None:
            if not flags & O_CREAT:
                return ENOENT
            data = self.files[name] = bytearray()
        elif flags & O_CREAT and flags & O_EXCL:
            return EEXIST
        if flags & O_TRUNC and access != 0:
            self.freed += len(data)
            del data[:]
        return OpenFile(data, readable=access != 1, writable=access != 0,
                        append=bool(flags & O_APPEND))

    def remove(self, path: bytes, in_use: Callable[[bytearray], bool] = lambda data: False
               ) -> int:
        """0, or an errno.  `in_use`: whether an open descriptor still holds a file's bytes
        (they are not freed then)."""
        data = self.files.pop(self.normalize(path), None)
        if data is None:
            return ENOENT
        self._let_go(data, in_use)
        return 0

    def rename(self, old: bytes, new: bytes,
               in_use: Callable[[bytearray], bool] = lambda data: False) -> int:
        data = self.files.pop(self.normalize(old), None)
        if data is None:
            return ENOENT
        replaced = self.files.get(self.normalize(new))
        self.files[self.normalize(new)] = data
        if replaced is not None and replaced is not data:
            self._let_go(replaced, in_use)
        return 0

    def _let_go(self, data: bytearray, in_use: Callable[[bytearray], bool]) -> None:
        if not in_use(data) and all(kept is not data for kept in self.files.values()):
            self.freed += len(data)
