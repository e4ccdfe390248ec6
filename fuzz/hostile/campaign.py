"""A timed hostile campaign without Hypothesis (for figures and long runs):

    .venv/bin/python -m fuzz.hostile.campaign --seconds 120 [--target NAME ...] [--keep DIR]
    .venv/bin/python -m fuzz.hostile.campaign --cases 100000 --jobs 0   # every core

For each target it mutates seeds with a seeded random.Random for the given seconds (or
until --cases cases), runs every case through fuzz.hostile.cases, and prints how many cases
it tried, the rate, and how many broke a rule; a breaking input is written under --keep
(default tests/hostile/found/) with a recipe.txt naming the target, the mutations and the
rules.  With --jobs N (0: one per core) N worker processes share each target's budget, each
with its own seed stream and its own copy of the seeds, and the figures are summed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .cases import any_case, run_kept
from .mutate import RandomPicker
from .seeds import build_targets

ROOT = Path(__file__).resolve().parents[2]
# Every target of fuzz.hostile.seeds, in the order a campaign runs them.
ALL_TARGETS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object", "archive",
               "shared-object", "tbd", "script", "elf64-exe", "elf32-exe", "macho64-exe",
               "macho32-exe", "macho64-dylib-input", "macho32-dylib-input", "relocatable",
               "version-script", "macho64-tlv-object", "macho64-dwarf-object",
               "macho32-dwarf-object", "elf64-so", "elf32-so", "elf64-pie", "elf32-pie",
               "macho64-dylib", "macho32-dylib")


def keep_case(keep: Path, target: str, n: int, file_name: str, data: bytes, done: list[str],
              broken: list[str]) -> Path:
    case = keep / f"{target}-{n:06d}"
    case.mkdir(parents=True, exist_ok=True)
    (case / file_name).write_bytes(data)
    (case / "recipe.txt").write_text(
        f"target: {target}\nfile: {file_name}\nmutations: {done}\nbroken:\n"
        + "".join(f"  {b}\n" for b in broken))
    return case


Figures = dict[str, dict[str, float]]


def campaign(targets_wanted: list[str], seconds: float, keep: Path, seed: int | str,
             cases: int | None = None, tag: str = "") -> Figures:
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(tmp)
        targets = build_targets(work / "seeds")
        names = targets_wanted or [*targets.links, *targets.exes]
        for name in names:
            rng = random.Random(f"{seed}:{name}")
            tried = failed = 0
            kinds: Counter[str] = Counter()
            start = time.monotonic()
            while time.monotonic() - start < seconds and (cases is None or tried < cases):
                file_name, data, done, broken = any_case(RandomPicker(rng), name, targets,
                                                         work / "case")
                tried += 1
                if broken:
                    failed += 1
                    kinds.update(b.split(":")[0][:80] for b in broken)
                    if failed <= 50:
                        keep_case(keep, name, tried, file_name, data, done, broken)
            elapsed = time.monotonic() - start
            figures[name] = {"tried": tried, "seconds": round(elapsed, 1),
                             "per_second": round(tried / elapsed, 1), "broke_a_rule": failed}
            print(f"{tag}{name:16} {tried:7d} cases {tried / elapsed:7.1f}/s  broke a rule: {failed}",
                  flush=True)
            for kind, count in kinds.most_common(8):
                print(f"{tag}    {count:5d}  {kind}", flush=True)
    return figures


def _worker(args: tuple[list[str], float, Path, str, int | None]) -> Figures:
    names, seconds, keep, seed, cases = args
    return campaign(names, seconds, keep, seed, cases, tag=f"[worker {seed}] ")


def parallel_campaign(targets_wanted: list[str], seconds: float, keep: Path, seed: int,
                      jobs: int, cases: int | None = None) -> Figures:
    """`jobs` processes, each running every target with its own seed stream (and its own
    copy of the seeds, built once); a target's cases are split between them and its rate
    is the sum of theirs."""
    names = targets_wanted or list(ALL_TARGETS)
    share = None if cases is None else -(-cases // jobs)
    context = multiprocessing.get_context("spawn")  # Unicorn and threads do not survive fork
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        parts = list(pool.map(_worker, [(names, seconds, keep / f"worker{k}", f"{seed}.{k}",
                                         share) for k in range(jobs)]))
    figures: Figures = {}
    for name in names:
        tried = sum(p[name]["tried"] for p in parts)
        failed = sum(p[name]["broke_a_rule"] for p in parts)
        rate = sum(p[name]["per_second"] for p in parts)
        figures[name] = {"tried": tried, "seconds": max(p[name]["seconds"] for p in parts),
                         "jobs": jobs, "per_second": round(rate, 1), "broke_a_rule": failed}
        print(f"{name:16} {tried:7d} cases {rate:7.1f}/s on {jobs} processes  "
              f"broke a rule: {failed}", flush=True)
    return figures


def replay(cases: list[Path]) -> int:
    """Run kept cases again (directories holding recipe.txt and the mutated file)."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        targets = build_targets(Path(tmp) / "seeds")
        for case in cases:
            recipe = dict(line.split(": ", 1) for line in
                          (case / "recipe.txt").read_text().splitlines()[:2])
            broken = run_kept(targets, recipe["target"], case / recipe["file"],
                              Path(tmp) / "case")
            failures += bool(broken)
            print(f"{case.name}: {broken or 'ok'}", flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--cases", type=int, help="stop a target after this many cases")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (0: one per core)")
    parser.add_argument("--target", action="append", default=[])
    parser.add_argument("--keep", type=Path, default=ROOT / "tests" / "hostile" / "found")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--replay", type=Path, nargs="+", help="kept case directories")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    jobs = args.jobs or os.cpu_count() or 1
    seconds = args.seconds if args.cases is None else float("inf")
    if jobs == 1:
        figures = campaign(args.target, seconds, args.keep, args.seed, args.cases)
    else:
        figures = parallel_campaign(args.target, seconds, args.keep, args.seed, jobs, args.cases)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 1 if any(f["broke_a_rule"] for f in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
