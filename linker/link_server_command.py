"""`linkharness server status|stop`: this user's link servers (linker/link_server.py)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import sys

from .link_server_child import KIND_STATUS, REQUEST, REQUEST_MAGIC
from .link_server_identity import fallback_directory, socket_directory, socket_path


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
