"""Held-out C programs under the emulated dyld: each single-file program is built for
macOS with clang-14 against the project's Darwin headers (tests/macho_include), linked by
ld64.lld-14 and by linkharness, run under `oracle.run` lazily bound and bound at load, and
compared (stdout, stderr, exit status) with the same program built by gcc and run
natively on Linux.

A tool, not a pytest module (`make heldout-macho HELDOUT_MACHO=DIR...`).  It knows no
particular suite: it takes directories (or files) of single-file C programs that the
caller prepared outside this repository, and nothing of them is copied in.  Beside a
program `NAME.c` the directory may hold:
  NAME.c.args     its arguments (shell words), the same natively and emulated; each
                  line one run (NAME.c:0, NAME.c:1, ...)
  NAME.c.stdin    bytes fed to its standard input
  NAME.c.sources  more sources of the program, one a line, relative to its directory
  NAME.c.cflags   flags for both compilers (shell words: -I, -D)

Builds (`--builds`): x86_64 by linkharness (dyld-info opcodes), by linkharness with
chained fixups, by ld64.lld-14; i386 by linkharness (ld64.lld-14 has no i386).  The i386
builds are compared with gcc -m32's native run.

Outcome of one (program, build, bind) run:
  same       stdout, stderr and exit status as natively
  differs    it ran to an exit, and something differs
  fault      the emulator stopped it (unimplemented function, bad access, time limit)
  no-build   clang-14 could not compile it for Darwin (the headers lack something)
  no-link    the linker refused it (its one line kept)
A program whose native gcc build does not build, or does not finish within the native
time limit, is left out and counted as such.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oracle import RunResult

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # this checkout's oracle, run as a script from anywhere
INCLUDE = REPO / "tests" / "macho_include"
LIBSYSTEM = REPO / "linker" / "macho" / "data" / "libSystem.tbd"
TRIPLES = {"x86_64": ("x86_64-apple-macos10.15", "10.15", "64"),
           "i386": ("i386-apple-macos10.7", "10.7", "32")}


@dataclasses.dataclass(frozen=True)
class Build:
    arch: str
    linker: str  # "linkharness" or "ld64.lld"
    flags: tuple[str, ...] = ()


BUILDS = {
    "x86_64-lh": Build("x86_64", "linkharness", ("-no_fixup_chains",)),
    "x86_64-lh-chained": Build("x86_64", "linkharness", ("-fixup_chains",)),
    "x86_64-lld": Build("x86_64", "ld64.lld"),
    "i386-lh": Build("i386", "linkharness"),
}
BINDS = ("lazy", "now")
OUTCOMES = ("same", "differs", "fault", "no-build", "no-link")


@dataclasses.dataclass
class Native:
    stdout: bytes
    stderr: bytes
    exit_code: int


@dataclasses.dataclass
class Verdict:
    program: str
    build: str
    bind: str
    outcome: str
    detail: str = ""


def program_runs(source: Path) -> tuple[list[list[str]], bytes]:
    """The argument vectors (after argv[0]) the program runs with, one per line of its
    .args file (one empty vector without one), and its stdin."""
    args_file = source.with_name(source.name + ".args")
    stdin_file = source.with_name(source.name + ".stdin")
    lines = [ln for ln in args_file.read_text().splitlines() if ln.strip()] if args_file.exists() else []
    runs = [shlex.split(line) for line in lines] or [[]]
    return runs, stdin_file.read_bytes() if stdin_file.exists() else b""


def program_sources(source: Path) -> tuple[list[Path], list[str]]:
    """The program's sources (NAME.c, then those its .sources file names, relative to its
    directory) and the flags both compilers get (its .cflags: shell words)."""
    extra = source.with_name(source.name + ".sources")
    cflags = source.with_name(source.name + ".cflags")
    sources = [source] + ([source.parent / line.strip() for line in extra.read_text().splitlines()
                           if line.strip()] if extra.exists() else [])
    return sources, shlex.split(cflags.read_text()) if cflags.exists() else []


def build_native(source: Path, work: Path, bits: str, opt: str) -> Path | str:
    """gcc's build for this machine, or why there is none."""
    exe = work / f"native{bits}"
    sources, cflags = program_sources(source)
    built = subprocess.run(["gcc", f"-m{bits}", opt, "-w", *cflags, "-o", str(exe),
                            *map(str, sources), "-lm"],
                           capture_output=True, text=True, check=False)
    if built.returncode != 0:
        return "native build failed: " + (built.stderr.strip().splitlines() or ["?"])[-1]
    return exe


