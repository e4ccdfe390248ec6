"""Where the fuzz properties make their per-example directories.

Every example writes its objects, has the linker write an executable beside them, lets the
judges read it back, and has its directory removed a few examples later.  On a disk file
system that churn is real CPU work (a journal, and block discards on removal where the
file system is mounted `discard`): measured here, about 0.2 ms of CPU an example on
ext4, some 2% of property (a), against about half that on a RAM file system.  So the
scratch goes to /dev/shm when that is a usable RAM file system: writable, not mounted
noexec (the properties run their outputs natively) and with room to spare.

LINKHARNESS_FUZZ_TMP names another parent directory; set to the empty string, it keeps
Python's default temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import defaultdict, deque
from pathlib import Path

RAM_DIR = Path("/dev/shm")
ENV = "LINKHARNESS_FUZZ_TMP"
MIN_FREE = 256 << 20  # a campaign keeps 16 directories a name; leave room for others


def scratch_parent() -> str | None:
    """The directory to make fuzz scratch directories in (None: tempfile's default)."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return chosen or None
    return str(RAM_DIR) if _usable(RAM_DIR) else None


def _usable(directory: Path) -> bool:
    try:
        fs = os.statvfs(directory)
    except OSError:
        return False
    if fs.f_flag & (os.ST_NOEXEC | os.ST_RDONLY):
        return False
    return fs.f_bavail * fs.f_frsize >= MIN_FREE and os.access(directory, os.W_OK | os.X_OK)


def make_scratch(prefix: str) -> Path:
    """A new directory for one session's (or one benchmark's) examples."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_parent()))


class RecyclingDirs:
    """The fuzz properties' `tmp_path_factory` (the same `mktemp` and `getbasetemp`).

    pytest's own factory lives on the pytest config, which HypoFuzz has already torn down
    when it fuzzes (it collects with `pytest --collect-only` and then calls the properties
    itself); and a campaign draws more examples than a disk holds directories.  So each
    basename keeps only its latest KEEP directories: every property uses its directory within
    one example, and a failure's files stay for the messages that name them."""

    KEEP = 16

    def __init__(self, base: Path) -> None:
        self._base = base
        self._made: dict[str, deque[Path]] = defaultdict(deque)
        self._count: dict[str, int] = defaultdict(int)

    def getbasetemp(self) -> Path:
        return self._base

    def mktemp(self, basename: str, numbered: bool = True) -> Path:
        """A new directory: `basename-N`, numbered in this process (the base directory is
        this session's own, so no other process makes names in it; every property makes
        one per example, and mkdtemp's random names and retries cost more)."""
        if numbered:
            self._count[basename] += 1
            path = self._base / f"{basename}-{self._count[basename]}"
            try:
                path.mkdir()
            except FileExistsError:  # a name made otherwise (numbered=False)
                path = Path(tempfile.mkdtemp(prefix=f"{basename}-", dir=self._base))
        else:
            path = self._base / basename
            path.mkdir()
        made = self._made[basename]
        made.append(path)
        while len(made) > self.KEEP:
            _remove_tree(made.popleft())
        return path


def _remove_tree(path: Path) -> None:
    """What shutil.rmtree(path, ignore_errors=True) does to the small trees of an example
    (a few files, a directory or two), in a third less time: no symbolic link is followed,
    and whatever cannot be removed stays."""
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    _remove_tree(Path(entry.path))
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
