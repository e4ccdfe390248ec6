"""The warm link server behind the `ld`/`ld64` shims (issue 15: small links).

A small link through `gcc -B` is mostly the linker's process starting: Python, numpy and
the linker's modules, about 85 ms where GNU ld takes 12 ms for the whole link.  This server
pays that once: it imports every module a link can need, then waits on a Unix socket, and
forks a fresh child for each request.  The child takes the client's standard streams
(passed as descriptors), working directory, environment, umask and command line, and
runs exactly what `python -m linker` (or `-m linker.macho`) runs (`linker/process.py`),
ending with its exit status, which it reports to the client before it is torn down (the
parent reports it when the child died without a word).  The parent
never links, so nothing one link does (caches, global state) is seen by the next.

    python -m linker.link_server serve --socket PATH   # what the C client starts
    linkharness server status | stop

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
import io
import os
import select
import signal
import socket
import stat
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from .link_server_identity import (
    fallback_directory,
    package_root,
    socket_directory,
    socket_path,
    tree_hash,
    tree_in_name,
)

# The client's request: magic, kind, umask, mask of the standard streams it passes, argument
# and environment counts, a reserved word, payload length (the NUL-ended strings).  Once
# a child has read it and sent its ACK, the client sends one byte carrying the
# descriptors (SCM_RIGHTS): the streams in the mask's order, then the working directory.
# Last, the parent sends the child's exit status.
REQUEST = struct.Struct("<8s6IQ")
REQUEST_MAGIC = b"LHLINK2\0"  # as the client's: a client of another protocol links directly
ACK = struct.Struct("<4si")  # b"LHOK", the child's pid
# (0, exit code) or (1, signal number), then the child's user and system CPU time (µs) and
# peak RSS (KiB): a client asked to (LINKHARNESS_SERVER_RUSAGE=FILE) writes them down, for
# bench/link_speed.py, whose own timing of the client sees none of the link's work.
STATUS = struct.Struct("<iiqqq")
KIND_STATUS, KIND_LD, KIND_LD64 = 0, 1, 2
MAX_FDS = 4

DEFAULT_IDLE_S = 300.0
CHECK_EVERY_S = 2.0  # how often the parent looks at its code and its socket
KILL_GRACE_S = 2.0  # between SIGINT and SIGKILL for a link whose client is gone
REQUEST_TIMEOUT_S = 60.0
AFTER_LIMIT_S = 60.0  # the longest a new server waits for the link that started it  # for the child to read a request (the client sends it at once)
_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None = None  # libc's, looked up once by the server


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
    global _prctl
    try:
        import ctypes
        _prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):  # not glibc: a link outlives a killed server
        _prctl = None


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
            _child(conn, self)  # never returns
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
    if tree_hash() != tree or not _same_file(lock_fd, path + ".lock"):
        return 0  # the code changed, or the lock file we hold was removed meanwhile
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
    try:
        server.listen()
        server.run()
    finally:  # one lock file per identity would pile up; removed while still held
        if _same_file(lock_fd, path + ".lock"):
            os.unlink(path + ".lock")
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


# -- the child: one request ---------------------------------------------------------------

def _child(conn: socket.socket, server: Server) -> None:
    code = 1
    try:
        code = _handle(conn, server)
    except BaseException:  # noqa: BLE001 -- a child never returns into the server's loop
        code = 1
    os._exit(code)


def _handle(conn: socket.socket, server: Server) -> int:
    parent = os.getppid()
    for fd in server.own_descriptors():
        if fd != conn.fileno():
            try:
                os.close(fd)
            except OSError:
                pass
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the server gone, so is its link
    if os.getppid() != parent:
        return 1
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    if struct.unpack("3i", creds)[1] != os.getuid():
        return 1
    conn.settimeout(REQUEST_TIMEOUT_S)
    magic, kind, umask, fd_mask, argc, envc, _, size = REQUEST.unpack(
        _read_exact(conn, REQUEST.size))
    if magic != REQUEST_MAGIC:
        return 1
    if kind == KIND_STATUS:
        conn.sendall(_status_line(server).encode())
        return 0
    words = _read_exact(conn, size).split(b"\0")[:-1]
    if len(words) != argc + envc or kind not in (KIND_LD, KIND_LD64):
        return 1
    conn.sendall(ACK.pack(b"LHOK", os.getpid()))
    # Then the descriptors: the client's standard streams (those it has open) and its
    # working directory, with one byte.
    byte, fds, _, _ = socket.recv_fds(conn, 1, MAX_FDS)
    streams = [fd for fd in range(3) if fd_mask >> fd & 1]
    if byte != b"F" or len(fds) != len(streams) + 1:
        return 1
    conn.settimeout(None)
    _become_the_client(fds, streams, umask, words[argc:])
    main_file = os.path.join(package_root(), "linker", *(["macho"] if kind == KIND_LD64 else []),
                             "__main__.py")
    sys.argv = [main_file, *map(os.fsdecode, words[:argc])]
    from . import process

    def report_exit(code: int) -> None:
        """The status, sent by the child itself so that the client is on its way while
        this process is torn down; the parent's, sent after reaping, then finds the client
        gone (it reads one)."""
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF)
        try:
            conn.sendall(STATUS.pack(0, code, round(usage.ru_utime * 1e6),
                                     round(usage.ru_stime * 1e6), usage.ru_maxrss))
        except OSError:
            pass
    process.report_exit = report_exit
    if kind == KIND_LD64:
        process.ld64_main()
    process.ld_main()


def _read_exact(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the client hung up mid-request")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _become_the_client(fds: list[int], streams: list[int], umask: int,
                       environment: list[bytes]) -> None:
    """The client's standard streams, working directory, umask and environment."""
    for fd in range(3):
        if fd not in streams:
            os.close(fd)
    for fd, received in zip(streams, fds):
        os.dup2(received, fd)
    os.fchdir(fds[-1])
    for received in fds:
        if received not in streams:
            os.close(received)
    os.umask(umask)
    os.environb.clear()
    for entry in environment:
        name, sep, value = entry.partition(b"=")
        if sep and name:
            os.environb[name] = value
    # Standard streams as a fresh interpreter makes them for these descriptors (stdout
    # line-buffered only on a terminal, stderr always), encoded as the server's were.
    old_out = sys.__stdout__
    encoding = old_out.encoding if old_out else "utf-8"
    errors = old_out.errors if old_out else "strict"
    sys.stdout = _stream(1, encoding, errors, None)
    sys.stderr = _stream(2, encoding, "backslashreplace", True)
    sys.stdin = _stream(0, encoding, errors, None, "r")


