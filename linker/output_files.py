"""Writing a link's files all or nothing: the output and its maps.

A link that fails leaves nothing behind, and one that cannot write any of its files has
failed.  So every file is first written in full to a private temporary file beside its
destination, and only when all of them are written are they renamed into place; an error
on the way removes the temporaries and is one LinkError line naming the file.

A destination that exists and is not a regular file is written in place rather than
replaced: `-o /dev/null` (configure scripts link to it) must write to the device, not swap
the device node for a regular file, which as root would break every program on the
machine.  Such a destination is opened without blocking, so a FIFO no one reads is an
error rather than a hang.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .errors import LinkError
from .records import dataclass


@dataclass(frozen=True)
class OutputFile:
    """One file a link writes: `role` names it in errors ("output", "map file")."""

    path: str
    data: bytes | bytearray
    role: str = "output"
    executable: bool = False


def refuse_output_among_inputs(inputs: Sequence[str | os.PathLike[str]],
                               output: str | os.PathLike[str]) -> None:
    """GNU ld's rule: a file named both as an input and as the output is refused ("input
    file 'x' is the same as output file"), by file identity, so that a symbolic link or
    another spelling of the path is caught too.  Linking it would replace an object the
    user still needs with the executable made from it.  One stat when the output does not
    exist yet (the usual first build); one per named input when it does."""
    try:
        out = os.stat(output)
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(out.st_mode):  # -o /dev/null: a device is written, never replaced
        return
    for item in inputs:
        path = os.fspath(item)
        if path.startswith("-"):  # a positional option (-lNAME, --as-needed ...)
            continue
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue  # the reader reports a missing input
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise LinkError("input file is the same as output file", file=path)


def write_all(files: Sequence[OutputFile]) -> None:
    """Write every file, or (raising LinkError) none of them."""
    files = _distinct_destinations(files)
    staged: list[tuple[OutputFile, str]] = []  # (file, temporary path) to rename
    in_place: list[tuple[OutputFile, int]] = []  # (file, open descriptor) to write
    try:
        for out in files:
            fd = _open_in_place(out)
            if fd is not None:
                in_place.append((out, fd))
            else:
                staged.append((out, _stage(out)))
        # Devices first: a write to one can fail (/dev/full: ENOSPC) and cannot be taken
        # back, so it must fail before any staged file is renamed into place.
        for out, fd in in_place:
            with _reported(out):
                _write_fd(fd, out.data)
        _rename_all(staged)
    finally:
        for _, fd in in_place:
            os.close(fd)
        for _, tmp in staged:  # those not renamed: a write or rename failed
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _distinct_destinations(files: Sequence[OutputFile]) -> list[OutputFile]:
    """One file per destination, the first named (the output, then the maps): GNU ld and
    lld write a map named as the output before the output, so the output wins.  Renamed in
    turn, the map would have replaced the executable just written, and the link reported
    success."""
    if len(files) < 2:
        return list(files)
    kept: dict[str, OutputFile] = {}
    for out in files:
        kept.setdefault(os.path.realpath(out.path), out)
    return list(kept.values())


def _rename_all(staged: list[tuple[OutputFile, str]]) -> None:
    """Rename every staged file into place, or none: a later rename can fail where the
    staging did not (a map's name too long for the file system: ENAMETOOLONG), and then
    the files already renamed are taken back, each destination as it was before (a file
    that existed is kept by a hard link until the end).  Renamed entries leave `staged`."""
    done: list[tuple[str, str | None]] = []  # (destination, its earlier file's link)
    try:
        while staged:
            out, tmp = staged[0]
            with _reported(out):
                backup = _keep_existing(out.path, tmp)
                done.append((out.path, backup))
                os.replace(tmp, out.path)
            staged.pop(0)
    except BaseException:
        if staged and done and done[-1][0] == staged[0][0].path:
            _, backup = done.pop()  # its rename failed: nothing to take back but the link
            if backup is not None:
                _remove(backup)
        for path, backup in reversed(done):
            if backup is not None:
                os.replace(backup, path)
            else:
                _remove(path)
        raise
    for _, backup in done:
        if backup is not None:
            _remove(backup)


def _keep_existing(path: str, tmp: str) -> str | None:
    """A hard link to the regular file at `path` (to restore it), or None if there is
    none.  The link is made beside the staged file, so in the same directory."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
    except OSError:
        return None
    backup = tmp + ".old"
    try:
        os.link(path, backup)
    except OSError:  # no hard links here (or not allowed): replaced without a way back
        return None
    return backup


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def _reported(out: OutputFile) -> Iterator[None]:
    """An OSError while writing `out` becomes the link's one-line error naming it."""
    try:
        yield
    except OSError as e:
        raise LinkError(f"cannot write {out.role}: {e.strerror}", file=out.path) from None


def _open_in_place(out: OutputFile) -> int | None:
    """An open descriptor for a destination that is a device or FIFO; None for anything
    to be replaced by rename (no file yet, a regular file, a symbolic link's target)."""
    try:
        info = os.stat(out.path)
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISDIR(info.st_mode):
        raise LinkError(f"cannot write {out.role}: {os.strerror(errno.EISDIR)}", file=out.path)
    with _reported(out):  # a FIFO with no reader: ENXIO
        fd = os.open(out.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def _stage(out: OutputFile) -> str:
    """The file's bytes in a new private file beside the destination; its path."""
    directory = os.path.dirname(os.path.abspath(out.path))
    fd, tmp = _create_beside(out, directory)
    try:
        with _reported(out):  # a full disk, a quota
            try:  # os calls: a buffered file object costs a small link µs
                _write_fd(fd, out.data)
                # the mode a plain create gives (GNU ld's too): 0666 or, executable, 0777
                # under the umask; the staging file's 0600 left a -r object or a map
                # unreadable to others
                mask = os.umask(0)
                os.umask(mask)
                os.fchmod(fd, (0o777 if out.executable else 0o666) & ~mask)
            finally:
                os.close(fd)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _create_beside(out: OutputFile, directory: str) -> tuple[int, str]:
    """A new private file in `directory`, as tempfile.mkstemp makes one (O_EXCL, mode
    0600) without importing tempfile, whose imports cost a small link a few ms."""
    with _reported(out):  # a missing or read-only directory
        while True:
            tmp = os.path.join(directory, f".linkharness-{os.getpid()}-{os.urandom(6).hex()}")
            try:
                return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                               0o600), tmp
            except FileExistsError:
                continue


def _write_fd(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
