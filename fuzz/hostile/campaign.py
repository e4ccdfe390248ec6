"""A hostile campaign without Hypothesis, for figures and long runs:

    .venv/bin/python -m fuzz.hostile.campaign --seconds 120 [--target NAME ...] [--keep DIR]
    nice -n 19 .venv/bin/python -m fuzz.hostile.campaign --cases 100000 --jobs 1 --target T

For each target in turn, case n (n = --start, --start + 1, ...) is drawn from its own
random.Random(f"{seed}:{target}:{n}") and, unless an earlier case (from case 0) drew the
same input, run through fuzz.hostile.cases by one of --jobs supervised worker processes
(fuzz.hostile.supervise) until --seconds pass or --cases distinct inputs are done (with
--in-all, counting those of the cases before --start).  A worker silent on a case past
--case-seconds is killed and the case kept as a
HANG find; a worker that dies is a CRASH find; each worker runs under an address-space
limit (--memory-mib).  Every --progress seconds a line gives the count, the rates and the
finds; at the end, a Markdown table of every target's figures.  A breaking input is
written under --keep (default tests/hostile/found/) with a recipe.txt naming the target,
the seed and case number, the mutations and the rules broken; `--replay DIR...` runs kept
cases again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TextIO

from . import command_lines
from .cases import run_kept
from .guest_code import GUEST_CODE, GUEST_CODE_WRITTEN
from .havoc import SUFFIX as HAVOC_SUFFIX
from .seeds import Targets, build_targets
from .seeds_more import MORE_TARGETS, available
from .seeds_real import REAL_TARGETS
from .semantic import FAMILIES, OPTIONS_SUFFIX, SUFFIX, split_family
from .supervise import RUN_DRAWN, Answer, Supervisor, draw_numbered, write_seeds

ROOT = Path(__file__).resolve().parents[2]
# Every target of fuzz.hostile.seeds, in the order a campaign runs them.
ALL_TARGETS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object", "archive",
               "shared-object", "tbd", "script", "elf64-exe", "elf32-exe", "macho64-exe",
               "macho32-exe", "macho64-dylib-input", "macho32-dylib-input", "relocatable",
               "version-script", "macho64-tlv-object", "macho64-dwarf-object",
               "macho32-dwarf-object", "elf64-so", "elf32-so", "elf64-pie", "elf32-pie",
               "macho64-dylib", "macho32-dylib", *REAL_TARGETS, *MORE_TARGETS,
               GUEST_CODE, GUEST_CODE_WRITTEN)


def keep_case(keep: Path, target: str, n: int, file_name: str, data: bytes, done: list[str],
              broken: list[str], extra: str = "") -> Path:
    """Write a breaking input and its recipe (target and file first: replay reads them)."""
    case = keep / f"{target}-{n:06d}"
    case.mkdir(parents=True, exist_ok=True)
    (case / file_name).write_bytes(data)
    (case / "recipe.txt").write_text(
        f"target: {target}\nfile: {file_name}\n{extra}case: {n}\nmutations: {done}\n"
        f"broken:\n" + "".join(f"  {b}\n" for b in broken))
    return case


Figures = dict[str, dict[str, float]]
CASE_SECONDS = 60.0  # the rules allow a case about 10 + 10 + 10 + 1.5 s; a hang is far past
MEMORY_MIB = 3072  # a worker's address space is about 400 MiB; the rules allow +256 MiB
MAX_KEPT = 50  # breaking inputs kept per target


@dataclass
class Tally:
    """One target's figures so far."""

    target: str
    started: float = field(default_factory=time.monotonic)
    tried: int = 0
    failed: int = 0
    hangs: int = 0
    crashes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    last: tuple[float, int] = (0.0, 0)  # (time, tried) at the last progress line
    duplicates: int = 0  # cases drawn again (the same input): skipped, not counted as tried
    earlier: int = 0  # distinct inputs of cases before --start (an earlier campaign's)
    in_all: bool = False  # the count shown includes `earlier`

    def figures(self, jobs: int) -> dict[str, float]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {"tried": self.tried, "seconds": round(elapsed, 1), "jobs": jobs,
                "per_second": round(self.tried / elapsed, 1), "broke_a_rule": self.failed,
                "hangs": self.hangs, "crashes": self.crashes,
                "duplicates_skipped": self.duplicates, "distinct_before_start": self.earlier}


