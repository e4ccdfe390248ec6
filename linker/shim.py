"""The `gcc -B` and `clang --ld-path` shims: `ld` and `ld64` executables that run
linkharness's GNU ld (`python -m linker`) or ld64 (`python -m linker.macho`) command line.

Each is the small C client of the warm link server (`linker/link_client.c`, see
`linker/link_server.py`), compiled here once per interpreter, checkout and client source
with `cc` (or `gcc`); the directory's name is a digest of the three.  Where no C compiler
works, the shim is the shell script that runs the direct process, as the client itself
does whenever the server cannot take a link.
"""

from __future__ import annotations

import os
import sys

CLIENT_SOURCE = "link_client.c"
_COMPILE_TIMEOUT_S = 120


def shim_dir() -> str:
    """A directory with an `ld` that links with linkharness, for `gcc -B DIR`."""
    return os.path.dirname(_shim("ld", "linker"))


def ld64_shim() -> str:
    """An executable for `clang --target=x86_64-apple-macosx... -fuse-ld=lld --ld-path=PATH`."""
    return _shim("ld64", "linker.macho")


def _shim(name: str, module: str) -> str:
    """Write (once) the shim NAME: the compiled client, else the shell script."""
    import hashlib

    from .link_server_identity import code_key, package_root

    exe = sys.executable
    root = package_root()
    client = _client_text()
    digest = hashlib.sha256(f"{exe}\0{root}\0".encode() + client).hexdigest()[:12]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "linkharness", f"shim-{digest}")
    search = _search_path(root)
    pycache = directory + "-pycache"
    path = os.path.join(directory, name)
    source = _client_source(client, exe, root, search, pycache, code_key(exe, root))
    script = _shell_script(exe, module, search, pycache)
    if _current(path, source, script):
        return path
    os.makedirs(directory, exist_ok=True)
    if not _compile(path, source):
        _install(path, script.encode(), 0o755)
    return path


def compile_client(path: str, root: str, pycache: str) -> bool:
    """The client at PATH for the checkout at ROOT (its name says ld or ld64), as `_shim`
    makes it; for tests that need a checkout of their own."""
    from .link_server_identity import code_key
    source = _client_source(_client_text(), sys.executable, root, _search_path(root), pycache,
                            code_key(sys.executable, root))
    return _compile(path, source)


def _client_text() -> bytes:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), CLIENT_SOURCE),
              "rb") as f:
        return f.read()


def _search_path(root: str) -> str:
    """What the linker's process puts first on PYTHONPATH: the checkout, and the
    interpreter's library directories (it runs without `site`)."""
    import sysconfig
    return ":".join(dict.fromkeys([root, sysconfig.get_path("purelib"),
                                   sysconfig.get_path("platlib")]))


def _current(path: str, source: bytes, script: str) -> bool:
    """The shim at PATH is the client compiled from SOURCE, or the shell script written
    when compiling failed."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(script) + 1)
        if head.startswith(b"\x7fELF") and os.access(path, os.X_OK):
            with open(path + ".c", "rb") as f:
                return f.read() == source
        return head == script.encode()
    except OSError:
        return False


def _compile(path: str, source: bytes) -> bool:
    """Compile SOURCE into PATH (and keep SOURCE beside it as PATH.c); whether it worked."""
    import shutil
    import subprocess

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return False
    tmp = f"{path}.{os.getpid()}"
    try:
        with open(tmp + ".c", "wb") as f:
            f.write(source)
        done = subprocess.run([compiler, "-O2", "-o", tmp, tmp + ".c"], capture_output=True,
                              timeout=_COMPILE_TIMEOUT_S, check=False)
        if done.returncode != 0 or not os.access(tmp, os.X_OK):
            return False
        os.replace(tmp, path)
        os.replace(tmp + ".c", path + ".c")
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        for leftover in (tmp, tmp + ".c"):
            try:
                os.unlink(leftover)
            except OSError:
                pass


def _client_source(client: bytes, exe: str, root: str, search: str, pycache: str,
                   key: str) -> bytes:
    defines = {"LH_PYTHON": exe, "LH_ROOT": root, "LH_PYTHONPATH": search,
               "LH_PYCACHE": pycache, "LH_KEY": key}
    head = "".join(f"#define {macro} {_c_string(value)}\n" for macro, value in defines.items())
    return head.encode() + client


def _c_string(text: str) -> str:
    """A C string literal of TEXT's bytes (octal escapes for all but plain characters)."""
    plain = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,=@ ")
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03o}"
                         for b in os.fsencode(text)) + '"'


def _shell_script(exe: str, module: str, search: str, pycache: str) -> str:
    """The shim without a C compiler: the direct process, started for speed.  It skips
    `site` (-S: no scan of site-packages' .pth files and no editable-install finder) and
    puts this package's and the interpreter's library directories on PYTHONPATH itself; it
    does not put the compiler's working directory first on the module path (-P: a stray
    numpy.py there can neither shadow nor slow an import); and it keeps compiled bytecode
    in the cache directory even where PYTHONDONTWRITEBYTECODE is set (else every link
    compiles the linker's source again).  The rest of a fast start and end is
    `linker/process.py`'s.  The C client runs the same when it links directly."""
    quoted = ":".join(_sh_quote(p) for p in search.split(":"))
    return ("#!/bin/sh\n"
            "unset PYTHONDONTWRITEBYTECODE\n"
            f"export PYTHONPYCACHEPREFIX={_sh_quote(pycache)}\n"
            f'export PYTHONPATH={quoted}"${{PYTHONPATH:+:$PYTHONPATH}}"\n'
            f'exec {_sh_quote(exe)} -S -P -m {module} "$@"\n')


def _install(path: str, data: bytes, mode: int) -> None:
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def print_shim_dir(argv: list[str]) -> int:
    print(shim_dir())
    return 0


def print_ld64_shim(argv: list[str]) -> int:
    print(ld64_shim())
    return 0
