"""The warm link server behind the `ld`/`ld64` shims (issue 15: small links).

A small link through `gcc -B` is mostly the linker's process starting: Python, numpy and
the linker's modules, about 85 ms where GNU ld takes 12 ms for the whole link.  This server
pays that once: it imports every module a link can need, then waits on a Unix socket, and
forks a fresh child for each request.  The child takes the client's standard streams
(passed as descriptors), working directory, environment, umask and command line, and
runs exactly what `python -m linker` (or `-m linker.macho`) runs (`linker/process.py`),
ending with its exit status, which it reports to the client before it is torn down (the
parent reports it when the child died without a word).  The parent
never links, so nothing one link does (caches, global state) is seen by the next.  The
child's side, and the protocol, are `link_server_child.py`.

    python -m linker.link_server serve --socket PATH   # what the C client starts
    linkharness server status | stop                   # linker/link_server_command.py

The client (`linker/link_client.c`, compiled by `linker/shim.py`) starts a server when
none answers, and links directly that time; anything that keeps the server from taking
a link falls back to the direct process.  The server lives in a private directory, under
a name that says which code it imported (`link_server_identity.py`), exits after
LINKHARNESS_SERVER_IDLE seconds without a request (default 300) and within seconds of
that code changing or its socket going away, and kills a link whose client went away
(Ctrl-C, a build's timeout): SIGINT first, so the link removes its staged output, then
SIGKILL.
"""

from __future__ import annotations

import fcntl
import gc
import os
import select
import signal
import socket
import stat
import sys
import time
from dataclasses import dataclass

from . import link_server_child
from .link_server_child import STATUS
from .link_server_identity import package_root, tree_hash, tree_in_name

DEFAULT_IDLE_S = 300.0
CHECK_EVERY_S = 2.0  # how often the parent looks at its code and its socket
KILL_GRACE_S = 2.0  # between SIGINT and SIGKILL for a link whose client is gone
AFTER_LIMIT_S = 60.0  # the longest a new server waits for the link that started it


def idle_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("LINKHARNESS_SERVER_IDLE", DEFAULT_IDLE_S)))
    except ValueError:
        return DEFAULT_IDLE_S


# -- start-up ---------------------------------------------------------------------------------

def private_directory(directory: str) -> bool:
    """Make DIRECTORY (0700) if need be; whether it is ours and no one else's."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        status = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and \
        status.st_mode & 0o077 == 0


def preload() -> None:
    """Import every module a link may need, and give every record its compiled methods,
    so that a child starts linking at once.  Nothing here links."""
    import importlib
    for module in ("hashlib", "shlex", "traceback", "ctypes", "json", "tempfile", "resource"):
        importlib.import_module(module)
    top = os.path.join(package_root(), "linker")
    for directory, subdirectories, files in os.walk(top):  # elf/ is a namespace package
        subdirectories[:] = [d for d in subdirectories if d.isidentifier()]
        package = os.path.relpath(directory, os.path.dirname(top)).replace(os.sep, ".")
        for name in sorted(files):
            if name.endswith(".py") and name != "__main__.py":  # __main__ runs a link
                module = package if name == "__init__.py" else f"{package}.{name[:-3]}"
                try:
                    importlib.import_module(module)
                except ImportError:  # an optional dependency (zstandard): imported on use
                    pass
    from . import records
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "__name__", "").startswith("linker"):
            for value in list(vars(loaded).values()):
                if isinstance(value, type) and vars(value).get("__repr__") is records._repr:
                    records._install_compiled_methods(value)
    records.save_compiled()
    link_server_child.find_prctl()


@dataclass
class _Link:
    """A child the parent watches: its process, and the client's connection."""

    pid: int
    pidfd: int
    conn: socket.socket
    kill_at: float | None = None  # set once the client is gone


