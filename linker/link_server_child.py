"""The link server's child: one request, from reading it to the link's exit status.

Forked by the server (`link_server.py`) for each connection, the child reads the request,
takes the client's standard streams, working directory, umask and environment, and runs
`process.ld_main` / `ld64_main` as `python -m linker` / `-m linker.macho` would; its exit
status goes to the client.  Also the protocol, which `link_client.c` speaks.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .link_server_identity import package_root

if TYPE_CHECKING:
    from .link_server import Server

# The client's request: magic, kind, umask, mask of the standard streams it passes, argument
# and environment counts, a reserved word, payload length (the NUL-ended strings).  Once
# a child has read it and sent its ACK, the client sends one byte carrying the
# descriptors (SCM_RIGHTS): the streams in the mask's order, then the working directory.
# Last, the exit status: sent by the child once its outputs are in place, or by the
# parent when the child died without sending it (the client reads the first).
REQUEST = struct.Struct("<8s6IQ")
REQUEST_MAGIC = b"LHLINK2\0"  # as the client's: a client of another protocol links directly
ACK = struct.Struct("<4si")  # b"LHOK", the child's pid
# (0, exit code) or (1, signal number), then the child's user and system CPU time (µs) and
# peak RSS (KiB): a client asked to (LINKHARNESS_SERVER_RUSAGE=FILE) writes them down, for
# bench/link_speed.py, whose own timing of the client sees none of the link's work.
STATUS = struct.Struct("<iiqqq")
KIND_STATUS, KIND_LD, KIND_LD64 = 0, 1, 2
MAX_FDS = 4

REQUEST_TIMEOUT_S = 60.0  # for the child to read a request (the client sends it at once)
_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None = None  # libc's, looked up once by the server


def find_prctl() -> None:
    """Look up libc's prctl once, in the server, for every child."""
    global _prctl
    try:
        import ctypes
        _prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):  # not glibc: a link outlives a killed server
        _prctl = None


def serve_request(conn: socket.socket, server: Server) -> None:
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
