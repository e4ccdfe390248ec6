"""Link speed: linkharness beside GNU ld, gold, lld and mold, same inputs, one run.

    .venv/bin/python bench/link_speed.py                 # all workloads, all linkers, N=5
    .venv/bin/python bench/link_speed.py --runs 3 --json results.json
    .venv/bin/python bench/link_speed.py --linkers ld.bfd,mold --baseline ld.bfd
    .venv/bin/python bench/link_speed.py --profile       # pyinstrument on workload A

Workloads: many-static and many-dynamic (workload A: ~2000 generated objects, ~200,000
relocations, no crt; the dynamic one imports from libc.so.6), many-static-10x (the static
link of ten times as many objects, which shows whether the cost stays linear) and zlib-archive (workload B:
a C program against libz.a) and hello (workload C: hello world against libc.so, where
start-up is the cost). linkharness runs through its gcc shim (`linkharness ld-shim`), as
`gcc -B` runs it. Linkers take turns: 1 warm-up round, then N timed rounds of
one link each; every output is run natively and must exit with the expected status, or the
table says WRONG.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.child_runner import runner_path
from bench.hello_program import hello_workload
from bench.linkers import LINKHARNESS, Linker, project_commit, select
from bench.many_objects import ManyObjectsParams
from bench.many_workloads import many_debug_workload, many_workloads
from bench.measure import Measurement, measure
from bench.object_cache import DEFAULT_CACHE
from bench.profiling import profile_link
from bench.report import table, to_json, write_json
from bench.workload import Workload
from bench.zlib_program import zlib_workload

BENCHMARK = "link speed: linkharness vs GNU ld, gold, lld, mold"
WORKLOADS = ("many-static", "many-dynamic", "many-static-10x", "many-static-g", "zlib-archive",
             "hello")
LARGE_FACTOR = 10  # many-static-10x: this many times --objects


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="timed links per linker (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed links first")
    p.add_argument("--linkers", type=_names, default=None,
                   help="comma-separated: linkharness,ld.bfd,gold,lld,mold (default all)")
    p.add_argument("--workloads", type=_names, default=list(WORKLOADS),
                   help=f"comma-separated subset of {','.join(WORKLOADS)}")
    p.add_argument("--baseline", default=LINKHARNESS, help="the linker ratios are relative to")
    p.add_argument("--objects", type=int, default=ManyObjectsParams.objects)
    p.add_argument("--relocs-per-object", type=int, default=ManyObjectsParams.relocs_per_object)
    p.add_argument("--seed", type=int, default=ManyObjectsParams.seed)
    p.add_argument("--jobs", type=int, default=None, help="parallel assemblers (default: cpus)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="generated inputs/outputs")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per link")
    p.add_argument("--json", type=Path, default=None,
                   help="write the results here (default: CACHE/link_speed.json)")
    p.add_argument("--profile", action="store_true",
                   help="instead: profile linkharness on many-static (or the first of "
                        "--workloads given) with pyinstrument into CACHE/profile.txt")
    args = p.parse_args(argv)
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}")
    if args.runs < 1 or args.warmup < 0:
        p.error("--runs must be at least 1 and --warmup at least 0")
    return args


def build_workloads(args: argparse.Namespace) -> list[Workload]:
    """The selected workloads, in WORKLOADS order, their inputs generated or cached."""
    chosen: list[Workload] = []
    if {"many-static", "many-dynamic"} & set(args.workloads):
        params = ManyObjectsParams(objects=args.objects,
                                   relocs_per_object=args.relocs_per_object, seed=args.seed)
        chosen += many_workloads(args.cache, params, args.jobs)
    if "many-static-10x" in args.workloads:
        params = ManyObjectsParams(objects=args.objects * LARGE_FACTOR,
                                   relocs_per_object=args.relocs_per_object, seed=args.seed)
        static = many_workloads(args.cache, params, args.jobs)[0]
        chosen.append(dataclasses.replace(static, name="many-static-10x",
                                          description=f"{static.description} "
                                                      f"({LARGE_FACTOR}x many-static)"))
    if "many-static-g" in args.workloads:
        params = ManyObjectsParams(objects=args.objects,
                                   relocs_per_object=args.relocs_per_object, seed=args.seed)
        chosen.append(many_debug_workload(args.cache, params, args.jobs))
    if "zlib-archive" in args.workloads:
        chosen.append(zlib_workload(args.cache))
    if "hello" in args.workloads:
        chosen.append(hello_workload(args.cache))
    return [w for w in chosen if w.name in args.workloads]


def version(linker: Linker) -> str:
    """The first line of `--version`, for the JSON record (run after the timings)."""
    try:
        done = subprocess.run([*linker.command, "--version"], check=False, capture_output=True, text=True,
                              timeout=60)
    except OSError as exc:
        return f"unavailable: {exc.strerror}"
    lines = done.stdout.strip().splitlines()
    return lines[0] if lines else f"unknown (exit {done.returncode})"


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Measure every selected linker on every selected workload; 0 when all linked right."""
    linkers = select(args.linkers)
    missing = [linker.name for linker in linkers if not linker.available()]
    if missing:
        print(f"link_speed: not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    workloads = build_workloads(args)
    runner = runner_path(args.cache)
    load_at_start = os.getloadavg()  # other work on the machine skews wall times
    results: dict[str, list[Measurement]] = {}
    for w in workloads:
        results[w.name] = measure(linkers, w, args.cache / "out", runner, args.runs,
                                  args.warmup, args.timeout, progress=_progress)
        print(table(w, results[w.name], args.baseline) + "\n", flush=True)
    settings = {"runs": args.runs, "warmup": args.warmup, "objects": args.objects,
                "relocs_per_object": args.relocs_per_object, "seed": args.seed,
                "load_average_at_start": load_at_start}
    described = {linker.name: {"command": list(linker.command), "threads": linker.threads,
                               "version": version(linker)} for linker in linkers}
    if LINKHARNESS in described:
        described[LINKHARNESS]["commit"] = project_commit()
    record = to_json(workloads, results, args.baseline, settings, described)
    json_path = args.json or args.cache / "link_speed.json"
    write_json(json_path, record)
    print(f"results: {json_path}", file=sys.stderr)
    bad = [f"{m.workload}/{m.linker}" for ms in results.values() for m in ms
           if not (m.ok and m.verified_ok)]
    if bad:
        print(f"link_speed: failed or wrong: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


def profile(args: argparse.Namespace) -> int:
    workloads = build_workloads(args)
    status, text = profile_link(workloads[0], args.cache)
    print(text)
    return status


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return profile(args) if args.profile else run(args)


if __name__ == "__main__":
    sys.exit(main())
