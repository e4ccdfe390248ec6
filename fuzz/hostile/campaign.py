"""A timed hostile campaign without Hypothesis (for figures and long runs):

    .venv/bin/python -m fuzz.hostile.campaign --seconds 120 [--target NAME ...] [--keep DIR]

For each target it mutates seeds with a seeded random.Random for the given seconds, runs
every case through fuzz.hostile.cases, and prints how many cases it tried, the rate, and
how many broke a rule; a breaking input is written under --keep (default
tests/hostile/found/) with a recipe.txt naming the target, the mutations and the rules.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from .cases import any_case, run_kept
from .mutate import RandomPicker
from .seeds import build_targets

ROOT = Path(__file__).resolve().parents[2]


def keep_case(keep: Path, target: str, n: int, file_name: str, data: bytes, done: list[str],
              broken: list[str]) -> Path:
    case = keep / f"{target}-{n:06d}"
    case.mkdir(parents=True, exist_ok=True)
    (case / file_name).write_bytes(data)
    (case / "recipe.txt").write_text(
        f"target: {target}\nfile: {file_name}\nmutations: {done}\nbroken:\n"
        + "".join(f"  {b}\n" for b in broken))
    return case


def campaign(targets_wanted: list[str], seconds: float, keep: Path, seed: int) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(tmp)
        targets = build_targets(work / "seeds")
        names = targets_wanted or [*targets.links, *targets.exes]
        for name in names:
            rng = random.Random(f"{seed}:{name}")
            tried = failed = 0
            kinds: Counter[str] = Counter()
            start = time.monotonic()
            while time.monotonic() - start < seconds:
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
            print(f"{name:16} {tried:7d} cases {tried / elapsed:7.1f}/s  broke a rule: {failed}",
                  flush=True)
            for kind, count in kinds.most_common(8):
                print(f"    {count:5d}  {kind}", flush=True)
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
    parser.add_argument("--target", action="append", default=[])
    parser.add_argument("--keep", type=Path, default=ROOT / "tests" / "hostile" / "found")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--replay", type=Path, nargs="+", help="kept case directories")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    figures = campaign(args.target, args.seconds, args.keep, args.seed)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 1 if any(f["broke_a_rule"] for f in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
