"""Fuzz throughput: examples per second of the fuzz properties, on one core.

    .venv/bin/python bench/fuzz_throughput.py                 # (a) and (b), 30 examples, seed 0
    .venv/bin/python bench/fuzz_throughput.py --examples 100 --properties a,b,i386,macho \
        --json fuzz.json
    .venv/bin/python bench/fuzz_throughput.py --profile       # pyinstrument on property (a)

Properties: (a) and (b) (bench/fuzz_stages.py), the i386 and Mach-O linkharness properties
(bench/fuzz_stages_more.py); each draws its examples from its own property's strategy.

Each property's examples are drawn by its own test's strategy (for (a) and (b)
fuzz.pipeline.linkharness_cases: fuzz.strategies.programs() with link options, -pie for
PIE-legal models) in a seeded Hypothesis run (no database, generate phase only) whose test
body runs the property's stages on each example as it is drawn, as the property's own test
does: the run's time outside the bodies is the generation cost (drawing, and Hypothesis's
own work per example). Property (a) is linkharness link, oracle.check, the
relocation-field oracle, the debug-information judge, oracle.run lazy and now; property
(b) is GNU ld, gold, lld and mold, each output emulated, and the linkharness output run
natively, lazily and with LD_BIND_NOW. Each stage is timed in wall time and in CPU time,
this process's plus its children's: linkers, assemblers, native runs
(bench/fuzz_stages.py); each example works in a directory of the properties' own kind
(fuzz.scratch.RecyclingDirs), whose cost is "other". Beside
them, in the same run, the issue's baseline: a shell pipeline of GNU as + GNU ld + a native
run of a trivial case (bench/shell_baseline.py), and each property's ratio to it; and,
after property (a), the same-work baseline: (a)'s very examples as assembly text through
GNU as, GNU ld with (a)'s link options and a native run (shell_baseline.measure_same_work),
with (a)'s ratio to it. The
property (a) share of examples that the fuzz test also assembles with GNU as and llvm-mc
is not included: it is (a) again on other objects. Everything runs in this one process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fuzz_stages import property_a, property_b
from bench.fuzz_stages_more import property_i386, property_macho
from bench.inprocess_profile import profile_call
from bench.linkers import project_commit
from bench.object_cache import DEFAULT_CACHE
from bench.shell_baseline import Baseline, SameWork, measure_baseline, measure_same_work
from bench.stage_clock import StageClock, StageCost, cpu_now
from fuzz.scratch import RecyclingDirs, scratch_parent

BENCHMARK = "fuzz throughput: examples/s of the fuzz properties, cost per stage"
AIM_A_PER_S = 100
GENERATION = "generation (Hypothesis draw)"
OTHER = "other (directories, cleanup)"

from typing import Any

from hypothesis import strategies as st

from fuzz.model import Program
from fuzz.pipeline import LinkOptions

Example = tuple[Program, LinkOptions]
# (drawn case, work directory, libtrace directory, clock) -> problems found
Property = Callable[[Any, Path, Path, StageClock], list[str]]


def _a(case: Example, work: Path, lib_dir: Path, clock: StageClock) -> list[str]:
    return property_a(*case, work, lib_dir, clock)


def _b(case: Example, work: Path, lib_dir: Path, clock: StageClock) -> list[str]:
    return property_b(*case, work, lib_dir, clock)


def _linkharness_cases() -> st.SearchStrategy[Any]:
    from fuzz.pipeline import linkharness_cases
    return linkharness_cases()


def _i386_cases() -> st.SearchStrategy[Any]:
    from fuzz.strategies_i386 import i386_cases
    return i386_cases()


def _macho_cases() -> st.SearchStrategy[Any]:
    from fuzz.macho.strategies import macho_cases
    return macho_cases()


@dataclass(frozen=True)
class Spec:
    """A property: its name, the strategy its test draws from, the libtrace build it runs
    against (-m32 for i386; Mach-O uses .tbd stubs and needs none)."""

    key: str
    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    run: Property
    m32: bool = False


A_NAME = "property (a)"
PROPERTIES = (Spec("a", A_NAME, _linkharness_cases, _a),
              Spec("b", "property (b)", _linkharness_cases, _b),
              Spec("i386", "i386 linkharness property", _i386_cases, property_i386, m32=True),
              Spec("macho", "Mach-O linkharness property (3 links)", _macho_cases,
                   property_macho))


@dataclass(frozen=True)
class Throughput:
    """One property over the examples: per-stage seconds (generation included)."""

    name: str
    examples: int
    stages: tuple[StageCost, ...]
    problems: tuple[str, ...]  # what the checks found (linker or oracle findings)
    cases: tuple[Any, ...] = ()  # the examples drawn, in order (for the same-work baseline)

    @property
    def total_s(self) -> float:
        return sum(s.seconds for s in self.stages)

    @property
    def total_cpu_s(self) -> float:
        return sum(s.cpu_seconds for s in self.stages)

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.total_s

    @property
    def examples_per_cpu_s(self) -> float:
        """Examples per second of CPU time (this process and its children)."""
        return self.examples / self.total_cpu_s

    def to_json(self) -> dict[str, object]:
        return {"property": self.name, "examples": self.examples, "total_s": self.total_s,
                "total_cpu_s": self.total_cpu_s, "examples_per_s": self.examples_per_s,
                "examples_per_cpu_s": self.examples_per_cpu_s,
                "ms_per_example": 1e3 * self.total_s / self.examples,
                "cpu_ms_per_example": 1e3 * self.total_cpu_s / self.examples,
                "stages": [{"stage": s.stage, "seconds": s.seconds,
                            "cpu_seconds": s.cpu_seconds, "calls": s.calls,
                            "ms_per_example": 1e3 * s.seconds / self.examples,
                            "cpu_ms_per_example": 1e3 * s.cpu_seconds / self.examples}
                           for s in self.stages],
                "problems": list(self.problems)}


def draw_examples(strategy: st.SearchStrategy[Any], count: int, seed: int
                  ) -> tuple[list[Any], float, float]:
    """`count` examples of a property's strategy (seeded, no database, generation only),
    and the wall and CPU seconds drawing them took."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def collect(case: Any) -> None:
        drawn.append(case)

    start, cpu = time.perf_counter(), cpu_now()
    collect()
    return drawn[:count], time.perf_counter() - start, cpu_now() - cpu


