"""The `gcc -B` and `clang --ld-path` shims: small shell scripts that run linkharness's
GNU ld (`python -m linker`) or ld64 (`python -m linker.macho`) command line."""

from __future__ import annotations

import os
import sys


def shim_dir() -> str:
    """A directory with an `ld` that links with linkharness, for `gcc -B DIR`."""
    return os.path.dirname(_shim("ld", "linker"))


def ld64_shim() -> str:
    """An executable for `clang --target=x86_64-apple-macosx... -fuse-ld=lld --ld-path=PATH`."""
    return _shim("ld64", "linker.macho")


def _shim(name: str, module: str) -> str:
    """Write (once) a shell script that runs `python -m module`, started for speed: a
    compiler driver runs it once per link, and Python's start-up is most of a small link.
    It skips `site` (-S: no scan of site-packages' .pth files and no editable-install
    finder) and puts this package's and the interpreter's library directories on PYTHONPATH
    itself; it does not put the compiler's working directory first on the module path (-P:
    a stray numpy.py there can neither shadow nor slow an import); and it keeps compiled
    bytecode in the cache directory even where PYTHONDONTWRITEBYTECODE is set (else every
    link compiles the linker's source again).  The rest of a fast start and end is
    `linker/process.py`'s."""
    import hashlib
    import sysconfig

    exe = sys.executable
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tag = hashlib.sha256(f"{exe}\0{package_root}".encode()).hexdigest()[:12]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "linkharness", f"shim-{tag}")
    paths = dict.fromkeys([package_root, sysconfig.get_path("purelib"),
                           sysconfig.get_path("platlib")])
    search = ":".join(_sh_quote(p) for p in paths)
    script = ("#!/bin/sh\n"
              "unset PYTHONDONTWRITEBYTECODE\n"
              f"export PYTHONPYCACHEPREFIX={_sh_quote(directory + '-pycache')}\n"
              f'export PYTHONPATH={search}"${{PYTHONPATH:+:$PYTHONPATH}}"\n'
              f'exec {_sh_quote(exe)} -S -P -m {module} "$@"\n')
    path = os.path.join(directory, name)
    try:
        with open(path) as f:
            if f.read() == script:
                return path
    except OSError:
        pass
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(script)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def print_shim_dir(argv: list[str]) -> int:
    print(shim_dir())
    return 0


def print_ld64_shim(argv: list[str]) -> int:
    print(ld64_shim())
    return 0
