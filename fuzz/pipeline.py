"""From a program model to files and runs: write its objects (our writer, or assembly text
through GNU as / llvm-mc), link them with a reference linker's command line, run the result
natively against the real libtrace libraries and read back its trace and exit status.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .assemble_x86 import assemble
from .emit_asm import write_asm
from .emit_elf import write_elf
from .libtrace import parse_native_trace
from .lower_x86 import lower
from .model import Program
from .semantics import Outcome, TraceEntry

DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"
ASSEMBLERS = {
    "as": ["as", "--64", "-o"],
    "llvm-mc": ["llvm-mc-14", "-filetype=obj", "-triple=x86_64-linux-gnu", "-o"],
}
REFERENCE_LINKERS = {"bfd": "ld.bfd", "gold": "ld.gold", "lld": "ld.lld-14", "mold": "mold"}


def write_objects(program: Program, directory: Path, assembler: str | None = None) -> list[Path]:
    """The program's objects in `directory`: ours (assembler None) or an assembler's."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for obj in lower(program):
        path = directory / f"{obj.name}.o"
        if assembler is None:
            path.write_bytes(write_elf(assemble(obj)))
        else:
            src = directory / f"{obj.name}.s"
            src.write_text(write_asm(obj))
            subprocess.run([*ASSEMBLERS[assembler], str(path), str(src)], check=True,
                           capture_output=True)
        paths.append(path)
    return paths


def library_inputs(program: Program, libs: dict[int, Path]) -> list[str]:
    return [str(libs[n]) for n in program.libraries]


@dataclass(frozen=True)
class LinkRun:
    ok: bool
    stderr: str


def link_reference(linker: str, objects: list[Path], libraries: list[str], output: Path,
                   bind_now: bool = False) -> LinkRun:
    """Link with a reference linker (its default when driven directly: a non-PIE
    executable), entry _start."""
    cmd = [REFERENCE_LINKERS[linker], "-o", str(output), "-e", "_start",
           "-dynamic-linker", DYNAMIC_LINKER, *map(str, objects), *libraries]
    if bind_now:
        cmd[1:1] = ["-z", "now"]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    return LinkRun(proc.returncode == 0, proc.stderr)


def run_native(executable: Path, lib_dir: Path, bind_now: bool = False) -> Outcome:
    """Run natively; the libtrace libraries print the trace on stderr."""
    env = {"PATH": os.environ.get("PATH", ""), "LD_LIBRARY_PATH": str(lib_dir)}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    proc = subprocess.run([str(executable)], check=False, capture_output=True, env=env,
                          timeout=20)
    trace = tuple(TraceEntry(*r) for r in parse_native_trace(proc.stderr))
    status = proc.returncode if proc.returncode >= 0 else 1000 - proc.returncode  # signals
    return Outcome(trace, status)
