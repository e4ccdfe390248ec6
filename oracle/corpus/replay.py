"""`replay_case`: link a case with one linker, run the output under each judge, and say
whether it still does what the case expects.

An error case passes when the link fails (for linkharness: with a LinkError whose message
matches the case's regex; a crash is never a pass).  Any other case passes when every
judge, in every bind mode, sees the expected exit code, stdout and (emulator) trace.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .judges import EMULATOR, Observation, compare, default_judges, run_judge
from .linking import link_case
from .model import Case

PASS, FAIL, ERROR = "pass", "fail", "error"


@dataclass(frozen=True)
class CaseResult:
    """status: pass; fail (the case's expectation was not met: a regression); error (the
    case could not be judged at all, e.g. no judge can run its target here)."""

    case_id: str
    linker: str
    status: str
    details: tuple[str, ...]
    seconds: float
    observations: tuple[Observation, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def summary(self) -> str:
        """One line: the first problem, or what was checked."""
        if self.details:
            more = f" (+{len(self.details) - 1} more)" if len(self.details) > 1 else ""
            return self.details[0] + more
        checked = sorted({f"{o.judge}/{o.bind}" for o in self.observations})
        text = ", ".join(checked) if checked else "link refused as expected"
        return "; ".join([text, *self.notes])


def replay_case(
    case: Case,
    linker: str = "linkharness",
    workdir: str | os.PathLike[str] | None = None,
    *,
    bind: Sequence[str] | None = None,
    judges: Sequence[str] | None = None,
) -> CaseResult:
    """Replay `case` with `linker`, writing the executable under `workdir` (a temporary
    directory, removed afterwards, when None).  `bind` replaces the case's bind modes
    (a static case runs the same in either); `judges` overrides the default (emulator if present, plus native when the host can run
    the target)."""
    start = time.perf_counter()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
            return _replay(case, linker, Path(tmp), bind, judges, start)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    return _replay(case, linker, Path(workdir), bind, judges, start)


def _replay(case: Case, linker: str, workdir: Path, bind: Sequence[str] | None,
            judges: Sequence[str] | None, start: float) -> CaseResult:
    def result(status: str, details: list[str], seen: Sequence[Observation] = (),
               notes: Sequence[str] = ()) -> CaseResult:
        return CaseResult(case.id, linker, status, tuple(details),
                          time.perf_counter() - start, tuple(seen), tuple(notes))

    output = workdir / f"{case.id}.{linker}.out"
    outcome = link_case(case, linker, output)
    expect = case.expect
    if expect.link_error is not None:
        if outcome.output is not None:
            return result(FAIL, [f"link succeeded, expected an error /{expect.link_error}/"])
        if outcome.crashed:
            return result(FAIL, [outcome.error or "linker crashed"])
        if linker == "linkharness" and not re.search(expect.link_error, outcome.error or ""):
            mismatch = f"LinkError {outcome.error!r} does not match /{expect.link_error}/"
            return result(FAIL, [mismatch])
        return result(PASS, [])
    if outcome.output is None:
        return result(FAIL, [f"link failed: {outcome.error}"])
    modes = list(case.bind if bind is None else bind)
    chosen = list(judges) if judges is not None else default_judges(case)
    if not chosen or not modes:
        return result(ERROR, ["no judge can run this case here (or no bind mode selected)"])
    notes = []
    if expect.trace is not None and EMULATOR not in chosen:
        notes.append("trace not checked (no emulator)")
    seen = [run_judge(j, case, outcome.output, m) for j in chosen for m in modes]
    problems = [p for obs in seen for p in compare(expect, obs)]
    return result(FAIL if problems else PASS, problems, seen, notes)
