"""Build a module program with one linker in each seat and judge every output: the
structural checker on each library and the executable, the field oracle on each against
its own objects, the emulated run (lazy and now, at load bases drawn from a seed) and the
native run (lazy and LD_BIND_NOW) against the model's trace and status.

A seat is (library linker, executable linker); all libraries of a program are linked by
the seat's library linker.  linkharness's refusals of what it says it does not support yet
(its LinkError says "not supported yet": i386 shared output, for one) are returned as
refusals, not problems; every other refusal is a problem.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from linker import LinkError
from oracle.emulate import run
from oracle.native import run_native

from . import judge
from .libtrace import parse_native_trace
from .modules import ModuleProgram, outcome
from .modules_build import (
    REPORT,
    BuildOptions,
    LinkFailed,
    compile_module,
    link_executable,
    link_library,
    soname,
)

NOT_YET = ("not supported yet", "are not supported")
# Refusals of valid input that are known linker defects, each fixed on a branch not yet in
# main; listed so that the property stays green while the fix lands, and removed then.
# (A refusal is loud: exit 1 and a message; it is never a silent wrong output.)
KNOWN_REFUSALS = (
    # -fPIC general/local-dynamic TLS rewritten to local exec in a shared object: shared-elf
    # b7c0b59 keeps GD/LD there (DTPMOD64/DTPOFF64 pairs)
    "(local-exec TLS) cannot be used when making a shared object",
    "R_X86_64_TPOFF32 against an undefined symbol cannot be used when making a shared",
    "R_X86_64_TPOFF32 against a preemptible symbol cannot be used when making a shared",
    # -fno-plt's GD sequence (call *__tls_get_addr@GOTPCREL(%rip)), which the psABI lists
    # beside the PLT form, refused instead of relaxed in an executable (reported)
    "is not in the psABI's code sequence (lea; call __tls_get_addr@PLT)",
)


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...]
    refused: str = ""  # linkharness declined the seat (a known limit), with its message


def expected_trace(program: ModuleProgram) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    reported, _ = outcome(program)
    return tuple(("libtrace1.so", REPORT, (v,)) for v in reported)


def compile_all(program: ModuleProgram, options: BuildOptions, work: Path) -> list[list[Path]]:
    work.mkdir(parents=True, exist_ok=True)
    return [compile_module(program, m, options, work) for m in range(program.libraries + 1)]


def link_seat(program: ModuleProgram, objects: list[list[Path]], options: BuildOptions,
              seat: tuple[str, str], work: Path, libtrace: Path) -> Path:
    """Link every library (the last first: a library links the later ones it needs) and
    the executable; returns the executable (the libraries are beside it)."""
    work.mkdir(parents=True, exist_ok=True)
    lib_linker, exe_linker = seat
    for lib in range(program.libraries, 0, -1):
        needed = [work / soname(n) for n in program.lib_needs[lib - 1]]
        link_library(lib_linker, objects[lib], needed, work / soname(lib), options.m32)
    exe = work / "main"
    libs = [work / soname(n) for n in program.exe_needs] + [libtrace / "libtrace1.so"]
    pie = options.exe_pie and program.exe_pic != "nopic"
    link_executable(exe_linker, objects[0], libs, exe, options.m32, pie)
    return exe


def judge_seat(program: ModuleProgram, objects: list[list[Path]], options: BuildOptions,
               seat: tuple[str, str], work: Path, libtrace: Path,
               native: bool = True) -> Verdict:
    try:
        exe = link_seat(program, objects, options, seat, work, libtrace)
    except (LinkFailed, LinkError) as err:
        text = str(err)
        if isinstance(err, LinkError) and any(n in text for n in (*NOT_YET, *KNOWN_REFUSALS)):
            return Verdict((), text)
        return Verdict((f"seat {seat}: link failed: {text}",))
    problems: list[str] = []
    lib_linker, exe_linker = seat
    for lib in range(1, program.libraries + 1):
        path = work / soname(lib)
        problems += [f"{soname(lib)} ({lib_linker}): {p}" for p in judge.structure(path)]
        problems += [f"{soname(lib)} ({lib_linker}): {p}"
                     for p in judge.fields(path, objects[lib])]
    problems += [f"main ({exe_linker}): {p}" for p in judge.structure(exe)]
    problems += [f"main ({exe_linker}): {p}" for p in judge.fields(exe, objects[0])]
    want = expected_trace(program)
    _, status = outcome(program)
    seed = zlib.crc32(exe.read_bytes())  # reproducible per output, different per program
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind, library_path=[work, libtrace], seed=seed + len(bind))
        problems += [f"emulated ({bind}, seed {result.seed}): {f.describe()}"
                     for f in result.faults]
        # the emulated ld.so's own __tls_get_addr is traced too; the model speaks of libtrace
        trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace
                      if t.library.startswith("libtrace"))
        if trace != want:
            problems.append(f"emulated ({bind}, seed {result.seed}): trace {trace} != model "
                            f"{want}")
        if result.exit_code != status:
            problems.append(f"emulated ({bind}): exit {result.exit_code} != model {status}")
    if native:
        problems += _native(exe, want, status, [work, libtrace])
    return Verdict(tuple(f"seat {seat}: {p}" for p in problems))


def _native(exe: Path, want: tuple[tuple[str, str, tuple[int, ...]], ...], status: int,
            dirs: list[Path]) -> list[str]:
    problems = []
    for bind_now in (False, True):
        env = {"PATH": os.environ.get("PATH", ""),
               "LD_LIBRARY_PATH": ":".join(map(str, dirs))}
        if bind_now:
            env["LD_BIND_NOW"] = "1"
        result = run_native(str(exe), env=env, timeout=20)
        how = "native (now)" if bind_now else "native (lazy)"
        trace = parse_native_trace(result.stderr)
        if trace != want:
            problems.append(f"{how}: trace {trace} != model {want}")
        if result.exit_code != status:
            problems.append(f"{how}: exit {result.exit_code} != model {status}")
    return problems