def _distinct_numbers(targets: Targets, seed: str, name: str, start: int, tally: Tally,
                      in_all: int | None = None) -> Iterator[int]:
    """Case numbers from `start` on whose input no earlier case (from 0) had: a mutation
    often lands on an input drawn before (a tenth to two fifths of 20,000 cases, by
    target), and running it again would only inflate the count.  The cases before `start`
    are drawn, not run, to know their inputs; `in_all`: stop when the distinct inputs,
    theirs included, number that many."""
    seen: set[bytes] = set()
    yielded = 0

    def new(n: int) -> bool:
        drawn = draw_numbered(targets, seed, name, n)
        key = hashlib.blake2b(b"%d\0%s\0%s\0" % (drawn.index, drawn.file_name.encode(),
                                                     drawn.bind.encode()) + drawn.data,
                              digest_size=16).digest()
        if key in seen:
            return False
        seen.add(key)
        return True

    if start:
        tally.earlier = sum(new(n) for n in range(start))
        tally.started = time.monotonic()  # the rate is of cases run, not of those drawn
    n = start
    while in_all is None or tally.earlier + yielded < in_all:
        if new(n):
            yielded += 1
            yield n
        else:
            tally.duplicates += 1
        n += 1


def _progress(tally: Tally, total: int | None, out: TextIO) -> None:
    now = time.monotonic()
    elapsed = now - tally.started
    since, before = tally.last
    recent = (tally.tried - before) / (now - since) if since else tally.tried / elapsed
    tally.last = (now, tally.tried)
    rate = tally.tried / elapsed if elapsed else 0.0
    done = tally.tried + (tally.earlier if tally.in_all else 0)
    of = f"/{total:,}" if total is not None else ""
    eta = (f"  ETA {(total - done) / rate / 60:.0f} min" if total is not None and rate else "")
    print(f"[{elapsed / 60:6.1f} min] {tally.target:20} {done:,}{of} cases  "
          f"{rate:.1f}/s (lately {recent:.1f}/s)  broke a rule: {tally.failed} "
          f"(hangs {tally.hangs}, crashes {tally.crashes}){eta}  "
          f"[duplicates skipped {tally.duplicates:,}]", file=out, flush=True)


def campaign(targets_wanted: list[str], seconds: float, keep: Path, seed: int | str,
             cases: int | None = None, jobs: int = 1, start: int = 0,
             case_seconds: float = CASE_SECONDS, memory_mib: int = MEMORY_MIB,
             progress_seconds: float = 30.0, out: TextIO = sys.stdout,
             targets: Targets | None = None, runner: str = RUN_DRAWN,
             in_all: bool = False) -> Figures:
    """Run each target's cases start, start+1, ... for `seconds` or until `cases` cases,
    on `jobs` supervised workers (fuzz.hostile.supervise).  Returns the figures.
    `targets`: seeds already built (else built here); `runner`: what runs a case;
    `in_all`: `cases` counts the distinct inputs of the cases before `start` too."""
    names = targets_wanted or list(ALL_TARGETS)
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(tmp)
        targets = targets or build_targets(work / "seeds")
        names = available(names, {*targets.links, *targets.exes})  # Apple's files: if cached
        names = [n for n in names if _has_family(targets, n)]
        seeds_file = write_seeds(targets, work / "seeds.pickle")
        pool = Supervisor(targets, seeds_file, work / "workers", str(seed), jobs, case_seconds,
                          memory_mib << 20, runner)
        try:
            for name in names:
                figures[name] = _one_target(pool, name, seconds, keep, cases, start, jobs,
                                            progress_seconds, out, in_all)
        finally:
            pool.close()
    return figures


def _has_family(targets: Targets, name: str) -> bool:
    """The command-line family is a link's: an executable target, or a link whose options
    have no command-line spelling, has none."""
    base, family = split_family(name)
    return family != "options" or (base in targets.links
                                   and command_lines.applies(targets.links[base]))


