"""Held-out real C programs, linked by GNU ld, run natively and under the emulator.

Issue 12's last "done when": C programs no one here wrote, linked by GNU ld, must print and
exit under `oracle.run` as they do natively.  The programs (`heldout_sources.py`) come
from directories and manifests the caller names (a C test suite's single-file programs,
say) and from Debian bookworm sources (zlib, bzip2, sqlite3, Lua, built by their own
makefiles); none is copied into the repository.  A tool, not a pytest module (`make
heldout-programs`):

    python tests/real_suites/heldout_programs.py [--work DIR] [--suite debian]
        [--c-programs DIR ...] [--manifest FILE ...]
        [--arch x86_64|i386 ...] [--variant pie-lazy ...] [--only NAME ...] [--jobs N]

Each program is built for x86-64 and i386, PIE and -no-pie (gcc's defaults for each), and
linked by GNU ld lazy and with `-z now`: eight links (`--linker linkharness`: by this
checkout's linker instead, through `gcc -B` its shim; each link is then judged the same way).  Each link is run natively and under
`oracle.run` (the lazy links with lazy binding, the `-z now` ones eagerly, as the emulated
ld.so decides from the file), with the same arguments, stdin and starting files; stdout,
stderr and the exit status are compared.  Outcomes per run:

  same      all three equal
  differs   the run ended normally but printed or exited otherwise (the first difference kept)
  fault     the emulated run faulted: the fault's line (an unimplemented libc function
            names itself)
Programs whose native build or run fails (a test program gcc rejects for -m32, a
native timeout) are counted apart as "not built" / "native failed" and not judged.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import shim_directory
from heldout_sources import SUITES, Program, from_manifest, single_files

VARIANTS = {  # name -> (pie, gcc link flags)
    "pie-lazy": ("pie", ["-pie", "-Wl,-z,lazy"]),
    "pie-now": ("pie", ["-pie", "-Wl,-z,now"]),
    "nopie-lazy": ("no-pie", ["-no-pie", "-Wl,-z,lazy"]),
    "nopie-now": ("no-pie", ["-no-pie", "-Wl,-z,now"]),
}
NATIVE_TIMEOUT = 20.0
EMULATED_TIMEOUT = 120.0


@dataclass
class Outcome:
    suite: str
    program: str
    arch: str
    variant: str
    status: str  # same / differs / fault / not-built / native-failed
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Ran:
    stdout: bytes
    stderr: bytes
    exit_code: int | None


# which linker gcc runs: GNU ld (the held-out run), or this checkout's linkharness
# through its `ld` shim (`--linker linkharness`: the same programs judge our own links)
LINKERS: dict[str, list[str]] = {"gnu": ["-fuse-ld=bfd"], "linkharness": []}


@functools.cache
def _shim() -> Path:
    return shim_directory()


def link(program: Program, arch: str, variant: str, work: Path, linker: str = "gnu") -> Path:
    pie, flags = VARIANTS[variant]
    scratch = work / "build" / program.suite / program.name / f"{arch}-{pie}"
    scratch.mkdir(parents=True, exist_ok=True)
    inputs = program.inputs(arch, pie, scratch)
    out = scratch / f"{program.name}-{variant}" if linker == "gnu" else \
        scratch / f"{program.name}-{variant}-{linker}"
    choose = LINKERS[linker] if linker == "gnu" else ["-B", str(_shim())]
    subprocess.run(["gcc", *choose, *(["-m32"] if arch == "i386" else []), *flags,
                    *inputs, *program.libs, "-o", str(out)],
                   check=True, capture_output=True, timeout=300)
    return out


def run_native(exe: Path, program: Program, stdin: bytes) -> Ran:
    with tempfile.TemporaryDirectory(prefix="heldout-") as cwd:
        if program.files is not None:
            shutil.copytree(program.files, cwd, dirs_exist_ok=True)
        done = subprocess.run([f"./{program.name}", *program.args], executable=str(exe),
                              check=False, input=stdin, capture_output=True, cwd=cwd, env={},
                              timeout=NATIVE_TIMEOUT)
    code = done.returncode if done.returncode >= 0 else 128 - done.returncode
    return Ran(done.stdout, done.stderr, code)


def run_emulated(exe: Path, program: Program, variant: str, stdin: bytes) -> tuple[Ran, str]:
    import oracle

    result = oracle.run(exe, [f"./{program.name}", *program.args], {},
                        bind="now" if variant.endswith("now") else "lazy", stdin=stdin,
                        timeout=EMULATED_TIMEOUT, files_from=program.files)
    faults = [f for f in result.faults if f.kind not in ("abort", "signal")]
    detail = faults[0].describe() if faults else ""
    return Ran(result.stdout, result.stderr, result.exit_code), detail


def first_difference(native: Ran, emulated: Ran) -> str:
    for what in ("exit_code", "stdout", "stderr"):
        a, b = getattr(native, what), getattr(emulated, what)
        if a != b:
            if isinstance(a, bytes) and isinstance(b, bytes):
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                return (f"{what} at byte {at}: native {a[at:at + 40]!r}, "
                        f"emulated {b[at:at + 40]!r}")
            return f"{what}: native {a!r}, emulated {b!r}"
    return ""


def judge(program: Program, arch: str, variant: str, work: Path, stdin: bytes,
          linker: str = "gnu") -> Outcome:
    start = time.monotonic()
    outcome = Outcome(program.suite, program.name, arch, variant, "same")
    try:
        exe = link(program, arch, variant, work, linker)
    except subprocess.CalledProcessError as err:
        lines = (err.stderr or b"").decode(errors="replace").strip().splitlines()
        outcome.status, outcome.detail = "not-built", lines[-1] if lines else str(err)
        return outcome
    try:
        native = run_native(exe, program, stdin)
    except subprocess.TimeoutExpired:
        outcome.status, outcome.detail = "native-failed", "native timeout"
        return outcome
    emulated, fault = run_emulated(exe, program, variant, stdin)
    if fault:
        outcome.status, outcome.detail = "fault", fault
    elif (difference := first_difference(native, emulated)):
        outcome.status, outcome.detail = "differs", difference
    outcome.seconds = round(time.monotonic() - start, 2)
    return outcome


def stdin_of(program: Program, arch: str, by_name: dict[str, Program], work: Path) -> bytes:
    """A program's stdin: its own, or the native output of the program it reads from."""
    if not program.stdin_from:
        return program.stdin
    source = by_name[program.stdin_from]
    cache = work / "stdin" / f"{program.stdin_from}-{arch}"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        producer = link(source, arch, "pie-lazy", work)
        cache.write_bytes(run_native(producer, source, source.stdin).stdout)
    return cache.read_bytes()


