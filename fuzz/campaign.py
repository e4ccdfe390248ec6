"""`make fuzz`: a HypoFuzz campaign over every property in fuzz/, on every core, for a bounded
time, with HypoFuzz's dashboard on a loopback port while it runs; at the end, one line per
property: examples, examples/s, failures.

    python -m fuzz.campaign [--seconds N] [--workers N] [--port P] [-- PYTEST_ARGS]

HypoFuzz (`hypothesis fuzz`) runs until it is stopped, so the campaign runs it in its own
process group and interrupts the group after `--seconds` (FUZZ_SECONDS).  Its workers
collect the properties with the `fuzz` profile, whose database is the campaign's
(fuzz/database.py: Redis when LINKHARNESS_FUZZ_DB=redis://..., else .hypothesis/examples).
Everything the table says is read back from that database afterwards: HypoFuzz's progress
reports (examples and seconds per worker; the last one or two seconds before the stop may be
missing from the counts, never from the rate) and the failures it saved, shrunk, under each
property's own Hypothesis key, which is why `pytest fuzz/... --hypothesis-profile=fuzz`
(or `linkharness hunt --pull`) replays them.  The coverage tally comes from the workers' own
counters (fuzz/coverage.py), flushed to files while they run; the feature inventory printed
last adds to them tests/fuzz/test_inventory.py's deterministic draws (`print_inventory`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypofuzz.database import HypofuzzDatabase

REPO = Path(__file__).resolve().parent.parent
TALLY_ENV = "LINKHARNESS_FUZZ_TALLY"  # a directory: each worker flushes its coverage there
PROPERTIES = "fuzz"
# `hypothesis fuzz` as the venv's `hypothesis` script runs it (hypofuzz adds the command)
HYPOTHESIS_CLI = "import hypofuzz.entrypoint; from hypothesis.extra.cli import main; main()"
STOP_GRACE = 3.0  # seconds between Ctrl-C and SIGKILL for a HypoFuzz run
MIN_ROUND = 20.0  # seconds: collection and fixtures take a few, HypoFuzz needs the rest
BASE_PYTEST_ARGS = ("-p", "no:xdist", "-p", "no:cacheprovider", "--hypothesis-profile=fuzz")


@dataclass(frozen=True)
class PropertyTally:
    """One property over a campaign, summed over the workers that ran it."""

    nodeid: str
    examples: int  # valid and failing calls of the property
    invalid: int  # draws rejected by assume()/filters (or overruns)
    seconds: float  # worker-seconds HypoFuzz spent on it
    failures: int  # distinct failing inputs saved for it in the database
    fatal: str | None  # a traceback when the property could not run at all

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Property:
    nodeid: str  # pytest's, relative to its rootdir
    spec: str  # the same with an absolute path, for a HypoFuzz run from any directory
    key: bytes  # its Hypothesis database key (HypoFuzz's reports and failures hang off it)


def collect(pytest_args: Sequence[str]) -> tuple[dict[str, Property], dict[str, str]]:
    """The properties HypoFuzz collects, and the tests it leaves out with why (in this
    process, which then has the profile that `pytest_args` names loaded)."""
    from hypofuzz.collection import collect_tests

    result = collect_tests(list(pytest_args))
    found = {}
    for target in result.fuzz_targets:
        item = target.pytest_item
        spec = target.nodeid if item is None else f"{item.path}::{item.name}"
        found[target.nodeid] = Property(target.nodeid, spec, target.database_key)
    skipped = {nodeid: str(why.get("status_reason", why))
               for nodeid, why in result.not_collected.items()}
    return found, skipped


def _database() -> HypofuzzDatabase:
    """The loaded profile's database (the fuzz profile's: the campaign's), as HypoFuzz's."""
    from hypofuzz.database import HypofuzzDatabase
    from hypothesis import settings

    db = settings().database
    if db is None:
        raise SystemExit("the fuzz profile has no example database")
    return HypofuzzDatabase(db)


def has_failed(prop: Property) -> bool:
    """Whether the campaign database holds a shrunk failure of `prop` (HypoFuzz then stops
    fuzzing it)."""
    from hypofuzz.database import FailureState

    return any(True for _ in _database().failures(state=FailureState.SHRUNK).fetch(prop.key))


def tally(props: dict[str, Property], since: float) -> list[PropertyTally]:
    """Each property's examples, seconds and failures, from the reports HypoFuzz saved in
    the campaign database at or after `since` (time.time())."""
    from hypofuzz.database import FailureState
    from hypothesis.internal.conjecture.data import Status

    db = _database()
    out = []
    for nodeid, prop in props.items():
        key = prop.key
        latest: dict[str, tuple[float, int, int]] = {}  # worker -> (seconds, examples, invalid)
        for report in db.reports.fetch(key):
            if report.timestamp < since:
                continue
            counts = report.status_counts
            seen = (report.elapsed_time, counts[Status.VALID] + counts[Status.INTERESTING],
                    counts[Status.INVALID] + counts[Status.OVERRUN])
            if seen[0] >= latest.get(report.worker_uuid, (-1.0, 0, 0))[0]:
                latest[report.worker_uuid] = seen
        # a failure is saved unshrunk first, then moved to shrunk (if the stop came between,
        # only the unshrunk one is there)
        failing = ({tuple(c) for c in db.failures(state=FailureState.SHRUNK).fetch(key)}
                   or {tuple(c) for c in db.failures(state=FailureState.UNSHRUNK).fetch(key)})
        fatal = db.fatal_failures.fetch(key)
        out.append(PropertyTally(nodeid, sum(v[1] for v in latest.values()),
                                 sum(v[2] for v in latest.values()),
                                 sum(v[0] for v in latest.values()), len(failing),
                                 fatal.traceback if fatal else None))
    return out


def failure_details(props: dict[str, Property]) -> list[tuple[str, str, str]]:
    """(nodeid, the failing example, its traceback's last line) for each shrunk failure."""
    from hypofuzz.database import FailureState

    db = _database()
    found = []
    for nodeid, prop in props.items():
        key = prop.key
        for choices in db.failures(state=FailureState.SHRUNK).fetch(key):
            seen = db.failure_observations(state=FailureState.SHRUNK).fetch(key, choices)
            if seen is None:
                found.append((nodeid, "(no observation saved)", ""))
                continue
            lines = (seen.metadata.traceback or "").strip().splitlines()
            found.append((nodeid, seen.representation, lines[-1] if lines else ""))
    return found


def render_table(rows: Iterable[PropertyTally], write: Callable[[str], None]) -> None:
    """property, examples, examples/s (per worker-second), failures."""
    rows = list(rows)
    width = max([len(r.nodeid) for r in rows] + [8])
    write(f"{'property':<{width}} {'examples':>9} {'invalid':>8} {'seconds':>8} "
          f"{'examples/s':>10} {'failures':>8}")
    for r in rows:
        failures = "FATAL" if r.fatal else str(r.failures)
        write(f"{r.nodeid:<{width}} {r.examples:>9} {r.invalid:>8} {r.seconds:>8.1f} "
              f"{r.rate:>10.1f} {failures:>8}")
    examples, seconds = sum(r.examples for r in rows), sum(r.seconds for r in rows)
    write(f"{'all ' + str(len(rows)) + ' properties':<{width}} {examples:>9} "
          f"{sum(r.invalid for r in rows):>8} {seconds:>8.1f} "
          f"{examples / seconds if seconds else 0.0:>10.1f} "
          f"{sum(r.failures + bool(r.fatal) for r in rows):>8}")


_FLUSHING: dict[str, int] = {}  # the process whose flusher runs (a fork inherits no thread)


def start_tally_flusher(session: Counter[str], interval: float = 2.0) -> None:
    """In a HypoFuzz worker (TALLY_ENV set): write this process's coverage counter to
    TALLY_ENV/<pid>.json every `interval` seconds.  Workers are stopped by a signal, so
    nothing can be written at their exit; at most the last interval is lost."""
    directory = os.environ.get(TALLY_ENV)
    if not directory or _FLUSHING.get("pid") == os.getpid():
        return
    _FLUSHING["pid"] = os.getpid()
    path = Path(directory) / f"{os.getpid()}.json"

    def flush() -> None:
        while True:
            time.sleep(interval)
            if session:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(dict(session)), encoding="utf-8")
                tmp.replace(path)

    threading.Thread(target=flush, name="fuzz-tally", daemon=True).start()


