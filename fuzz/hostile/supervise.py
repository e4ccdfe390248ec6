"""Worker processes a campaign's parent watches, so that no input can stop a campaign.

Each case is numbered, and case n of target T under seed S is drawn from its own
random.Random(f"{S}:{T}:{n}"): any process can draw it again from those three values.  The
parent hands one case at a time to each worker over a pipe and waits for its answer:

- an answer (the rules the case broke) is counted; a breaking input comes back with it;
- no answer within `case_seconds`: the worker is killed (SIGKILL), the case is drawn again
  in the parent and kept as a HANG find, and a fresh worker takes the worker's place;
- the worker dies (the kernel's OOM killer, a crash in native code): the same, as a CRASH.

Each worker runs under RLIMIT_AS (`memory_bytes`): an allocation past it is a MemoryError
inside the case (which the rules report as a find) rather than the machine's memory.
Workers are spawned, not forked (Unicorn and threads do not survive fork), and get the
seeds the parent built once.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import random
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from .cases import Drawn, draw_case
from .mutate import RandomPicker
from .seeds import Targets

STARTUP_SECONDS = 180.0  # spawn, imports and unpickling the seeds, at nice 19 under load


def case_picker(seed: str, target: str, n: int) -> RandomPicker:
    return RandomPicker(random.Random(f"{seed}:{target}:{n}"))


def draw_numbered(targets: Targets, seed: str, target: str, n: int) -> Drawn:
    return replace(draw_case(case_picker(seed, target, n), target, targets), number=n)


@dataclass
class Answer:
    """What became of one case."""

    target: str
    n: int
    broken: list[str]
    drawn: Drawn | None = None  # the input, when it broke a rule
    kind: str = ""  # "", "HANG" or "CRASH" (the worker was lost on it)


RUN_DRAWN = "fuzz.hostile.cases:run_drawn"
Runner = Callable[[Drawn, Targets, Path], list[str]]


def _runner(spec: str) -> Runner:
    """"module:function", the module a dotted name or a .py file (a test's stand-in)."""
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py"):
        loaded = importlib.util.spec_from_file_location(Path(where).stem, where)
        assert loaded is not None and loaded.loader is not None
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    runner: Runner = getattr(module, name)
    return runner


def die_with_parent() -> None:
    """Linux: the kernel kills this worker when the campaign that spawned it ends.  A
    campaign killed by SIGTERM or SIGKILL cannot stop its workers itself, and a worker
    deep in a long case does not read its pipe's end: one ran on orphaned for 40 minutes."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux's libc: an orphan ends at its next read
        pass


_PR_SET_PDEATHSIG = 1


def _worker(conn: Connection, seeds_file: str, work: str, seed: str, memory_bytes: int,
            runner_spec: str) -> None:
    """A worker's loop: (target, n) in, (target, n, broken, drawn-if-broken) out."""
    die_with_parent()
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    run = _runner(runner_spec)
    with open(seeds_file, "rb") as f:
        targets: Targets = pickle.load(f)
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        target, n = job
        drawn = None
        try:
            drawn = draw_numbered(targets, seed, target, n)
            broken = run(drawn, targets, Path(work) / "case")
        except Exception as err:  # noqa: BLE001 - anything here is a find, the loop goes on
            frames = traceback.extract_tb(err.__traceback__)
            where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
            first = str(err)[:200]
            broken = [f"the campaign's case raised {type(err).__name__}{where}: {first}"]
        conn.send((target, n, broken, drawn if broken else None))


@dataclass
class _Slot:
    """One worker process and the case it is on."""

    process: BaseProcess
    conn: Connection
    ready: bool = False
    job: tuple[str, int] | None = None
    deadline: float = field(default=0.0)


class Supervisor:
    """`jobs` workers over the seeds in `seeds_file` (a pickled Targets), running each case
    with `runner` ("module:function" of a Runner; a test passes one that misbehaves)."""

    def __init__(self, targets: Targets, seeds_file: Path, work: Path, seed: str, jobs: int,
                 case_seconds: float, memory_bytes: int, runner: str = RUN_DRAWN) -> None:
        self.targets, self.seeds_file, self.work, self.seed = targets, seeds_file, work, seed
        self.case_seconds, self.memory_bytes, self.runner = case_seconds, memory_bytes, runner
        self.context = get_context("spawn")
        self.started = 0
        self.slots = [self._start() for _ in range(jobs)]

    def _start(self) -> _Slot:
        self.started += 1
        work = self.work / f"worker{self.started}"
        work.mkdir(parents=True, exist_ok=True)
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker, args=(child, str(self.seeds_file), str(work), self.seed,
                                  self.memory_bytes, self.runner), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent, deadline=time.monotonic() + STARTUP_SECONDS)

    def _replace(self, slot: _Slot) -> None:
        slot.process.kill()
        slot.process.join()
        slot.conn.close()
        self.slots[self.slots.index(slot)] = self._start()

    def _lost(self, slot: _Slot, kind: str, why: str) -> Answer | None:
        """The worker of `slot` hung or died: its case (if any) as a find; a new worker."""
        job = slot.job
        self._replace(slot)
        if job is None:
            raise RuntimeError(f"a campaign worker {why} before taking a case")
        target, n = job
        drawn = draw_numbered(self.targets, self.seed, target, n)
        return Answer(target, n, [f"{kind}: {why}"], drawn, kind)

    def run(self, target: str, numbers: Iterable[int], stop: Callable[[], bool],
            answered: Callable[[Answer], None], tick: Callable[[], None]) -> None:
        """Run cases `numbers` of `target` (until `stop()` says so), calling `answered` for
        each outcome and `tick` at least every second."""
        todo = iter(numbers)
        exhausted = False
        while True:
            now = time.monotonic()
            for slot in self.slots:
                if slot.ready and slot.job is None and not exhausted:
                    n = None if stop() else next(todo, None)
                    if n is None:
                        exhausted = True
                        continue
                    slot.job = (target, n)
                    slot.deadline = now + self.case_seconds
                    slot.conn.send(slot.job)
            busy = [s for s in self.slots if s.job is not None or not s.ready]
            if exhausted and not any(s.job is not None for s in self.slots):
                return
            soonest = min(s.deadline for s in busy) if busy else now + 1.0
            ready = wait([s.conn for s in busy], timeout=max(0.0, min(soonest - now, 1.0)))
            for slot in [s for s in list(self.slots) if s.conn in ready]:
                answer = self._receive(slot)
                if answer is not None:
                    answered(answer)
            now = time.monotonic()
            for slot in list(self.slots):
                if (slot.job is not None or not slot.ready) and now > slot.deadline:
                    lost = self._lost(slot, "HANG", f"no answer within {self.case_seconds:g}s"
                                      if slot.ready else "did not start")
                    if lost is not None:
                        answered(lost)
            tick()

    def _receive(self, slot: _Slot) -> Answer | None:
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            slot.process.join(5)
            code = slot.process.exitcode
            why = (f"the worker died (signal {-code})" if code is not None and code < 0
                   else f"the worker died (exit code {code})")
            return self._lost(slot, "CRASH", why)
        if message == "ready":
            slot.ready = True
            return None
        target, n, broken, drawn = message
        slot.job = None
        return Answer(target, n, broken, drawn)

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        for slot in self.slots:
            slot.process.join(5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()


def write_seeds(targets: Targets, path: Path) -> Path:
    with open(path, "wb") as f:
        pickle.dump(targets, f)
    os.chmod(path, 0o600)
    return path