def _stream(fd: int, encoding: str, errors: str | None, line_buffering: bool | None,
            mode: str = "w") -> io.TextIOWrapper | None:
    try:
        if line_buffering is None:
            line_buffering = os.isatty(fd)
        return io.TextIOWrapper(open(fd, mode + "b", closefd=False), encoding=encoding,
                                errors=errors, line_buffering=line_buffering)
    except OSError:  # closed in the client: None, as Python's own start makes it
        return None


def _status_line(server: Server) -> str:
    return (f"pid {os.getppid()}, up {time.time() - server.started:.0f} s, "
            f"{server.requests - 1} requests before this one, {len(server.links) // 2} "
            f"running, idle timeout {server.idle_s:g} s, root {package_root()}, "
            f"interpreter {sys.executable}\n")


# -- linkharness server status | stop ---------------------------------------------------------

def sockets_in(directory: str | None) -> list[str]:
    """The server sockets in DIRECTORY (none when it does not exist)."""
    if directory is None:
        return []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, name) for name in names if name.endswith(".sock"))


def _sockets() -> list[str]:
    return sockets_in(socket_directory()) + sockets_in(fallback_directory())


def query_status(path: str, timeout_s: float = 5.0) -> str | None:
    """The status line of the server at PATH, or None when none answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout_s)
            conn.connect(path)
            conn.sendall(REQUEST.pack(REQUEST_MAGIC, KIND_STATUS, 0, 0, 0, 0, 0, 0))
            reply = b""
            while b"\n" not in reply:  # the line, perhaps followed by the parent's status
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                reply += chunk
            return reply.split(b"\n", 1)[0].decode(errors="replace")
    except OSError:
        return None


def _server_pid(path: str) -> int | None:
    """The pid in PATH's lock file, when a server holds the lock."""
    try:
        fd = os.open(path + ".lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # held: a server is alive
            return int(os.pread(fd, 32, 0).split()[0])
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except (ValueError, IndexError, OSError):
        return None
    finally:
        os.close(fd)


def stop(path: str, wait_s: float = 10.0) -> bool:
    """Ask the server at PATH to stop (links it runs finish first) and wait until its
    process has ended; whether it has."""
    pid = _server_pid(path)
    if pid is None:
        return True
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        ready, _, _ = select.select([pidfd], [], [], wait_s)
        return bool(ready)
    except ProcessLookupError:
        return True
    finally:
        os.close(pidfd)


def server_command(argv: list[str]) -> int:
    """`linkharness server status|stop`: this user's servers (in the socket directory the
    environment names), the one for the current code marked."""
    if argv not in (["status"], ["stop"]):
        print("usage: linkharness server status|stop", file=sys.stderr)
        return 2
    current = socket_path()
    if argv == ["stop"]:
        failed = [path for path in _sockets() if not stop(path)]
        for path in failed:
            print(f"linkharness: server {path} did not stop", file=sys.stderr)
        return 1 if failed else 0
    found = False
    for path in _sockets():
        line = query_status(path)
        if line is not None:
            found = True
            print(f"{path}{' (current code)' if path == current else ''}: {line}")
    if not found:
        print("no link server running"
              f"{'' if os.environ.get('LINKHARNESS_SERVER') != '0' else ' (LINKHARNESS_SERVER=0)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) in (3, 5) and args[0] == "serve" and args[1] == "--socket":
        after = int(args[4]) if len(args) == 5 and args[3] == "--after" else None
        return serve(args[2], after)
    return server_command(args)


if __name__ == "__main__":
    sys.exit(main())
