"""The checks the properties apply to a linked program, each returning the problems it
found as one-line strings (empty: the program is right).  Shared by the properties and the
harness-power test, which must see the same checks catch deliberately broken outputs.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

from oracle.check import check
from oracle.emulate import run
from oracle.native import run_native
from oracle.relocs import LinkOptions, check_fields

from . import subject
from .debug_judge import debug_info
from .libtrace import parse_native_trace
from .semantics import Outcome

DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"


def structure(output: Path | bytes) -> list[str]:
    """oracle.check on the file (or its bytes, when the caller has read them already)."""
    allowed = subject.allowed_rules()  # empty unless a hunt allows rules to another linker
    return [f"oracle.check: {v}" for v in check(output) if v.rule not in allowed]


def fields(output: Path, objects: Sequence[Path],
           link_options: LinkOptions | None = None) -> list[str]:
    """The field oracle's mismatches; `link_options`: what the link bound locally without a
    mark in the output (a shared object's -Bsymbolic-functions, --dynamic-list)."""
    return [f"relocation field: {m}" for m in check_fields(
        str(output), [str(o) for o in objects], link_options=link_options)]


def load_seed(output: Path) -> int:
    """The emulator's load-base seed for `output`: drawn from its bytes, so that a failing
    example repeats exactly (`linkharness run --seed N`) and two outputs land apart."""
    return zlib.crc32(output.read_bytes())


def emulated(output: Path, expected: Outcome, lib_dir: Path, bind: str,
             seed: int | None = None) -> list[str]:
    """The run's problems; `seed` is load_seed(output), when the caller has it."""
    result = run(output, bind=bind, library_path=[lib_dir],
                 seed=load_seed(output) if seed is None else seed)
    problems = [f"emulated ({bind}, --seed {result.seed}): {f.describe()}"
                for f in result.faults]
    trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace)
    want = tuple((t.library, t.symbol, t.args) for t in expected.trace)
    if trace != want:
        problems.append(f"emulated ({bind}): trace {trace} != model {want}")
    if result.exit_code != expected.status:
        problems.append(f"emulated ({bind}): exit {result.exit_code} != model {expected.status}")
    return problems


def native(output: Path, expected: Outcome, lib_dir: Path, bind_now: bool = False) -> list[str]:
    env = {"PATH": os.environ.get("PATH", ""), "LD_LIBRARY_PATH": str(lib_dir)}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    result = run_native(str(output), env=env, timeout=20)
    how = "native (now)" if bind_now else "native (lazy)"
    trace = tuple((s, n, a) for s, n, a in parse_native_trace(result.stderr))
    want = tuple((t.library, t.symbol, t.args) for t in expected.trace)
    problems = []
    if trace != want:
        problems.append(f"{how}: trace {trace} != model {want}")
    if result.exit_code != expected.status:
        problems.append(f"{how}: exit {result.exit_code} != model {expected.status}")
    return problems


def everything(output: Path, objects: Sequence[Path], expected: Outcome,
               lib_dir: Path) -> list[str]:
    """Property (a)'s checks: structure, relocation fields, the linker's debug-information
    claims (merged strings, every function described), emulation lazy and eager.  The
    file is read once here for the checker and the load seed (the field oracle and the
    emulator read it themselves)."""
    data = output.read_bytes()
    seed = zlib.crc32(data)  # load_seed's
    return [*structure(data), *fields(output, objects),
            *([] if subject.active() else debug_info(output)),
            *emulated(output, expected, lib_dir, "lazy", seed),
            *emulated(output, expected, lib_dir, "now", seed)]
