"""The judges' share of the fuzz properties, alone: oracle.check, the relocation-field oracle
and the emulator (lazy and now) over outputs linked once beforehand.

    .venv/bin/python bench/judges_speed.py prepare DIR --examples 200 --properties a,i386,macho
    .venv/bin/python bench/judges_speed.py time DIR              # each output judged once
    .venv/bin/python bench/judges_speed.py time DIR --profile emulating

`prepare` draws each property's examples as bench/fuzz_throughput.py does (same strategies,
same seed), writes and links them with linkharness, and keeps in DIR the outputs, their
input objects, the model's outcome and the libtrace libraries: a fixed set of outputs, so
that two versions of the oracle (run one after the other with their own PYTHONPATH) judge
exactly the same files. `time` judges the first `--warm` outputs untimed (imports, the
tables built once per process, the libtrace libraries' caches: what a fuzz worker has
after its first examples), then every other output once per round, and prints CPU
milliseconds per output for each judge (the median and the fastest of the rounds) and the
problems found, which must be none for outputs our linker gets right.  Only the first
round meets each output as a fuzz campaign does; later rounds find what the judges keep
per file contents (decoded streams, hashes) already made, so `--rounds 1` and several
processes are the fair comparison.  The judges are called as the properties call them
(fuzz/judge.py, fuzz/macho/judge.py), with the file read once for the checker and the
load seed.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

JUDGES = ("oracle.check", "relocation-field oracle", "emulating (lazy + now)")
MANIFEST = "manifest.pickle"


@dataclass
class Output:
    """One linked output to judge: which property made it, its inputs and what it must do."""

    kind: str  # "elf" (properties a and i386) or "macho"
    exe: str
    objects: list[str]
    expected: object  # fuzz.semantics.Outcome
    lib_dir: str


@dataclass
class Manifest:
    outputs: dict[str, list[Output]] = field(default_factory=dict)  # property -> outputs


def prepare(directory: Path, examples: int, properties: list[str], seed: int) -> Manifest:
    from bench.fuzz_throughput import PROPERTIES, draw_examples
    from fuzz.libtrace import build_libraries

    manifest = Manifest()
    lib_dirs = {False: directory / "libtrace", True: directory / "libtrace-m32"}
    for spec in PROPERTIES:
        if spec.key not in properties:
            continue
        if spec.key != "macho":
            build_libraries(lib_dirs[spec.m32], m32=spec.m32)
        cases, _, _ = draw_examples(spec.strategy(), examples, seed)
        made = manifest.outputs.setdefault(spec.key, [])
        for n, case in enumerate(cases):
            made += _link(spec.key, case, directory / spec.key / str(n), lib_dirs[spec.m32])
        print(f"{spec.key}: {len(made)} outputs from {len(cases)} examples")
    (directory / MANIFEST).write_bytes(pickle.dumps(manifest))
    return manifest


def _link(key: str, case: Any, work: Path, lib_dir: Path) -> list[Output]:
    """Write and link one example as its property does; the outputs that linked."""
    from bench.fuzz_stages_more import MACHO_BUILDS
    from fuzz.macho import pipeline as macho_pipeline
    from fuzz.macho.tbd import write_tbds
    from fuzz.pie import pie_form
    from fuzz.pipeline import libraries, link_linkharness, write_objects
    from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
    from fuzz.semantics import outcome
    from linker import LinkError

    work.mkdir(parents=True)
    exe = work / "linkharness.out"
    try:
        if key == "macho":
            objs = macho_pipeline.write_objects(case.program, work / "objs",
                                                case.variant)
            stubs = write_tbds(work / "stubs", case.program.libraries)
            expected = outcome(case.program)
            made = []
            for n, (_, classic, chained) in enumerate(MACHO_BUILDS):
                out = work / f"{n}.out"
                macho_pipeline.link_linkharness(objs, stubs, out, classic=classic,
                                                chained=chained)
                made.append(Output("macho", str(out), [str(o) for o in objs], expected, ""))
            return made
        if key == "i386":
            objs = write_objects_i386(case.program, work / "objects", False,
                                      case.choices)
            link_linkharness_i386(objs, libraries(case.program, lib_dir), exe,
                                  case.options)
            expected = outcome(case.program)
        else:
            program, options = case
            if options.pie:
                program = pie_form(program)
            objs = write_objects(program, work / "objects")
            link_linkharness(objs, libraries(program, lib_dir), exe, options)
            expected = outcome(program)
    except LinkError:
        return []
    return [Output("elf", str(exe), [str(o) for o in objs], expected, str(lib_dir))]


def judge_calls(output: Output) -> dict[str, Callable[[], list[str]]]:
    """The three judges of one output, as its property calls them."""
    if output.kind == "macho":
        from fuzz.macho import judge as macho_judge

        exe = Path(output.exe)
        return {JUDGES[0]: lambda: macho_judge.structure(exe),
                JUDGES[1]: lambda: macho_judge.fields(exe, [Path(o) for o in output.objects]),
                JUDGES[2]: lambda: (macho_judge.emulated(exe, output.expected, "lazy")  # type: ignore[arg-type]
                                    + macho_judge.emulated(exe, output.expected, "now"))}  # type: ignore[arg-type]
    from fuzz import judge

    exe, lib_dir = Path(output.exe), Path(output.lib_dir)

    def emulated() -> list[str]:
        seed = zlib.crc32(exe.read_bytes())  # judge.load_seed's, as judge.everything reads it
        return (judge.emulated(exe, output.expected, lib_dir, "lazy", seed)  # type: ignore[arg-type]
                + judge.emulated(exe, output.expected, lib_dir, "now", seed))  # type: ignore[arg-type]

    return {JUDGES[0]: lambda: judge.structure(exe.read_bytes()),
            JUDGES[1]: lambda: judge.fields(exe, [Path(o) for o in output.objects]),
            JUDGES[2]: emulated}


def one_round(outputs: list[Output], only: str = "") -> tuple[dict[str, float], list[str]]:
    """CPU seconds per judge over all outputs, and the problems found; `only`: the judges
    whose names hold it."""
    spent = dict.fromkeys(JUDGES, 0.0)
    problems: list[str] = []
    for output in outputs:
        for name, call in judge_calls(output).items():
            if only not in name:
                continue
            start = time.process_time()
            found = call()
            spent[name] += time.process_time() - start
            problems += [f"{output.exe}: {p}" for p in found]
    return spent, problems


def time_judges(directory: Path, rounds: int, properties: list[str] | None,
                only: str = "", warm: int = 20) -> int:
    manifest: Manifest = pickle.loads((directory / MANIFEST).read_bytes())
    failed = 0
    for key, outputs in manifest.outputs.items():
        if properties and key not in properties:
            continue
        one_round(outputs[:warm], only)  # imports, tables built once per process
        timed = outputs[warm:]
        per_round = []
        for _ in range(rounds):
            spent, problems = one_round(timed, only)
            per_round.append(spent)
        if not per_round or not timed:
            continue
        n = len(timed)
        print(f"{key}: {n} outputs, {rounds} rounds, CPU ms per output (median, fastest)")
        total_median = 0.0
        for name in JUDGES:
            values = [1e3 * r[name] / n for r in per_round]
            total_median += statistics.median(values)
            print(f"  {name:<26} {statistics.median(values):7.3f} {min(values):7.3f}")
        print(f"  {'all three':<26} {total_median:7.3f}")
        if problems:
            failed = 1
            print(f"  {len(problems)} problems, first: {problems[0]}")
    return failed


def profile(directory: Path, judge_name: str, rounds: int, properties: list[str] | None) -> str:
    from bench.inprocess_profile import profile_call

    manifest: Manifest = pickle.loads((directory / MANIFEST).read_bytes())
    calls = [judge_calls(o)[name] for key, outputs in manifest.outputs.items()
             if not properties or key in properties
             for o in outputs for name in JUDGES if judge_name in name]
    for call in calls[:3]:
        call()

    def work() -> None:
        for _ in range(rounds):
            for call in calls:
                call()

    return profile_call(work, directory / "profile", judge_name.replace(" ", "-").replace(".", "-"),
                        f"profile of {judge_name!r} over {len(calls)} outputs x {rounds}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("prepare", "time"))
    p.add_argument("directory", type=Path)
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--properties", default="a,i386,macho")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--warm", type=int, default=20, help="outputs judged untimed first")
    p.add_argument("--profile", default=None, help="a judge's name, or a part of one")
    p.add_argument("--only", default="", help="time only the judges whose names hold this "
                   "(with --rounds 0 too: the fixed cost, for `perf stat` differences)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    wanted = [k.strip() for k in args.properties.split(",")]
    if args.action == "prepare":
        if args.directory.exists():
            shutil.rmtree(args.directory)
        prepare(args.directory, args.examples, wanted, args.seed)
        return 0
    if args.profile:
        print(profile(args.directory, args.profile, args.rounds, wanted))
        return 0
    return time_judges(args.directory, args.rounds, wanted, args.only, args.warm)


if __name__ == "__main__":
    # the manifest's records are pickled under this module's importable name
    import importlib

    sys.exit(importlib.import_module("bench.judges_speed").main())
