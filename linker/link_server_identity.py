"""Where the warm link server's socket is, and the code identity in its name.

A socket's name is `KEY-TREE.sock`: KEY a digest of the interpreter and the checkout
(baked into the C client, `linker/link_client.c`, when the shim compiles it), TREE a sum
of a hash of every file under `linker/` (its path, size and modification time).  So a
client reaches only a server that imported the code it would run itself: an edited file,
another checkout or another interpreter is another name, hence a fresh server.  The C
client computes TREE itself on every link (a stat per file, ~0.1 ms); this module is the
same computation for the server, which exits once it no longer matches, and for
`linkharness server status|stop`.

Per file: CRC-32 and Adler-32 of `path NUL size NUL mtime_ns` (decimal), as the high and
low halves of 64 bits; the files' values are summed modulo 2**64, so the walk's order
does not matter.  Both checks are zlib's, one call per file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import zlib

MAX_DEPTH = 8  # as the client's walk
SOCKET_SUFFIX = ".sock"
_SUN_PATH_MAX = 107  # sockaddr_un's 108 bytes, with the NUL


def package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_key(interpreter: str | None = None, root: str | None = None) -> str:
    """The socket name's first part: which interpreter runs which checkout."""
    interpreter = interpreter or sys.executable
    root = root or package_root()
    return hashlib.sha256(f"{interpreter}\0{root}".encode()).hexdigest()[:12]


def tree_hash(root: str | None = None) -> int | None:
    """The sum over the files under ROOT/linker (None when it cannot be read whole)."""
    top = os.fsencode(os.path.join(root or package_root(), "linker"))
    total = 0
    pending: list[tuple[bytes, bytes, int]] = [(top, b"linker", 0)]
    try:
        while pending:
            directory, relative, depth = pending.pop()
            if depth > MAX_DEPTH:
                return None
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(b".") or name == b"__pycache__":
                        continue
                    try:
                        status = entry.stat()  # follows links, as the client's stat()
                    except OSError:
                        continue
                    path = relative + b"/" + name
                    if stat.S_ISDIR(status.st_mode):
                        pending.append((entry.path, path, depth + 1))
                    elif stat.S_ISREG(status.st_mode):
                        record = b"%s\0%d\0%d" % (path, status.st_size, status.st_mtime_ns)
                        total += (zlib.crc32(record) << 32) | zlib.adler32(record)
    except OSError:
        return None
    return total & 0xFFFF_FFFF_FFFF_FFFF


def socket_directory(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """XDG_RUNTIME_DIR/linkharness, else the cache directory's linkharness/run."""
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "linkharness")
    cache = env.get("XDG_CACHE_HOME")
    if cache:
        return os.path.join(cache, "linkharness", "run")
    home = env.get("HOME")
    return os.path.join(home, ".cache", "linkharness", "run") if home else None


def fallback_directory() -> str:
    """For a socket path too long for sockaddr_un."""
    return f"/tmp/linkharness-run-{os.getuid()}"


def socket_name(key: str, tree: int) -> str:
    return f"{key}-{tree:016x}{SOCKET_SUFFIX}"


def socket_path(environ: dict[str, str] | None = None) -> str | None:
    """The socket the shims of this interpreter and checkout use for the code as it is
    now (None when the tree cannot be read or there is no directory for it)."""
    tree = tree_hash()
    directory = socket_directory(environ)
    if tree is None or directory is None:
        return None
    path = os.path.join(directory, socket_name(code_key(), tree))
    if len(os.fsencode(path)) > _SUN_PATH_MAX:
        path = os.path.join(fallback_directory(), socket_name(code_key(), tree))
    return path


def tree_in_name(path: str) -> int | None:
    """The TREE part of a socket's file name."""
    name = os.path.basename(path)
    if not name.endswith(SOCKET_SUFFIX):
        return None
    try:
        return int(name[:-len(SOCKET_SUFFIX)].rsplit("-", 1)[1], 16)
    except (IndexError, ValueError):
        return None
