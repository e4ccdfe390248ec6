"""Reference linkers: the same inputs through GNU ld (bfd), gold, lld and mold.

`link_reference` drives a linker directly, the way the linkharness linker is driven (the
caller supplies crt files and libraries); `link_with_gcc` goes through the gcc driver, which
adds crt1.o, crti.o, libc and friends, for whole C programs.  Both always make a non-PIE
ET_EXEC, the output type linkharness writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

LINKERS: dict[str, str] = {
    "bfd": "ld.bfd",
    "gold": "ld.gold",
    "lld": "ld.lld-14",
    "mold": "mold",
}

# What gcc -fuse-ld=NAME looks for on its search path.
_GCC_NAMES = {"bfd": "ld.bfd", "gold": "ld.gold", "lld": "ld.lld", "mold": "ld.mold"}

_EMULATION = {False: "elf_x86_64", True: "elf_i386"}
_INTERPRETER = {False: "/lib64/ld-linux-x86-64.so.2", True: "/lib/ld-linux.so.2"}
TIMEOUT = 120


@dataclass(frozen=True)
class ReferenceResult:
    ok: bool
    returncode: int
    stderr: str
    output: str
    command: tuple[str, ...]


def _executable(linker: str) -> str | None:
    name = LINKERS.get(linker)
    if name is None:
        raise ValueError(f"unknown linker {linker!r} (known: {', '.join(LINKERS)})")
    return shutil.which(name)


def available_linkers() -> tuple[str, ...]:
    """The reference linkers installed on this machine, by short name."""
    return tuple(name for name in LINKERS if _executable(name) is not None)


def _run(command: list[str], output: str) -> ReferenceResult:
    try:
        # a linker's message quotes the input's names as their bytes, UTF-8 or not
        proc = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return ReferenceResult(False, -1, f"timed out after {TIMEOUT}s", output, tuple(command))
    ok = proc.returncode == 0 and os.path.exists(output)
    return ReferenceResult(ok, proc.returncode, proc.stderr, output, tuple(command))


def _is_file_or_option(item: str) -> bool:
    """A bare name (`c`, `trace1`) means -lNAME; paths, sonames and options pass as they are."""
    return "/" in item or ".so" in item or item.endswith(".a") or item.startswith("-")


def _shared(item: str) -> bool:
    return item.startswith("-l") or ".so" in item.rsplit("/", 1)[-1]


def _library_args(libs: Sequence[str], lib_paths: Sequence[str]) -> list[str]:
    args = [f"-L{p}" for p in lib_paths]
    args += [lib if _is_file_or_option(lib) else f"-l{lib}" for lib in libs]
    return args


def link_reference(linker: str, objects: Sequence[str], output: str, *,
                   libs: Sequence[str] = (), lib_paths: Sequence[str] = (),
                   entry: str | None = "_start", extra: Sequence[str] = (),
                   bind_now: bool = False, static: bool = False,
                   m32: bool = False) -> ReferenceResult:
    """Link `objects` (+ `libs`) into the ET_EXEC `output` with one real linker."""
    exe = _executable(linker)
    if exe is None:
        return ReferenceResult(False, -1, f"{LINKERS[linker]} is not installed", output, ())
    command = [exe, "-m", _EMULATION[m32], "-o", output]
    if linker != "gold":  # gold has no -no-pie, and makes ET_EXEC by default
        command.append("-no-pie")
    if entry is not None:
        command += ["-e", entry]
    dynamic_inputs = bool(libs) or any(_shared(o) for o in (*objects, *extra))
    if static:
        command.append("-static")
    elif dynamic_inputs:
        # only with shared inputs: lld and mold would otherwise add a PT_INTERP to a
        # static program, and ld.so then crashes running it
        command += ["-dynamic-linker", _INTERPRETER[m32]]
    if bind_now:
        command += ["-z", "now"]
    command += [*extra, *objects, *_library_args(libs, lib_paths)]
    return _run(command, output)


def _gcc_shim_dir() -> str:
    """A directory where gcc finds every linker under its -fuse-ld name (ld.lld-14 -> ld.lld)."""
    shim = os.path.join(tempfile.gettempdir(), f"linkharness-ld-shim-{os.getuid()}")
    os.makedirs(shim, exist_ok=True)
    for short, gcc_name in _GCC_NAMES.items():
        exe = _executable(short)
        link = os.path.join(shim, gcc_name)
        if exe is not None and not os.path.lexists(link):
            try:
                os.symlink(exe, link)
            except FileExistsError:  # a concurrent caller made it
                pass
    return shim


def link_with_gcc(linker: str, objects: Sequence[str], output: str, *,
                  libs: Sequence[str] = (), lib_paths: Sequence[str] = (),
                  extra: Sequence[str] = (), bind_now: bool = False, static: bool = False,
                  m32: bool = False) -> ReferenceResult:
    """Link a C program through `gcc -no-pie -fuse-ld=LINKER` (crt files and libc included)."""
    if _executable(linker) is None:
        return ReferenceResult(False, -1, f"{LINKERS[linker]} is not installed", output, ())
    command = ["gcc", "-no-pie", f"-B{_gcc_shim_dir()}/", f"-fuse-ld={linker}", "-o", output]
    if m32:
        command.append("-m32")
    if static:
        command.append("-static")
    if bind_now:
        command.append("-Wl,-z,now")
    command += [*extra, *objects, *_library_args(libs, lib_paths)]
    return _run(command, output)