def read_tallies(directory: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in sorted(directory.glob("*.json")):
        total.update(json.loads(path.read_text(encoding="utf-8")))
    return total


def _start_group(command: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("a", encoding="utf-8") as out:
        # the campaign's own directory: pytest's rootdir, and so the properties' node ids and
        # database keys, must be the ones this process collected
        return subprocess.Popen(list(command), cwd=os.getcwd(), env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop_groups(procs: Sequence[subprocess.Popen[bytes]], grace: float = 3.0) -> None:
    """SIGINT to each process group, as Ctrl-C would, then SIGKILL to whatever is left after
    `grace` seconds (HypoFuzz's workers and dashboard may outlive its hub; its database
    writes are already behind by its report interval, a second or two, anyway)."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
    until = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(until - time.monotonic(), 0.0))
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_round(groups: Sequence[tuple[Sequence[Property], int]], options: Sequence[str],
              deadline: float, log: Path, env: dict[str, str]) -> list[int]:
    """One `hypothesis fuzz --no-dashboard` per (properties, workers) group, side by side,
    until `deadline` (time.monotonic()) less the time stopping takes, or until every
    property of the round has a failure saved (HypoFuzz fuzzes a failed property no
    further); then all are stopped.  Returns the exit statuses of the runs that ended by
    themselves (none should)."""
    procs = [_start_group([sys.executable, "-c", HYPOTHESIS_CLI, "fuzz", "-n", str(workers),
                           "--no-dashboard", "--", *(p.spec for p in group), *options], log, env)
             for group, workers in groups]
    everything = [p for group, _ in groups for p in group]
    deadline -= STOP_GRACE
    try:
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
            if all(has_failed(p) for p in everything):
                break
        return [code for code in (p.poll() for p in procs) if code is not None]
    finally:
        _stop_groups(procs, STOP_GRACE)


def plan_rounds(nodeids: Sequence[Property], workers: int, seconds: float,
                together: bool) -> list[tuple[list[tuple[list[Property], int]], float]]:
    """Which HypoFuzz runs each round holds (a run: the properties it fuzzes, one worker
    each), and how long the round lasts.

    HypoFuzz gives a property 100 calls each time a worker turns to it, and a call of ours
    costs 0.05-1 s under its tracer: in a campaign of minutes most properties would never get
    a turn, and two properties given to two workers may both go to the slower one.  So by
    default every property gets a HypoFuzz run with a worker of its own, `workers` of them
    side by side, each round an equal share of the time but at least MIN_ROUND seconds (a
    budget too small for every round leaves the last properties out, and the table says so).
    `together` (campaigns of hours) gives one HypoFuzz run every property and every worker
    and lets it choose."""
    if together or not nodeids:
        return [([(list(nodeids), workers)], seconds)] if nodeids else []
    batches = [list(nodeids[i:i + workers]) for i in range(0, len(nodeids), workers)]
    fit = max(1, min(len(batches), int(seconds // MIN_ROUND)))
    return [([([nodeid], 1) for nodeid in batch], seconds / fit) for batch in batches[:fit]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.campaign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("FUZZ_SECONDS", "600")))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="fuzzing processes (default: every core)")
    parser.add_argument("--port", type=int, default=0,
                        help="the dashboard's loopback port (default: a free one)")
    parser.add_argument("--together", action="store_true",
                        help="one HypoFuzz run over every property, HypoFuzz choosing which "
                             "to fuzz (for campaigns of hours); default: rounds")
    parser.add_argument("--out", default="build/fuzz",
                        help="where the HypoFuzz log and the workers' tallies go")
    parser.add_argument("pytest_args", nargs="*",
                        help="after --: which properties (default: fuzz/) and pytest options")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    selection = [a for a in args.pytest_args if not a.startswith("-")] or [PROPERTIES]
    options = [*(a for a in args.pytest_args if a.startswith("-")), *BASE_PYTEST_ARGS]
    out = (REPO / args.out).resolve()
    tallies = out / "tally"
    tallies.mkdir(parents=True, exist_ok=True)
    for old in tallies.glob("*.json"):
        old.unlink()
    log = out / "hypofuzz.log"
    log.write_text("", encoding="utf-8")

    print("collecting the properties... ", end="", flush=True)
    props, _ = collect([*selection, *options])
    print(f"{len(props)} collected")
    if not props:
        return 2
    from hypothesis import settings

    rounds = plan_rounds(list(props.values()), max(args.workers, 1), args.seconds,
                         args.together)
    port = args.port or free_loopback_port()
    env = {**os.environ, TALLY_ENV: str(tallies), "PYTHONPATH": str(REPO)}
    print(f"database: {settings().database!r}\nHypoFuzz on {args.workers} worker(s) for "
          f"{args.seconds:g}s in {len(rounds)} round(s); dashboard while it runs: "
          f"http://127.0.0.1:{port}/  (log: {log})", flush=True)
    dashboard = _start_group([sys.executable, "-c", HYPOTHESIS_CLI, "fuzz", "--dashboard-only",
                              "--host", "127.0.0.1", "--port", str(port), "--", *selection,
                              *options], log, env)
    since, start = time.time(), time.monotonic()
    ended: list[int] = []
    try:
        for n, (groups, share) in enumerate(rounds, 1):
            print(f"  round {n}/{len(rounds)}, {share:.0f}s: "
                  f"{', '.join(p.nodeid for group, _ in groups for p in group)}", flush=True)
            ended += run_round(groups, options, start + n * share, log, env)
            if ended:
                tail = log.read_text(encoding="utf-8").strip().splitlines()[-15:]
                print(f"HypoFuzz stopped by itself (exit {ended}):\n" + "\n".join(tail),
                      file=sys.stderr)
                break
    finally:
        _stop_groups([dashboard])
    time.sleep(0.5)  # the stopped workers' background database writes

    rows = tally(props, since)
    print(f"\nper property, summed over the workers (examples/s per worker-second; "
          f"{args.workers} worker(s), {time.time() - since:.0f}s wall):")
    render_table(rows, print)
    for nodeid, example, last in failure_details(props):
        print(f"\nFAILED {nodeid}\n  {example}\n  {last}\n  replay: pytest '{nodeid}' "
              "--hypothesis-profile=fuzz   (or: linkharness hunt --pull)")
    for r in rows:
        if r.fatal:
            print(f"\nFATAL {r.nodeid}: the property could not run:\n{r.fatal}")
    print_inventory(read_tallies(tallies))
    idle = [r.nodeid for r in rows if r.examples == 0 and not r.fatal and not r.failures]
    if idle:
        print(f"\n{len(idle)} of {len(rows)} properties drew no example (the budget is too "
              f"small for every round to get {MIN_ROUND}s): " + ", ".join(idle))
    return 1 if ended or any(r.failures or r.fatal for r in rows) else 0


INVENTORY_DRAWS = 30  # per strategy, as tests/fuzz/test_inventory.py draws them


def print_inventory(counts: Counter[str], write: Callable[[str], None] = print) -> None:
    """The feature inventory with the workers' counts plus the deterministic draws of
    tests/fuzz/test_inventory.py (samples and INVENTORY_DRAWS derandomized draws of every
    strategy): a short campaign whose rounds reach a few properties, or properties that
    record no labels, still shows every row drawn by what the campaign runs."""
    from fuzz.inventory import all_label_counts, render

    drawn = all_label_counts(INVENTORY_DRAWS)
    total = Counter(counts)
    total.update(drawn)
    write(f"\nfeature inventory (fuzz/inventory.py) over {total['examples']} examples: "
          f"{counts.get('examples', 0)} from the campaign's workers, {drawn['examples']} "
          f"deterministic draws ({INVENTORY_DRAWS} per strategy, and the samples)")
    render(total, write)


if __name__ == "__main__":
    sys.exit(main())