class Server:
    def __init__(self, path: str, lock_fd: int, tree: int, idle_s: float) -> None:
        self.path, self.lock_fd, self.tree, self.idle_s = path, lock_fd, tree, idle_s
        self.started = time.time()
        self.requests = 0
        self.links: dict[int, _Link] = {}  # by pidfd and by connection descriptor
        self.poller = select.poll()
        self.listener: socket.socket | None = None
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.stopping = False

    def listen(self) -> None:
        with_name = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(self.path)  # a dead server's: we hold the lock
        except FileNotFoundError:
            pass
        with_name.bind(self.path)
        with_name.listen(128)
        with_name.setblocking(False)
        self.listener = with_name
        self.inode = os.stat(self.path).st_ino
        self.poller.register(with_name.fileno(), select.POLLIN)
        self.poller.register(self.wake_r, select.POLLIN)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wake_w)

    def run(self) -> None:
        last_activity = time.monotonic()
        next_check = last_activity + CHECK_EVERY_S
        try:
            while True:
                now = time.monotonic()
                if not self.links and (self.stopping or now - last_activity >= self.idle_s):
                    return
                if now >= next_check:
                    next_check = now + CHECK_EVERY_S
                    if not self.stopping and self._stale():
                        self._stop_listening()
                deadline = min([next_check, last_activity + self.idle_s] +
                               [link.kill_at for link in self.links.values() if link.kill_at])
                events = self.poller.poll(max(0, int((deadline - now) * 1000)) + 1)
                for fd, _ in events:
                    last_activity = time.monotonic()
                    self._event(fd)
                self._escalate_kills()
        finally:
            self._stop_listening()

    def _event(self, fd: int) -> None:
        if self.listener is not None and fd == self.listener.fileno():
            self._accept()
        elif fd == self.wake_r:
            while True:
                try:
                    if not os.read(self.wake_r, 64):
                        break
                except BlockingIOError:
                    break
            self._stop_listening()
        elif fd in self.links:
            link = self.links[fd]
            if fd == link.pidfd:
                self._reap(link)
            else:  # the client hung up before its link ended
                self.poller.unregister(fd)
                if link.kill_at is None:
                    self._kill(link, signal.SIGINT)
                    link.kill_at = time.monotonic() + KILL_GRACE_S

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.requests += 1
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: this client links directly
            conn.close()
            return
        if pid == 0:
            link_server_child.serve_request(conn, self)  # never returns
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # out of descriptors: a child that cannot be watched goes (its
            os.kill(pid, signal.SIGKILL)  # client, finding no status, links directly)
            os.waitpid(pid, 0)
            conn.close()
            return
        link = _Link(pid, pidfd, conn)
        self.links[link.pidfd] = self.links[conn.fileno()] = link
        self.poller.register(link.pidfd, select.POLLIN)
        self.poller.register(conn.fileno(), select.POLLRDHUP)  # never POLLIN: the child reads

    def _reap(self, link: _Link) -> None:
        _, wait_status, usage = os.wait4(link.pid, 0)
        code = os.waitstatus_to_exitcode(wait_status)
        cost = (round(usage.ru_utime * 1e6), round(usage.ru_stime * 1e6), usage.ru_maxrss)
        try:
            link.conn.sendall(STATUS.pack(0, code, *cost) if code >= 0 else
                              STATUS.pack(1, -code, *cost))
        except OSError:  # the client is gone
            pass
        for fd in (link.pidfd, link.conn.fileno()):
            self.links.pop(fd, None)
            try:
                self.poller.unregister(fd)
            except KeyError:
                pass
        os.close(link.pidfd)
        link.conn.close()

    def _kill(self, link: _Link, signum: int) -> None:
        try:
            signal.pidfd_send_signal(link.pidfd, signum)
        except ProcessLookupError:
            pass

    def _escalate_kills(self) -> None:
        now = time.monotonic()
        for link in list(self.links.values()):
            if link.kill_at is not None and now >= link.kill_at:
                self._kill(link, signal.SIGKILL)
                link.kill_at = now + KILL_GRACE_S

    def _stale(self) -> bool:
        """The code changed, or the socket is no longer ours (removed or replaced)."""
        try:
            ours = os.stat(self.path).st_ino == self.inode
        except OSError:
            ours = False
        return not ours or tree_hash() != self.tree

    def _stop_listening(self) -> None:
        """No new links (those running finish): the name goes first, then the socket."""
        self.stopping = True
        if self.listener is None:
            return
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass
        self.poller.unregister(self.listener.fileno())
        self.listener.close()
        self.listener = None

    def own_descriptors(self) -> list[int]:
        fds = [self.lock_fd, self.wake_r, self.wake_w, *self.links]
        if self.listener is not None:
            fds.append(self.listener.fileno())
        return fds


def serve(path: str, after: int | None = None) -> int:
    """Be the server at PATH, until idle, stale or stopped; 0 also when another server
    holds PATH's lock (two clients started one at once) or the code changed meanwhile.
    With AFTER, the heavy imports wait until that process (the link that started us,
    running directly) has ended, for at most a minute: the first link of a build is not
    slowed down by its server's start."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads, as a link does
    tree = tree_in_name(path)
    if tree is None or not private_directory(os.path.dirname(path)):
        return 1
    lock_fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0
    if not _same_file(lock_fd, path + ".lock"):
        return 0  # the lock file we hold was removed meanwhile: another is the server
    try:
        return _serve_locked(path, lock_fd, tree, after)
    finally:  # one lock file per identity would pile up; removed while still held
        if _same_file(lock_fd, path + ".lock"):
            os.unlink(path + ".lock")


def _serve_locked(path: str, lock_fd: int, tree: int, after: int | None) -> int:
    if tree_hash() != tree:
        return 0  # the code changed since the client looked
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return 1  # something else has our name: the shims link directly
    except FileNotFoundError:
        pass
    os.ftruncate(lock_fd, 0)
    os.pwrite(lock_fd, f"{os.getpid()}\n".encode(), 0)
    if after is not None:
        _wait_for_exit(after, AFTER_LIMIT_S)
    preload()
    if tree_hash() != tree:  # edited while we imported
        return 0
    gc.disable()  # as a link runs; and frozen, so no child's collection walks the modules
    gc.freeze()
    server = Server(path, lock_fd, tree, idle_seconds())
    server.listen()
    server.run()
    return 0


def _wait_for_exit(pid: int, limit_s: float) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # gone already
        return
    try:
        select.select([pidfd], [], [], limit_s)
    finally:
        os.close(pidfd)


def _same_file(fd: int, path: str) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) in (3, 5) and args[0] == "serve" and args[1] == "--socket":
        after = int(args[4]) if len(args) == 5 and args[3] == "--after" else None
        return serve(args[2], after)
    from .link_server_command import server_command
    return server_command(args)


if __name__ == "__main__":
    sys.exit(main())
