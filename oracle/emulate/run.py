"""`run()`: load an executable under the emulated dynamic loader and run it, bounded.

The file's magic picks the loader: ELF goes to the emulated ld.so (ldso.py); Mach-O goes
to oracle.emulate.macho.dyld.run_macho(data, Invocation).
"""

from __future__ import annotations

import importlib
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

from unicorn import UC_ERR_NOMEM, UcError

from oracle.emulate.elfimage import ImageError
from oracle.emulate.files import MemoryFiles, SeedError
from oracle.emulate.ldso import Invocation, defined_names, run_elf
from oracle.emulate.libtrace import is_libtrace
from oracle.emulate.loader import LoadError, read_capped
from oracle.emulate.machine import Limits
from oracle.emulate.result import Fault, RunResult

MACHO_MAGICS = (b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")
DEFAULT_LIMITS = Limits()


def run(
    path: str | os.PathLike[str],
    argv: Sequence[str | bytes] | None = None,
    env: Mapping[str, str] | Sequence[str | bytes] | None = None,
    *,
    bind: str = "lazy",
    max_instructions: int | None = DEFAULT_LIMITS.max_instructions,
    timeout: float = DEFAULT_LIMITS.timeout,
    memory_cap: int = DEFAULT_LIMITS.memory_cap,
    stdin: bytes = b"",
    library_path: Sequence[str | os.PathLike[str]] = (),
    files_from: str | os.PathLike[str] | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run the executable at `path` and return what it did.

    argv is the whole argument vector, argv[0] included (default: [path]); env is a mapping
    or a list of "NAME=value" strings (default: empty).  bind is "lazy" (through the PLT
    and the resolver) or "now" (every JUMP_SLOT bound before entry; also what a binary
    linked with -z now gets).  Guest misbehaviour never raises: it is in `faults`.
    The run is bounded by `timeout` seconds of wall time and, when `max_instructions` is
    given, by that many instructions; only then are instructions counted (counting slows
    guest code about tenfold) and the result's `instructions` a number, not None.
    stdout and stderr hold what the program wrote out; what was still in a stdio buffer
    when it faulted or called _exit is lost, as it is natively.
    files_from: a host directory whose regular files the run's in-memory file system
    starts with, as /NAME (default: empty); the guest's fopen & co. work on that copy,
    which is dropped with the run: no host file is ever written.
    library_path: directories searched (after the executable's own) for the real files of
    libtrace* libraries, so that two of them split the symbols as their files do; when a
    file is not found the library provides every name.
    seed: draws where a position-independent executable and each real shared library load
    (pages moved as ASLR moves them); None draws a fresh one per run.  The result's `seed`
    is the one used, so `run(..., seed=result.seed)` repeats a run exactly.
    """
    if bind not in ("lazy", "now"):
        raise ValueError(f"bind must be 'lazy' or 'now', not {bind!r}")
    # the path as pathlib spells it (argv[0] and AT_EXECFN are made from it), without
    # parsing one that a Path already spelled (pathlib was a few percent of a small run)
    exe = str(path) if isinstance(path, PurePath) else str(Path(path))
    try:
        data = read_capped(exe, memory_cap)
    except LoadError as err:
        return _refused(str(err))
    if files_from is not None:
        try:
            MemoryFiles.seeded(os.fspath(files_from))  # refused here, not halfway through a load
        except (SeedError, OSError) as err:
            return _refused(f"files_from: {err}")
    args = [_b(a) for a in argv] if argv is not None else [os.fsencode(exe)]
    if env is None:
        env_list: list[bytes] = []
    elif isinstance(env, Mapping):
        env_list = [os.fsencode(f"{k}={v}") for k, v in env.items()]
    else:
        env_list = [_b(e) for e in env]
    inv = Invocation(
        path=exe,
        argv=args,
        env=env_list,
        # LD_BIND_NOW in the guest's environment binds eagerly, as it does for glibc.
        lazy=bind == "lazy" and not any(e.startswith(b"LD_BIND_NOW=") and len(e) > 12
                                        for e in env_list),
        limits=Limits(max_instructions, timeout, memory_cap,
                      None if files_from is None else os.fspath(files_from)),
        stdin=stdin,
        library_names=_LibraryFiles([os.path.dirname(exe) or ".",
                                     *(os.fspath(d) for d in library_path)]),
        library_dirs=[*map(Path, library_path), Path(exe).parent],
        seed=secrets.randbits(32) if seed is None else seed,
    )
    try:
        if data[:4] in MACHO_MAGICS:
            return _run_macho(data, inv)
        return run_elf(data, inv)
    except ImageError as err:
        return _refused(str(err))
    except UcError as err:  # the host's, not the guest's: Unicorn could not get memory
        if err.errno != UC_ERR_NOMEM:  # (a campaign worker under RLIMIT_AS, after hours)
            raise
        return _refused(f"the emulator could not allocate host memory for the run ({err})")


def _run_macho(data: bytes, inv: Invocation) -> RunResult:
    """Mach-O goes to `oracle.emulate.macho.dyld.run_macho(data, invocation)`, imported on
    first use (it reuses the machine, ABIs, libraries and trace of the ELF side).  A
    failure to import it is the host's and raises: it once became a load fault saying
    the dyld was "not there yet", which hid a broken import in every Mach-O run."""
    dyld = importlib.import_module("oracle.emulate.macho.dyld")
    result: RunResult = dyld.run_macho(data, inv)
    return result


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else os.fsencode(value)


def _refused(message: str) -> RunResult:
    return RunResult(None, b"", b"", [], [Fault("load", 0, None, message)], 0)


class _LibraryFiles(dict[str, frozenset[str]]):
    """soname -> defined names of the real libtrace file, looked up on demand."""

    def __init__(self, dirs: list[str]) -> None:
        super().__init__()
        self._dirs = dirs

    def get(self, soname: str, default: frozenset[str] | None = None) -> frozenset[str] | None:  # type: ignore[override]
        if not is_libtrace(soname):
            return default
        if soname not in self:
            for directory in self._dirs:
                candidate = os.path.join(directory, soname)
                try:  # one stat per candidate: it also names the version defined_names caches
                    st = os.stat(candidate)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                try:
                    self[soname] = defined_names(candidate, st)
                except Exception:  # noqa: BLE001, S112 - unreadable: provide every name
                    continue
                break
        return super().get(soname, default)