def run_native(exe: Path, argv0: str, args: list[str], stdin: bytes, timeout: float
               ) -> Native | str:
    try:
        # argv[0] is the program's name, as the emulated runs are given it
        done = subprocess.run([argv0, *args], executable=exe, input=stdin,
                              capture_output=True, timeout=timeout, check=False,
                              cwd=exe.parent)
    except subprocess.TimeoutExpired:
        return f"native run over {timeout:g} s"
    return Native(done.stdout, done.stderr, done.returncode)


def compile_darwin(source: Path, work: Path, arch: str, opt: str) -> list[Path] | str:
    """The program's objects for macOS on `arch`, or clang's first error."""
    sources, cflags = program_sources(source)
    objects = []
    for number, one in enumerate(sources):
        obj = work / f"{arch}-{number}-{one.stem}.o"
        done = subprocess.run(["clang-14", f"--target={TRIPLES[arch][0]}", "-nostdlibinc",
                               "-isystem", str(INCLUDE), opt, "-w", *cflags, "-c", "-o",
                               str(obj), str(one)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "error:" in line]
            return (errors or ["?"])[0]
        objects.append(obj)
    return objects


def link(build: Build, objects: list[Path], exe: Path) -> str | None:
    """None when linked, else the linker's complaint (its first line)."""
    args = ["-arch", build.arch, "-platform_version", "macos", TRIPLES[build.arch][1],
            "12.0", str(LIBSYSTEM), *build.flags, *map(str, objects), "-o", str(exe)]
    command = (["ld64.lld-14", *args] if build.linker == "ld64.lld"
               else [sys.executable, "-m", "linker.macho", *args])
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode == 0 and exe.exists():
        return None
    return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]


def _differences(native: Native, stdout: bytes, stderr: bytes, exit_code: int) -> str:
    parts = []
    if stdout != native.stdout:
        parts.append(f"stdout {_clip(stdout)} natively {_clip(native.stdout)}")
    if stderr != native.stderr:
        parts.append(f"stderr {_clip(stderr)} natively {_clip(native.stderr)}")
    if exit_code != native.exit_code:
        parts.append(f"exit {exit_code} natively {native.exit_code}")
    return "; ".join(parts)


def _clip(data: bytes, room: int = 120) -> str:
    text = repr(data)
    return text if len(text) <= room else text[:room] + f"...({len(data)} bytes)"


def judge_program(source: Path, builds: list[str], timeout: float, native_timeout: float,
                  opt: str = "-O1") -> tuple[list[Verdict], str | None]:
    """Every (run, build, bind) verdict of one program; or why it was left out.  A program
    with several runs (lines of its .args) names each `NAME.c:K`."""
    from oracle import run  # the harness's public entry point only

    runs, stdin = program_runs(source)
    argv0 = source.name.removesuffix(".c")
    names = [source.name] if len(runs) == 1 else [f"{source.name}:{k}" for k in range(len(runs))]
    verdicts: list[Verdict] = []
    with tempfile.TemporaryDirectory(prefix="heldout-macho-") as scratch:
        work = Path(scratch)
        natives: dict[str, list[Native]] = {}
        for arch in sorted({BUILDS[b].arch for b in builds}):
            exe = build_native(source, work, TRIPLES[arch][2], opt)
            outcomes = ([exe] if isinstance(exe, str) else
                        [run_native(exe, argv0, args, stdin, native_timeout) for args in runs])
            failed = next((o for o in outcomes if isinstance(o, str)), None)
            if failed is not None:
                if arch == "x86_64":
                    return [], failed
                continue  # no 32-bit build natively: its Darwin builds are not judged
            natives[arch] = [o for o in outcomes if isinstance(o, Native)]
        objects: dict[str, list[Path] | str] = {arch: compile_darwin(source, work, arch, opt)
                                          for arch in natives}
        for label in builds:
            build = BUILDS[label]
            if build.arch not in natives:
                continue
            obj = objects[build.arch]
            if isinstance(obj, str):
                verdicts += [Verdict(n, label, b, "no-build", obj) for n in names for b in BINDS]
                continue
            exe = work / f"{label}.exe"
            refusal = link(build, obj, exe)
            if refusal is not None:
                verdicts += [Verdict(n, label, b, "no-link", refusal)
                             for n in names for b in BINDS]
                continue
            for name, args, native in zip(names, runs, natives[build.arch]):
                for bind in BINDS:
                    result = run(str(exe), [argv0, *args], bind=bind, stdin=stdin,
                                 timeout=timeout)
                    verdicts.append(_verdict(name, label, bind, native, result))
    return verdicts, None


