"""Property (a)'s link and its two static judges alone, in process: `linker.link`,
`oracle.check` and the relocation-field oracle, each example once, as a campaign meets it.

    .venv/bin/python bench/link_and_judges.py --examples 300
    .venv/bin/python bench/link_and_judges.py --examples 300 --collections   # the GC's share
    .venv/bin/python bench/link_and_judges.py --examples 300 --profile fields

Draws property (a)'s examples (bench/fuzz_throughput.py's strategy and seed), writes each
one's objects, then for every example links it (as fuzz/pipeline.py does), checks the output
(`judge.structure`, on the bytes read once) and judges its fields (`judge.fields`), each
stage timed in CPU time.  The first `--warm` examples are untimed (imports, the tables and
caches a fuzz worker has after its first examples).  Prints CPU ms per example for each
stage and their sum, the problems found (none, for outputs our linker gets right) and a
digest of the outputs, so that two trees run alternately can be shown to write the same
bytes.  `--collections` also prints the cycle collector's collections per example in each
stage (generation, count, CPU ms): the judges run with it paused (oracle/collector.py),
and a full collection walks the whole process.  `--profile STAGE` runs that stage under
cProfile and prints the functions by their own time.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STAGES = ("link", "check", "fields")


class CollectionClock:
    """The cycle collector's collections, by (stage, generation): count and CPU seconds."""

    def __init__(self) -> None:
        self.stage = ""
        self.started = 0.0
        self.found: dict[tuple[str, int], list[float]] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.process_time()
            return
        seen = self.found.setdefault((self.stage, info["generation"]), [0, 0.0])
        seen[0] += 1
        seen[1] += time.process_time() - self.started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=300)
    p.add_argument("--warm", type=int, default=5, help="untimed examples first")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the draw")
    p.add_argument("--collections", action="store_true",
                   help="count the cycle collector's work per stage")
    p.add_argument("--profile", choices=STAGES, help="cProfile this stage")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from bench.fuzz_throughput import _linkharness_cases, draw_examples
    from bench.small_links import _prepared
    from fuzz import judge
    from fuzz.libtrace import build_libraries
    from fuzz.pipeline import DYNAMIC_LINKER
    from fuzz.scratch import scratch_parent
    from linker import link

    examples, _wall, _cpu = draw_examples(_linkharness_cases(), args.examples, args.seed)
    with tempfile.TemporaryDirectory(prefix="link-judges-", dir=scratch_parent()) as tmp:
        root = Path(tmp)
        build_libraries(root / "libtrace", m32=False)
        cases = _prepared(examples, root)

        def linked(n: int) -> list[str]:
            inputs, o = cases[n]
            link(inputs, root / f"out{n}", entry="_start", dynamic_linker=DYNAMIC_LINKER,
                 bind_now=o.bind_now, hash_style=o.hash_style, pie=o.pie,
                 ibt_plt=o.ibt_plt, emit_relocs=o.emit_relocs)
            return []

        def checked(n: int) -> list[str]:
            return judge.structure((root / f"out{n}").read_bytes())

        def fields(n: int) -> list[str]:
            objects = [Path(i) for i in cases[n][0] if not i.endswith(".so")]
            return judge.fields(root / f"out{n}", objects)

        stages: dict[str, Callable[[int], list[str]]] = {
            "link": linked, "check": checked, "fields": fields}
        for n in range(min(args.warm, len(cases))):
            for run in stages.values():
                run(n)
        timed = range(min(args.warm, len(cases)), len(cases))
        cpu = dict.fromkeys(STAGES, 0.0)
        problems: list[str] = []
        clock = CollectionClock()
        if args.collections:
            gc.callbacks.append(clock)
        profiler: Any = None
        if args.profile:
            import cProfile
            profiler = cProfile.Profile()
        try:
            for n in timed:
                for name, run in stages.items():
                    clock.stage = name
                    if profiler is not None and name == args.profile:
                        profiler.enable()
                    start = time.process_time()
                    problems += run(n)
                    cpu[name] += time.process_time() - start
                    if profiler is not None and name == args.profile:
                        profiler.disable()
        finally:
            if args.collections:
                gc.callbacks.remove(clock)
        digest = hashlib.sha256(b"".join((root / f"out{n}").read_bytes()
                                         for n in range(len(cases)))).hexdigest()[:16]
    count = len(timed)
    print(f"{count} examples of property (a), CPU ms per example: " + ", ".join(
        f"{name} {1e3 * cpu[name] / count:.3f}" for name in STAGES)
        + f"; sum {1e3 * sum(cpu.values()) / count:.3f}; {len(problems)} problems; "
        f"outputs sha256 {digest}")
    for (stage, generation), (times, seconds) in sorted(clock.found.items()):
        print(f"  collections in {stage}, generation {generation}: {times / count:.3f} "
              f"per example, {1e3 * seconds / count:.3f} CPU ms per example")
    for problem in problems[:5]:
        print(f"finding: {problem.splitlines()[0][:200]}")
    if profiler is not None:
        import pstats
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
