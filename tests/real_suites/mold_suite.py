"""Run mold's own test suite (its shell tests, each compiling small C/C++ programs and
linking them through `cc -B.`) with GNU ld and then with linkharness in the linker's seat,
and classify what linkharness does with every test that GNU ld passes.

A tool, not a pytest module (`make mold-suite MOLD_SUITE=DIR`).  mold's tests are read
from the `test` directory of a mold checkout the caller names (`--suite DIR`); nothing of
them is copied into this repository, nor does it name their files.  Each test runs in a scratch directory of its own whose `ld` (what `-B.`
picks up) and `mold` (what a few tests call by name) are the linker under test, so a
test that passes options only mold knows fails with GNU ld too and drops out.

Outcomes for linkharness, on a test GNU ld passes:
  pass       the script printed OK
  warned     it passed, but linkharness printed a warning (a drop-in must say nothing)
  refused    it failed and linkharness had printed `linkharness: error: ...` (the line kept)
  wrong      it failed with no error from linkharness: a link that succeeded and then ran
             or read wrong, the worst outcome
  crash      a Python traceback or linkharness's "internal error" line
  timeout    over the per-test limit
  skipped    the script skipped itself (its probe link failed with linkharness only)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

GNU_LD = "/usr/bin/ld.bfd"
OTHER_ARCHES = ("aarch64", "arm", "armeb", "riscv32", "riscv64", "ppc64le", "ppc64", "ppc",
                "sparc64", "s390x", "sh4", "m68k", "loongarch64", "i686", "i386")
LINKHARNESS_LINE = re.compile(r"^linkharness: (error|warning): .*$", re.MULTILINE)
# GNU ld's warnings, as `cc -B.` runs it (./ld) or a test by the name ./mold
GNU_WARNING = re.compile(r"^\S*(?:ld|ld\.bfd|mold): warning: .*$", re.MULTILINE)
MODES = {"pie": "", "no-pie": "-no-pie"}


@dataclasses.dataclass
class Outcome:
    test: str
    linker: str
    mode: str
    status: str  # pass / fail / skipped / timeout (of the script)
    seconds: float
    failed_command: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    traceback: bool = False
    gnu_warnings: list[str] = dataclasses.field(default_factory=list)


def select_tests(suite: Path, machine: str) -> list[Path]:
    """The tests mold's CMake file runs for `machine`: the generic ones and its own
    `arch-MACHINE-*` (a 1.x tree keeps them in `test/elf/` as `MACHINE_*`)."""
    flat = not (suite / "elf").is_dir()
    directory = suite if flat else suite / "elf"
    chosen = []
    for script in sorted(directory.glob("*.sh")):
        name = script.name
        if flat:
            if name.startswith("arch-") and not name.startswith(f"arch-{machine}-"):
                continue
        else:
            arch = next((a for a in (*OTHER_ARCHES, "x86_64") if name.startswith(a + "_")),
                        None)
            if arch is not None and arch != machine:
                continue
        chosen.append(script)
    return chosen


def linker_dir(scratch: Path, linker: str, linker_path: str) -> Path:
    """A directory holding `ld` and `mold`, both the linker under test."""
    bindir = scratch / f"bin-{linker}"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in ("ld", "mold"):
        link = bindir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(linker_path)
    return bindir


def run_one(script: Path, linker: str, mode: str, bindir: Path, scratch: Path,
            timeout: float, machine: str) -> Outcome:
    work = Path(tempfile.mkdtemp(prefix=f"{script.stem}-{linker}-{mode}-", dir=scratch))
    for name in ("ld", "mold"):
        (work / name).symlink_to(os.readlink(bindir / name))
    # i686 runs natively through multilib: the compilers get -m32 (the suite's own i686
    # runs name a cross toolchain by TRIPLE instead)
    extra = f"{MODES[mode]} -m32".strip() if machine == "i686" else MODES[mode]
    env = dict(os.environ, LC_ALL="C", MACHINE=machine)
    # The suite's own variables: every compiler it runs gets the mode's flag.
    for var, tool in (("TEST_CC", "cc"), ("TEST_CXX", "c++"), ("TEST_GCC", "gcc"),
                      ("TEST_GXX", "g++")):
        env[var] = f"{tool} {extra}".strip()
    start = time.monotonic()
    proc = subprocess.Popen(["nice", "-n", "10", "bash", str(script)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        text = out.decode("utf-8", "replace")
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        text = out.decode("utf-8", "replace")
        timed_out = True
    seconds = time.monotonic() - start
    lines = text.splitlines()
    # Under `set -x` (newer suites) the trace follows the verdict; `skip` prints
    # "skipped" and exits 0 without the EXIT trap's "OK".
    skipped = any(ln.rstrip().endswith("skipped") or ln == "+ skip" for ln in lines)
    if timed_out:
        status = "timeout"
    elif proc.returncode == 0 and skipped:
        status = "skipped"
    elif proc.returncode == 0 and any(ln.rstrip().endswith("OK") for ln in lines):
        status = "pass"
    else:
        status = "fail"
    failed = next((ln for ln in reversed(lines) if "command failed:" in ln), "")
    outcome = Outcome(
        test=script.stem, linker=linker, mode=mode, status=status,
        seconds=round(seconds, 2),
        failed_command=failed.split("command failed:", 1)[-1].strip()[:400],
        errors=sorted({m.group(0)[:400] for m in LINKHARNESS_LINE.finditer(text)
                       if m.group(1) == "error"}),
        warnings=sorted({m.group(0)[:400] for m in LINKHARNESS_LINE.finditer(text)
                         if m.group(1) == "warning"}),
        traceback="Traceback (most recent call last)" in text
        or "linkharness: internal error:" in text,
        gnu_warnings=sorted({m.group(0)[:400] for m in GNU_WARNING.finditer(text)}))
    if status != "pass" or outcome.warnings:
        (scratch / "logs").mkdir(exist_ok=True)
        (scratch / "logs" / f"{script.stem}.{linker}.{mode}.log").write_text(text)
    shutil.rmtree(work, ignore_errors=True)
    return outcome


def warning_key(line: str) -> str:
    """What a warning says, without the program's name, a trailing address or detail, or
    the random name of gcc's temporary object: `cannot find entry symbol _start` from GNU
    ld and linkharness alike."""
    text = line.split("warning: ", 1)[-1]
    text = re.sub(r"/tmp/cc\w+\.o", "/tmp/cc*.o", text)  # gcc's temporary objects
    return text.split(";")[0].split(" (")[0].strip()


def classify(lh: Outcome, gnu: Outcome | None = None) -> str:
    """`gnu`: GNU ld's run of the same test; a warning it printed too is no fault."""
    if lh.traceback:
        return "crash"
    if lh.status == "pass":
        same = {warning_key(w) for w in gnu.gnu_warnings} if gnu is not None else set()
        return "warned" if any(warning_key(w) not in same for w in lh.warnings) else "pass"
    if lh.status == "timeout":
        return "timeout"
    if lh.status == "skipped":
        return "skipped"
    if lh.errors:
        return "refused"
    return "wrong"