def _verdict(name: str, label: str, bind: str, native: Native, result: RunResult) -> Verdict:
    if result.faults:
        fault = result.faults[0]
        return Verdict(name, label, bind, "fault", f"{fault.kind}: {fault.message}")
    assert result.exit_code is not None
    diff = _differences(native, result.stdout, result.stderr, result.exit_code)
    return Verdict(name, label, bind, "differs" if diff else "same", diff)


def collect(paths: list[Path]) -> list[Path]:
    sources: list[Path] = []
    for path in paths:
        sources += sorted(path.glob("*.c")) if path.is_dir() else [path]
    return sources


def summary(verdicts: list[Verdict], skipped: dict[str, str], builds: list[str]) -> str:
    lines = [f"{'build':<24}" + "".join(f"{o:>10}" for o in OUTCOMES)]
    for label in builds:
        for bind in BINDS:
            counts = Counter(v.outcome for v in verdicts if v.build == label and v.bind == bind)
            lines.append(f"{label + ' ' + bind:<24}"
                         + "".join(f"{counts[o]:>10}" for o in OUTCOMES))
    per_program: dict[str, set[str]] = {}
    for v in verdicts:
        per_program.setdefault(v.program, set()).add(v.outcome)
    whole = Counter(next((o for o in reversed(OUTCOMES) if o in seen), "same")
                    if seen != {"same"} else "same" for seen in per_program.values())
    lines.append(f"programs: {len(per_program)} judged, "
                 + ", ".join(f"{whole[o]} {o}" for o in OUTCOMES if whole[o])
                 + f" (a program counts as its worst run); {len(skipped)} left out "
                 "(no native build or run)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="+", type=Path,
                        help="directories of single-file C programs, or .c files")
    parser.add_argument("--builds", default=",".join(BUILDS),
                        help=f"comma-separated, of {', '.join(BUILDS)}")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="the emulator's wall-time limit per run, seconds")
    parser.add_argument("--native-timeout", type=float, default=10.0)
    parser.add_argument("--opt", default="-O1", choices=("-O0", "-O1", "-O2", "-O3", "-Os"),
                        help="the optimisation level of both compilers")
    parser.add_argument("--json", type=Path, help="write every verdict here")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every run that is not the same as natively")
    options = parser.parse_args(argv)
    builds = options.builds.split(",")
    unknown = [b for b in builds if b not in BUILDS]
    if unknown:
        parser.error(f"unknown build {unknown[0]!r}")
    sources = collect(options.programs)
    verdicts: list[Verdict] = []
    skipped: dict[str, str] = {}
    with concurrent.futures.ProcessPoolExecutor(options.jobs) as pool:
        futures = {pool.submit(judge_program, s, builds, options.timeout,
                               options.native_timeout, options.opt): s for s in sources}
        for future in concurrent.futures.as_completed(futures):
            source = futures[future]
            got, why = future.result()
            if why is not None:
                skipped[source.name] = why
            verdicts += got
            if options.verbose:
                for v in got:
                    if v.outcome != "same":
                        print(f"{v.program} {v.build} {v.bind}: {v.outcome}: {v.detail}",
                              flush=True)
    verdicts.sort(key=lambda v: (v.program, v.build, v.bind))
    print(summary(verdicts, skipped, builds))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(
            {"verdicts": [dataclasses.asdict(v) for v in verdicts], "left_out": skipped},
            indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