def _scan_local_constants() -> None:
    """Hypothesis scans the source of every loaded module of the project for constants,
    once per process and again when modules were imported since: the first draw that
    asks for one pays it (about 30 ms).  Done before timing, as the other first-use costs
    are, when this Hypothesis has the scan."""
    try:
        from hypothesis.internal.conjecture.providers import _get_local_constants
    except ImportError:
        return
    _get_local_constants()


def measure_property(spec: Spec, count: int, seed: int, lib_dir: Path, scratch: Path
                     ) -> Throughput:
    """`count` examples of the property, drawn and run one after the other as its test runs
    them (a Hypothesis run seeded by `seed`, each example in a directory of the properties'
    own recycling kind), after one untimed warm-up example.  Generation is the run's time
    outside the examples' bodies: drawing and Hypothesis's own work per example."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    dirs = RecyclingDirs(scratch)
    (warm,), _, _ = draw_examples(spec.strategy(), 1, seed + 1)  # imports, caches, first use
    spec.run(warm, dirs.mktemp(spec.key), lib_dir, StageClock())
    _scan_local_constants()  # again, for the modules the warm-up imported
    clock = StageClock()
    problems: list[str] = []
    cases: list[Any] = []
    body = {"examples": 0, "s": 0.0, "cpu": 0.0}

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=spec.strategy())
    def run(case: Any) -> None:
        start, cpu = time.perf_counter(), cpu_now()
        work = dirs.mktemp(spec.key)
        cases.append(case)
        problems.extend(f"example {body['examples']}: {p}"
                        for p in spec.run(case, work, lib_dir, clock))
        body["examples"] += 1
        body["s"] += time.perf_counter() - start
        body["cpu"] += cpu_now() - cpu

    start, cpu = time.perf_counter(), cpu_now()
    run()
    wall, cpu = time.perf_counter() - start, cpu_now() - cpu
    staged = clock.costs()
    n = int(body["examples"])
    timed = StageClock()
    timed.add(GENERATION, wall - body["s"], cpu - body["cpu"], calls=n)
    for s in staged:
        timed.add(s.stage, s.seconds, s.cpu_seconds, s.calls)
    timed.add(OTHER, max(0.0, body["s"] - sum(s.seconds for s in staged)),
              max(0.0, body["cpu"] - sum(s.cpu_seconds for s in staged)), calls=n)
    return Throughput(spec.name, n, timed.costs(), tuple(problems), tuple(cases))


def profile_property_a(count: int, seed: int, lib_dir: Path, scratch: Path,
                       out_dir: Path) -> str:
    """Property (a) over `count` examples under pyinstrument, after a warm-up example."""
    def work() -> None:
        measure_property(PROPERTIES[0], count, seed, lib_dir, scratch)

    return profile_call(work, out_dir, "fuzz-profile-a",
                        f"profile of property (a) on {count} examples")


def table(results: list[Throughput], baseline: Baseline, same_work: SameWork | None) -> str:
    """Per property: examples/s, ratio to the baselines, and the cost of every stage."""
    lines = [(f"baseline (shell: as + ld + native run, trivial case, checks only the exit "
              f"status): {1e3 * baseline.median_s:.2f} ms/case, {baseline.cases_per_s:.0f} "
              f"cases/s, {baseline.cases_per_cpu_s:.0f} per CPU-second "
              f"(median of {len(baseline.wall_s)})")]
    if same_work is not None:
        lines.append(
            f"same-work baseline (shell: as + ld + {same_work.native_runs} native run(s) of "
            f"property (a)'s {same_work.examples} examples, exit status only): "
            f"{1e3 * sum(same_work.wall_s) / same_work.examples:.2f} ms/example "
            f"({1e3 * sum(same_work.cpu_s) / same_work.examples:.2f} ms CPU), "
            f"{same_work.cases_per_s:.0f} examples/s, {same_work.cases_per_cpu_s:.0f} per "
            f"CPU-second; {same_work.wrong_status} exit statuses differ from the model's; "
            f"{same_work.pie_refused} -pie examples GNU ld refuses linked -no-pie")
    for r in results:
        ms = 1e3 * r.total_s / r.examples
        cpu_ms = 1e3 * r.total_cpu_s / r.examples
        lines += ["", (f"{r.name}: {r.examples} examples, {ms:.1f} ms/example "
                      f"({cpu_ms:.1f} ms CPU), {r.examples_per_s:.1f} examples/s per core "
                      f"({r.examples_per_cpu_s:.1f} per CPU-second), "
                      f"{r.examples_per_s / baseline.cases_per_s:.3f}x the baseline's rate "
                      f"({r.examples_per_cpu_s / baseline.cases_per_cpu_s:.3f}x by CPU), "
                      f"{len(r.problems)} problems found"),
                  *([(f"  property (a) / same-work baseline: "
                     f"{r.examples_per_s / same_work.cases_per_s:.3f}x wall, "
                     f"{r.examples_per_cpu_s / same_work.cases_per_cpu_s:.3f}x by CPU")]
                    if same_work is not None and r.name == A_NAME else []),
                  f"  {'stage':<40} {'ms/example':>10} {'CPU ms':>8} {'share':>6}"]
        for s in r.stages:
            lines.append(f"  {s.stage:<40} {1e3 * s.seconds / r.examples:>10.2f} "
                         f"{1e3 * s.cpu_seconds / r.examples:>8.2f} "
                         f"{100 * s.seconds / r.total_s:>5.1f}%")
    lines.append(f"\naim: {AIM_A_PER_S} examples/s for property (a) with every check")
    return "\n".join(lines)


def record(results: list[Throughput], baseline: Baseline, same_work: SameWork | None,
           seed: int) -> dict[str, object]:
    def same_work_ratios(r: Throughput) -> dict[str, float]:
        if same_work is None or r.name != A_NAME:
            return {}
        return {"ratio_to_same_work": r.examples_per_s / same_work.cases_per_s,
                "cpu_ratio_to_same_work": r.examples_per_cpu_s / same_work.cases_per_cpu_s}

    return {"benchmark": "fuzz_throughput", "commit": project_commit(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()), "seed": seed, "aim_a_per_s": AIM_A_PER_S,
            "baseline": baseline.to_json(),
            "same_work_baseline": None if same_work is None else same_work.to_json(),
            "properties": [{**r.to_json(),
                            "ratio_to_baseline": r.examples_per_s / baseline.cases_per_s,
                            "cpu_ratio_to_baseline": (r.examples_per_cpu_s
                                                      / baseline.cases_per_cpu_s),
                            **same_work_ratios(r)}
                           for r in results]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=30, help="examples drawn (both properties)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the draw")
    p.add_argument("--baseline-cases", type=int, default=50, help="runs of the shell baseline")
    p.add_argument("--native-runs", type=int, choices=(1, 2), default=1,
                   help="native runs per example in the same-work baseline (2: lazy, then "
                        "LD_BIND_NOW, as (a) emulates twice)")
    p.add_argument("--no-same-work", action="store_true",
                   help="skip the same-work baseline of property (a)'s examples")
    p.add_argument("--properties", default="a,b",
                   help="comma-separated subset of " + ",".join(s.key for s in PROPERTIES))
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    p.add_argument("--profile", action="store_true",
                   help="profile property (a) over the examples instead of timing both")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="profiles go here")
    # `make bench` hands every benchmark the same arguments: ignore the others' options.
    args, _ = p.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from fuzz.libtrace import build_libraries

    wanted = {n.strip() for n in args.properties.split(",")}
    chosen = [spec for spec in PROPERTIES if spec.key in wanted or args.profile and
              spec.key == "a"]
    results = []
    # the properties' own scratch place (a RAM file system when there is one), so that the
    # file churn costs what it costs them
    with tempfile.TemporaryDirectory(prefix="fuzz-throughput-", dir=scratch_parent()) as tmp:
        scratch = Path(tmp)
        baseline = measure_baseline(scratch / "baseline", args.baseline_cases)
        lib_dirs = {False: scratch / "libtrace", True: scratch / "libtrace-m32"}
        for m32, directory in lib_dirs.items():
            if any(spec.m32 == m32 for spec in chosen):
                build_libraries(directory, m32=m32)
        for spec in chosen:
            if args.profile:
                print(profile_property_a(args.examples, args.seed, lib_dirs[False], scratch,
                                         args.cache / "fuzz_throughput"))
                return 0
            results.append(measure_property(spec, args.examples, args.seed,
                                            lib_dirs[spec.m32], scratch))
        drawn_a = next((r.cases for r in results if r.name == A_NAME), ())
        same_work = None
        if drawn_a and not args.no_same_work:  # the very examples (a) drew and ran
            same_work = measure_same_work(list(drawn_a), scratch / "same-work",
                                          lib_dirs[False], args.native_runs)
    print(table(results, baseline, same_work), flush=True)
    for r in results:
        for problem in r.problems[:5]:
            print(f"{r.name} finding: {problem.splitlines()[0][:200]}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record(results, baseline, same_work, args.seed),
                                        indent=2) + "\n")
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