# the programs hold closures, which do not pickle: workers are forked and find them here
_PROGRAMS: list[Program] = []


def judge_program(index: int, arches: list[str], variants: list[str], work: Path,
                  linker: str) -> list[Outcome]:
    program = _PROGRAMS[index]
    by_name = {p.name: p for p in _PROGRAMS}
    outcomes = []
    for arch in arches:
        try:
            stdin = stdin_of(program, arch, by_name, work)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            outcomes += [Outcome(program.suite, program.name, arch, v, "not-built", str(err))
                         for v in variants]
            continue
        outcomes += [judge(program, arch, v, work, stdin, linker) for v in variants]
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    statuses = ["same", "differs", "fault", "not-built", "native-failed"]
    rows: defaultdict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        rows[(o.suite, o.arch, o.variant)][o.status] += 1
        rows[("all", "", "")][o.status] += 1
    lines = ["| suite | arch | variant | " + " | ".join(statuses) + " |",
             "|---|---|---|" + "---|" * len(statuses)]
    for key in sorted(rows, key=lambda k: (k[0] == "all", k)):
        lines.append("| " + " | ".join(key) + " | "
                     + " | ".join(str(rows[key][s]) for s in statuses) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("build/heldout-programs"))
    parser.add_argument("--suite", action="append", choices=sorted(SUITES),
                        help="the built-in suites (default: all, unless directories or "
                             "manifests are given)")
    parser.add_argument("--c-programs", type=Path, action="append", default=[],
                        metavar="DIR", help="every *.c of DIR, one program each")
    parser.add_argument("--manifest", type=Path, action="append", default=[],
                        help="a JSON list of programs (heldout_sources.from_manifest)")
    parser.add_argument("--arch", action="append", choices=["x86_64", "i386"])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--only", action="append", help="program names")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--linker", choices=sorted(LINKERS), default="gnu",
                        help="gnu: GNU ld (default); linkharness: this checkout's, via its shim")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    options = parser.parse_args(argv)
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    programs: list[Program] = []
    for directory in options.c_programs:
        programs += single_files(directory)
    for manifest in options.manifest:
        programs += from_manifest(manifest)
    given = options.c_programs or options.manifest
    for suite in options.suite or ([] if given else sorted(SUITES)):
        programs += SUITES[suite](work)
    _PROGRAMS[:] = programs
    chosen = [i for i, p in enumerate(programs) if not options.only or p.name in options.only]
    arches = options.arch or ["x86_64", "i386"]
    variants = options.variant or list(VARIANTS)
    # builds of one project share a directory: build them before the pool fans out
    for program in (programs[i] for i in chosen):
        if program.suite == "debian":
            for arch in arches:
                for pie in {VARIANTS[v][0] for v in variants}:
                    scratch = work / "build" / program.suite / program.name / f"{arch}-{pie}"
                    scratch.mkdir(parents=True, exist_ok=True)
                    program.inputs(arch, pie, scratch)
    outcomes: list[Outcome] = []
    forked = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(options.jobs, mp_context=forked) as pool:
        futures = [pool.submit(judge_program, i, arches, variants, work, options.linker)
                   for i in chosen]
        for future in concurrent.futures.as_completed(futures):
            for o in future.result():
                outcomes.append(o)
                if o.status != "same":
                    print(f"{o.status:13} {o.suite}/{o.program} {o.arch} {o.variant}: "
                          f"{o.detail}", flush=True)
    outcomes.sort(key=lambda o: (o.suite, o.program, o.arch, o.variant))
    print(table(outcomes))
    if options.json:
        options.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