def _one_target(pool: Supervisor, name: str, seconds: float, keep: Path, cases: int | None,
                start: int, jobs: int, progress_seconds: float, out: TextIO,
                in_all: bool = False) -> dict[str, float]:
    tally = Tally(name, in_all=in_all)
    numbers = (_distinct_numbers(pool.targets, pool.seed, name, start, tally, cases)
               if in_all else
               islice(_distinct_numbers(pool.targets, pool.seed, name, start, tally), cases))
    next_line = [tally.started + progress_seconds]

    def answered(answer: Answer) -> None:
        tally.tried += 1
        if not answer.broken:
            return
        tally.failed += 1
        tally.hangs += answer.kind == "HANG"
        tally.crashes += answer.kind == "CRASH"
        tally.kinds.update(b.split(":")[0][:80] for b in answer.broken)
        if tally.failed <= MAX_KEPT and answer.drawn is not None:
            case = keep_case(keep, name, answer.n, answer.drawn.file_name, answer.drawn.data,
                             answer.drawn.done, answer.broken, f"seed: {pool.seed}\n")
            print(f"FIND {name} case {answer.n}: {answer.broken[0][:200]} (kept in {case})",
                  file=out, flush=True)

    def tick() -> None:
        if time.monotonic() >= next_line[0]:
            _progress(tally, cases, out)
            next_line[0] = time.monotonic() + progress_seconds

    pool.run(name, numbers, lambda: time.monotonic() - tally.started >= seconds, answered,
             tick)
    _progress(tally, cases, out)
    if start:
        print(f"    cases 0-{start - 1} (an earlier campaign's) held {tally.earlier:,} distinct "
              f"inputs: {tally.earlier + tally.tried:,} distinct in all", file=out, flush=True)
    for kind, count in tally.kinds.most_common(8):
        print(f"    {count:5d}  {kind}", file=out, flush=True)
    return tally.figures(jobs)


def summary_table(figures: Figures) -> str:
    """The figures as the README's Markdown table."""
    head = ("| target | distinct inputs | per second | broke a rule | of which hangs, crashes "
            "| drawn again (skipped) |")
    rows = [head, "|---|---|---|---|---|---|"]
    for name, f in figures.items():
        rows.append(f"| {name} | {int(f['tried']):,} | {f['per_second']:.1f} | "
                    f"{int(f['broke_a_rule'])} | {int(f['hangs'])}, {int(f['crashes'])} | "
                    f"{int(f.get('duplicates_skipped', 0)):,} |")
    return "\n".join(rows)


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
    parser.add_argument("--family", choices=FAMILIES, default="bytes",
                        help="the mutations: field-aware byte-level (mutate.py), "
                        "structure-level rewrites (semantic.py), added command-line options "
                        "(command_lines.py), or structure-blind stacked edits at random "
                        "offsets, AFL-havoc/radamsa style (havoc.py); a target T@semantic, "
                        "T@options or T@havoc names its family")
    parser.add_argument("--keep", type=Path, default=ROOT / "tests" / "hostile" / "found")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0,
                        help="first case number (to go on from an earlier campaign)")
    parser.add_argument("--in-all", action="store_true",
                        help="--cases counts the distinct inputs of the cases before --start")
    parser.add_argument("--case-seconds", type=float, default=CASE_SECONDS,
                        help="a worker silent this long on one case is killed: a HANG find")
    parser.add_argument("--memory-mib", type=int, default=MEMORY_MIB,
                        help="each worker's address-space limit (RLIMIT_AS; 0: none)")
    parser.add_argument("--progress", type=float, default=30.0,
                        help="seconds between progress lines")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--replay", type=Path, nargs="+", help="kept case directories")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    jobs = args.jobs or os.cpu_count() or 1
    seconds = args.seconds if args.cases is None else float("inf")
    wanted = args.target or list(ALL_TARGETS)
    suffix = {"semantic": SUFFIX, "options": OPTIONS_SUFFIX, "havoc": HAVOC_SUFFIX
              }.get(args.family, "")
    if suffix:
        wanted = [t if t.endswith(suffix) else t + suffix for t in wanted]
    figures = campaign(wanted, seconds, args.keep, args.seed, args.cases, jobs,
                       args.start, args.case_seconds, args.memory_mib, args.progress,
                       in_all=args.in_all)
    print(summary_table(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 1 if any(f["broke_a_rule"] for f in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