def run_all(tests: list[Path], linker: str, linker_path: str, modes: list[str],
            scratch: Path, jobs: int, timeout: float, machine: str,
            report: bool) -> list[Outcome]:
    bindir = linker_dir(scratch, linker, linker_path)
    results: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, t, linker, m, bindir, scratch, timeout, machine)
                   for m in modes for t in tests]
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            outcome = fut.result()
            results.append(outcome)
            if report:
                print(f"[{linker} {done}/{len(futures)}] {outcome.mode:6} {outcome.test}: "
                      f"{outcome.status} ({outcome.seconds}s)", file=sys.stderr, flush=True)
    return results


def summarise(gnu: dict[tuple[str, str], Outcome], lh: dict[tuple[str, str], Outcome],
              modes: list[str]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for mode in modes:
        passing = sorted(t for (t, m), o in gnu.items() if m == mode and o.status == "pass")
        classes: Counter[str] = Counter()
        by_class: dict[str, list[dict[str, object]]] = {}
        for test in passing:
            outcome = lh.get((test, mode))
            if outcome is None:
                continue
            kind = classify(outcome, gnu[(test, mode)])
            classes[kind] += 1
            by_class.setdefault(kind, []).append(
                {"test": test, "failed_command": outcome.failed_command,
                 "errors": outcome.errors, "warnings": outcome.warnings})
        summary[mode] = {
            "tests": sum(1 for (_, m) in gnu if m == mode),
            "gnu_ld_passes": len(passing),
            "linkharness": dict(sorted(classes.items())),
            "by_class": by_class,
        }
    return summary


def print_table(summary: dict[str, object]) -> None:
    kinds = ["pass", "warned", "refused", "wrong", "crash", "timeout", "skipped"]
    print(f"{'mode':8} {'tests':>5} {'GNU ld ok':>9} " + " ".join(f"{k:>7}" for k in kinds))
    for mode, row in summary.items():
        assert isinstance(row, dict)
        counts = row["linkharness"]
        print(f"{mode:8} {row['tests']:>5} {row['gnu_ld_passes']:>9} "
              + " ".join(f"{counts.get(k, 0):>7}" for k in kinds))
    for mode, row in summary.items():
        assert isinstance(row, dict)
        for kind in ("wrong", "crash", "timeout", "warned", "refused", "skipped"):
            for entry in row["by_class"].get(kind, []):
                detail = ((entry["warnings"] if kind == "warned" else entry["errors"])
                          or [entry["failed_command"]])
                print(f"  {mode:6} {kind:8} {entry['test']}: {str(detail[0])[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path,
                        help="the `test` directory of a mold checkout (required to run)")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/mold-suite"))
    parser.add_argument("--json", type=Path, default=Path("build/mold-suite.json"))
    parser.add_argument("--modes", default="no-pie,pie")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--machine", default="x86_64", choices=("x86_64", "i686"),
                        help="i686: gcc -m32 (multilib), the generic and arch-i686 tests")
    parser.add_argument("--only", default="", help="comma-separated test names")
    parser.add_argument("--match", default="", help="a regex on test names")
    parser.add_argument("--gnu-cache", type=Path, default=None,
                        help="reuse GNU ld's outcomes from this JSON (written if absent)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--report", type=Path, default=None,
                        help="print the table of an earlier run's JSON again, and stop")
    args = parser.parse_args(argv)
    if args.report is not None:
        old = json.loads(args.report.read_text())
        runs = {name: {(o["test"], o["mode"]): Outcome(**o) for o in old[name]}
                for name in ("gnu", "linkharness")}
        modes = sorted({mode for _test, mode in runs["gnu"]}, key=lambda m: m != "no-pie")
        print(f"mold test suite {old.get('directory', '?')}, {old['machine']}")
        print_table(summarise(runs["gnu"], runs["linkharness"], modes))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from linker.shim import shim_dir

    modes = [m for m in args.modes.split(",") if m]
    args.scratch.mkdir(parents=True, exist_ok=True)
    if args.suite is None or not args.suite.is_dir():
        parser.error("--suite DIR: the test directory of a mold checkout")
    suite = args.suite.resolve()
    tests = select_tests(suite, args.machine)
    if args.only:
        wanted = set(args.only.split(","))
        tests = [t for t in tests if t.stem in wanted]
    if args.match:
        tests = [t for t in tests if re.search(args.match, t.stem)]
    run_dir = args.scratch / "runs"
    run_dir.mkdir(exist_ok=True)

    gnu: dict[tuple[str, str], Outcome] = {}
    if args.gnu_cache and args.gnu_cache.exists():
        for row in json.loads(args.gnu_cache.read_text()):
            o = Outcome(**row)
            gnu[(o.test, o.mode)] = o
    missing = [t for t in tests if any((t.stem, m) not in gnu for m in modes)]
    if missing:
        for o in run_all(missing, "gnu", GNU_LD, modes, run_dir, args.jobs, args.timeout,
                         args.machine, not args.quiet):
            gnu[(o.test, o.mode)] = o
        if args.gnu_cache:
            args.gnu_cache.parent.mkdir(parents=True, exist_ok=True)
            args.gnu_cache.write_text(json.dumps([dataclasses.asdict(o) for o in gnu.values()]))
    names = {t.stem for t in tests}
    gnu = {k: v for k, v in gnu.items() if k[0] in names and k[1] in modes}

    lh: dict[tuple[str, str], Outcome] = {}
    shim = os.path.join(shim_dir(), "ld")
    for mode in modes:
        passing = [t for t in tests if gnu[(t.stem, mode)].status == "pass"]
        for o in run_all(passing, "linkharness", shim, [mode], run_dir, args.jobs,
                         args.timeout, args.machine, not args.quiet):
            lh[(o.test, o.mode)] = o

    summary = summarise(gnu, lh, modes)
    payload = {"suite": "mold", "directory": str(suite), "machine": args.machine,
               "summary": summary,
               "gnu": [dataclasses.asdict(o) for o in gnu.values()],
               "linkharness": [dataclasses.asdict(o) for o in lh.values()]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=1))
    print(f"mold test suite {suite}, {args.machine}; logs in {run_dir}/logs")
    print_table(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
