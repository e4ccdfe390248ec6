"""Emulator speed: bare Unicorn against oracle.run() on a guest loop, and whole small runs
per second (load + bind + run) of a dynamic hello world, ELF x86-64, ELF i386 and Mach-O.

    .venv/bin/python bench/emulate_speed.py                  # hellos x200, loops x5
    .venv/bin/python bench/emulate_speed.py --runs 500 --json emulate.json
    .venv/bin/python bench/emulate_speed.py --profile        # pyinstrument on hello (lazy)
    .venv/bin/python bench/emulate_speed.py --only-compute --compute-runs 5

Then the compute-heavy section (bench/compute_speed.py): an N-queens search and a sieve
with memcpy and qsort callbacks, per target (ELF x86-64 and i386, Mach-O x86-64 and i386),
bare Unicorn on the freestanding image against `linkharness run` and oracle.run on the
dynamic program.

Programs: see bench/emulate_programs.py.  Every run is a whole oracle.run() call in this
process (read the file, map, relocate, bind, run, collect the trace) and is checked: exit
0, the expected output, no fault.  A fast wrong run is not a result.  One warm-up run
each, then N timed runs; the table gives the median wall time, the fastest, the median CPU
time of this process, runs/s from each median and, for the loops, instructions per second
of the loop alone.  The first row is bare Unicorn running the loop's two instructions on
a hookless instance.  The machine is shared (2 cores): when it is busy, wall time grows and
CPU time is the steadier figure.  The issue's aims: oracle.run at least half of bare
Unicorn's speed on the loop (without a budget), and 1,000 runs/s of each hello on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import unicorn

from bench.compute_programs import build_all
from bench.compute_speed import ComputeTiming, WrongComputeRun, time_compute
from bench.compute_speed import table as compute_table
from bench.emulate_programs import Program, bare_loop_seconds, build
from bench.inprocess_profile import profile_call
from bench.linkers import project_commit
from bench.object_cache import DEFAULT_CACHE

BENCHMARK = "emulator speed: bare Unicorn vs oracle.run on a loop; hello runs/s (ELF, Mach-O)"
AIM_RUNS_PER_S = 1000
AIM_FRACTION_OF_BARE = 0.5
BARE = "bare Unicorn loop"


@dataclass(frozen=True)
class Timing:
    """N timed runs of one program: wall and CPU seconds each (CPU: this process's, the
    steadier figure on a shared machine), and the instructions of the last."""

    program: str
    bind: str
    wall_s: tuple[float, ...]
    cpu_s: tuple[float, ...]
    instructions: int | None  # counted only in runs with a budget (and the bare loop)
    loop_instructions: int

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s)

    @property
    def runs_per_s(self) -> float:
        return 1.0 / self.median_s

    @property
    def runs_per_cpu_s(self) -> float:
        return 1.0 / self.median_cpu_s

    @property
    def instructions_per_s(self) -> float:
        """Of the loop alone for the loops; 0 for the hellos (not counted)."""
        return self.loop_instructions / self.median_s

    @property
    def instructions_per_cpu_s(self) -> float:
        return self.loop_instructions / self.median_cpu_s

    def to_json(self) -> dict[str, object]:
        return {"program": self.program, "bind": self.bind, "runs": len(self.wall_s),
                "median_s": self.median_s, "min_s": min(self.wall_s),
                "max_s": max(self.wall_s), "runs_per_s": self.runs_per_s,
                "median_cpu_s": self.median_cpu_s, "runs_per_cpu_s": self.runs_per_cpu_s,
                "instructions": self.instructions, "loop_instructions": self.loop_instructions,
                "instructions_per_s": self.instructions_per_s,
                "instructions_per_cpu_s": self.instructions_per_cpu_s, "wall_s": list(self.wall_s),
                "cpu_s": list(self.cpu_s)}


class WrongRun(Exception):
    """A run that did not do what the program does natively."""


def run_checked(program: Program) -> int | None:
    """One oracle.run() of `program`; its instruction count (None without a budget), or
    WrongRun."""
    from oracle import run

    result = run(program.path, [program.path.name], bind=program.bind,
                 max_instructions=program.max_instructions)
    if result.faults or result.exit_code != 0 or result.stdout != program.stdout:
        what = "; ".join(f.describe() for f in result.faults) or (
            f"exit {result.exit_code}, stdout {result.stdout!r}")
        raise WrongRun(f"{program.name}: {what}")
    return result.instructions


def time_program(program: Program, runs: int, warmup: int = 1) -> Timing:
    """`warmup` untimed runs, then `runs` timed ones (perf_counter around oracle.run)."""
    for _ in range(warmup):
        run_checked(program)
    times, cpu_times = [], []
    instructions: int | None = None
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        instructions = run_checked(program)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    return Timing(program.name, program.bind, tuple(times), tuple(cpu_times), instructions,
                  program.loop_instructions)


def time_bare_loop(loop_instructions: int, runs: int) -> Timing:
    """Bare Unicorn on the loop, `runs` times (a fresh instance each, set up off the clock)."""
    walls, cpus = zip(*(bare_loop_seconds(loop_instructions) for _ in range(runs)),
                      strict=True)
    return Timing(BARE, "-", tuple(walls), tuple(cpus), loop_instructions, loop_instructions)


def table(timings: list[Timing]) -> str:
    """The report: one row per program."""
    head = (f"{'program':<30} {'bind':<4} {'runs':>4} {'median ms':>9} {'min ms':>7} "
            f"{'CPU ms':>7} {'runs/s':>7} {'runs/CPU-s':>10} {'instructions':>12} "
            f"{'Minstr/s':>8} {'Minstr/CPU-s':>12}")
    rows = [head, "-" * len(head)]
    for t in timings:
        counted = f"{t.instructions:>12,}" if t.instructions is not None else f"{'-':>12}"
        speeds = (f"{t.instructions_per_s / 1e6:>8.1f} {t.instructions_per_cpu_s / 1e6:>12.1f}"
                  if t.loop_instructions else f"{'-':>8} {'-':>12}")
        rows.append(f"{t.program:<30} {t.bind:<4} {len(t.wall_s):>4} {1e3 * t.median_s:>9.2f} "
                    f"{1e3 * min(t.wall_s):>7.2f} {1e3 * t.median_cpu_s:>7.2f} "
                    f"{t.runs_per_s:>7.1f} {t.runs_per_cpu_s:>10.1f} {counted} {speeds}")
    rows += summary(timings)
    return "\n".join(rows)


def summary(timings: list[Timing]) -> list[str]:
    """The aims against what was measured (CPU time: the steadier figure)."""
    lines = []
    bare = next((t for t in timings if t.program == BARE), None)
    unbudgeted = [t for t in timings if t.loop_instructions and t.program != BARE
                  and t.instructions is None]
    if bare is not None and unbudgeted:
        ratio = unbudgeted[0].instructions_per_cpu_s / bare.instructions_per_cpu_s
        lines.append(f"aim: oracle.run on the loop at least {AIM_FRACTION_OF_BARE:.0%} of bare "
                     f"Unicorn; here {ratio:.2f}x bare per CPU-second (whole runs, load "
                     "included)")
    hello = [t for t in timings if t.loop_instructions == 0]
    if hello:
        worst = min(hello, key=lambda t: t.runs_per_cpu_s)
        lines.append(f"aim: {AIM_RUNS_PER_S} runs/s of each hello on one core; slowest here "
                     f"{worst.program} at {worst.runs_per_cpu_s:.0f} per CPU-second "
                     f"({worst.runs_per_s:.0f} wall)")
    return lines


def record(timings: list[Timing], compute: list[ComputeTiming] | None = None
           ) -> dict[str, object]:
    """The JSON record: figures plus what they were measured on."""
    return {"benchmark": "emulate_speed", "commit": project_commit(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(), "unicorn": unicorn.__version__,
            "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
            "aim_runs_per_s": AIM_RUNS_PER_S, "aim_fraction_of_bare": AIM_FRACTION_OF_BARE,
            "programs": [t.to_json() for t in timings],
            "compute_heavy": [t.to_json() for t in compute or []]}


def profile(program: Program, runs: int, out_dir: Path) -> str:
    """`runs` runs of `program` under pyinstrument (bench/inprocess_profile.py), after one
    unprofiled run: imports and first-run caches are not what we are after."""
    run_checked(program)

    def work() -> None:
        for _ in range(runs):
            run_checked(program)

    return profile_call(work, out_dir, "emulate-profile", f"profile of {runs} runs of "
                        f"{program.name}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200, help="timed runs of each hello (median)")
    p.add_argument("--loop-runs", type=int, default=5, help="timed runs of each loop (median)")
    p.add_argument("--loop-instructions", type=int, default=200_000_000)
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of each program first")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="built programs go here")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    p.add_argument("--compute-runs", type=int, default=3,
                   help="timed runs of each compute-heavy program each way (0: skip them)")
    p.add_argument("--only-compute", action="store_true",
                   help="the compute-heavy section alone")
    p.add_argument("--kernel-size", action="append", default=[], metavar="KERNEL=N",
                   help="a compute kernel's size (nqueens=12: the board; sortsieve=1500: "
                        "rounds)")
    p.add_argument("--profile", action="store_true",
                   help="profile --runs runs of hello (lazy) instead of timing")
    # `make bench` hands every benchmark the same arguments: ignore the others' options.
    args, _ = p.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out_dir = args.cache / "emulate_speed"
    programs = [] if args.only_compute else build(out_dir, args.loop_instructions)
    try:
        if args.profile:
            print(profile(programs[0], args.runs, out_dir), flush=True)
            return 0
        timings = []
        if not args.only_compute:
            timings = [time_bare_loop(args.loop_instructions, args.loop_runs)]
            timings += [time_program(p, args.loop_runs if p.loop_instructions else args.runs,
                                     args.warmup) for p in programs]
            print(table(timings), flush=True)
        compute = []
        if args.compute_runs > 0:
            sizes = {k: int(n) for k, n in (item.split("=") for item in args.kernel_size)}
            for program in build_all(args.cache / "compute_speed", sizes):
                compute.append(time_compute(program, args.compute_runs))
            print("\n" + compute_table(compute), flush=True)
    except (WrongRun, WrongComputeRun) as err:
        print(f"WRONG: {err}", file=sys.stderr)
        return 1
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record(timings, compute), indent=2) + "\n")
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
