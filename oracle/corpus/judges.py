"""Running a linked case: natively (a subprocess) or under the emulated ld.so (`oracle.run`).

Each judge returns an Observation; `compare` holds it against the case's expectation.
A native run sees library calls only when every expected call goes to a `libtrace*` library:
the real ones (built from fuzz/libtrace.py's convention) print `TRACE <soname> <symbol>
<hex args...>` lines on stderr, which are read back as the trace.  Otherwise a native trace
is None (unchecked) and only the emulator checks it.  The emulator is optional: while `oracle.emulate.run` does not exist, the native
judge works alone.
"""

from __future__ import annotations

import importlib
import inspect
import platform
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import Case, Expect, TraceCall

RUN_TIMEOUT = 10.0
NATIVE = "native"
EMULATOR = "emulator"
JUDGES = (NATIVE, EMULATOR)
_NATIVE_TARGETS = {"x86_64": ("elf64-x86-64", "elf32-i386")}
_TRACE_LINE = re.compile(rb"^TRACE (\S+) (\S+)((?: [0-9a-fA-F]+)*)$", re.MULTILINE)


@dataclass(frozen=True)
class Observation:
    """What one run did.  problem is set when the run did not end in a normal exit
    (a signal, a timeout, an emulator fault); exit_code is then None."""

    judge: str
    bind: str
    exit_code: int | None
    stdout: bytes
    trace: tuple[TraceCall, ...] | None
    problem: str | None = None


def native_available(case: Case) -> bool:
    return case.target in _NATIVE_TARGETS.get(platform.machine(), ())


def emulator_run() -> Callable[..., Any] | None:
    """`oracle.emulate.run`, or None while the emulator has not landed."""
    try:
        module = importlib.import_module("oracle.emulate")
    except ImportError:
        return None
    run = getattr(module, "run", None)
    return run if callable(run) else None


def run_native(case: Case, exe: Path, bind: str) -> Observation:
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(case.directory)}
    if bind == "now":
        env["LD_BIND_NOW"] = "1"
    try:
        proc = subprocess.run([str(exe)], check=False, capture_output=True, env=env, cwd=exe.parent,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, bytes) else b""
        return Observation(NATIVE, bind, None, out, None, f"timed out after {RUN_TIMEOUT:g}s")
    except OSError as e:
        return Observation(NATIVE, bind, None, b"", None, f"cannot execute: {e}")
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return Observation(NATIVE, bind, None, proc.stdout, None, f"killed by {name}")
    trace = _native_trace(case, proc.stderr)
    return Observation(NATIVE, bind, proc.returncode, proc.stdout, trace)


def _native_trace(case: Case, stderr: bytes) -> tuple[TraceCall, ...] | None:
    """The TRACE lines of native libtrace libraries, when they can stand for the trace."""
    want = case.expect.trace
    if want is None or not all(call.library.startswith("libtrace") for call in want):
        return None
    return tuple(
        TraceCall(m[1].decode(), m[2].decode(), tuple(int(a, 16) for a in m[3].split()))
        for m in _TRACE_LINE.finditer(stderr)
    )


def run_emulated(case: Case, exe: Path, bind: str) -> Observation:
    run = emulator_run()
    if run is None:
        return Observation(EMULATOR, bind, None, b"", None, "emulator not available")
    kwargs: dict[str, Any] = {"bind": bind}
    # Forward the case directory if the emulator learns to load real libraries from one.
    params = inspect.signature(run).parameters
    for name in ("library_path", "library_paths", "library_dirs"):
        if name in params:
            kwargs[name] = [str(case.directory)]
            break
    try:
        result = run(str(exe), **kwargs)
    except Exception as e:  # noqa: BLE001 - an emulator crash is reported, not raised
        return Observation(EMULATOR, bind, None, b"", None,
                           f"emulator raised {type(e).__name__}: {e}")
    trace = tuple(TraceCall(t.library, t.symbol, tuple(t.args)) for t in result.trace)
    problem = result.faults[0].describe() if result.faults else None
    if result.exit_code is None and problem is None:
        problem = "the program did not exit"
    return Observation(EMULATOR, bind, result.exit_code, bytes(result.stdout), trace, problem)


def run_judge(judge: str, case: Case, exe: Path, bind: str) -> Observation:
    if judge == NATIVE:
        return run_native(case, exe, bind)
    if judge == EMULATOR:
        return run_emulated(case, exe, bind)
    raise ValueError(f"unknown judge {judge!r} (choose from {', '.join(JUDGES)})")


def compare(expect: Expect, seen: Observation) -> list[str]:
    """Mismatches between what was expected and what a run did (empty: it passed)."""
    where = f"{seen.judge}/{seen.bind}"
    if seen.problem is not None:
        return [f"{where}: {seen.problem}"]
    out: list[str] = []
    if seen.exit_code != expect.exit_code:
        out.append(f"{where}: exit code {seen.exit_code}, expected {expect.exit_code}")
    want = expect.stdout.encode("utf-8")
    if seen.stdout != want:
        out.append(f"{where}: stdout differs {_first_difference(seen.stdout, want)}")
    if expect.trace is not None and seen.trace is not None:
        out.extend(_trace_diff(where, expect.trace, seen.trace))
    return out


def _trace_diff(where: str, want: tuple[TraceCall, ...],
                got: tuple[TraceCall, ...]) -> list[str]:
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return [f"{where}: trace[{i}] is {_call(g)}, expected {_call(w)}"]
    if len(want) != len(got):
        return [f"{where}: trace has {len(got)} calls, expected {len(want)}"]
    return []


def _call(c: TraceCall) -> str:
    return f"{c.library}:{c.symbol}({', '.join(hex(a) for a in c.args)})"


def _first_difference(got: bytes, want: bytes, context: int = 24) -> str:
    """Where two outputs part, with a little of each side from there on."""
    at = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    start = max(0, at - 8)
    return (f"at byte {at}: got {got[start:at + context]!r}, "
            f"expected {want[start:at + context]!r}")


def default_judges(case: Case) -> list[str]:
    """The emulator when it exists, and native execution whenever the host can run the
    target; cases with a trace prefer the emulator first, because only it sees the trace."""
    judges = []
    if emulator_run() is not None:
        judges.append(EMULATOR)
    if native_available(case):
        judges.append(NATIVE)
    return judges

