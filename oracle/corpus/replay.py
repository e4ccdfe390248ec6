"""`replay_case`: link a case with one linker, run the output under each judge, and say
whether it still does what the case expects.

An error case passes when the link fails (for linkharness: with a LinkError whose message
matches the case's regex; a crash is never a pass).  Any other case passes when every
judge, in every bind mode, sees the expected exit code, stdout and (emulator) trace.

A case's `known` disagreement for the linker, when it applies to the installed version
(oracle.corpus.known), turns a fail into KNOWN and a pass into FIXED.  A linker that does
not link the case's target at all (ld64.lld and an ELF case) gives N/A.  Only FAIL and
ERROR are failures.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .judges import EMULATOR, Observation, compare, default_judges, run_judge
from .known import applicable_reason
from .linking import link_case
from .model import Case
from .toolchain import linker_version

PASS, FAIL, ERROR = "pass", "fail", "error"
KNOWN, FIXED, NOT_APPLICABLE = "known", "fixed", "n/a"
FAILURES = (FAIL, ERROR)


@dataclass(frozen=True)
class CaseResult:
    """status: pass; fail (the case's expectation was not met: a regression); error (the
    case could not be judged at all, e.g. no judge can run its target here); known (fails
    as the case records for this linker version); fixed (passes although recorded as
    known); n/a (the linker does not link the case's target)."""

    case_id: str
    linker: str
    status: str
    details: tuple[str, ...]
    seconds: float
    observations: tuple[Observation, ...] = ()
    notes: tuple[str, ...] = ()
    version: str | None = None  # the linker's version (what known entries are matched to)
    known_reason: str | None = None  # the applicable known entry, for KNOWN and FIXED

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def is_failure(self) -> bool:
        """FAIL or ERROR: what makes a replay exit non-zero (KNOWN, FIXED, N/A do not)."""
        return self.status in FAILURES

    def summary(self) -> str:
        """One line: the first problem, or what was checked."""
        if self.status == KNOWN:
            return f"known: {self.known_reason}"
        if self.status == FIXED:
            return f"fixed since known: {self.known_reason} (installed: {self.version})"
        if self.status == NOT_APPLICABLE:
            return "; ".join(self.notes)
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
    honour_known: bool = True,
) -> CaseResult:
    """Replay `case` with `linker`, writing the executable under `workdir` (a temporary
    directory, removed afterwards, when None).  `bind` replaces the case's bind modes
    (a static case runs the same in either); `judges` overrides the default (emulator if present, plus native when the host can run
    the target).  `honour_known` False reports a known disagreement as the plain FAIL."""
    start = time.perf_counter()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
            res = _replay(case, linker, Path(tmp), bind, judges, start)
    else:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        res = _replay(case, linker, Path(workdir), bind, judges, start)
    if honour_known:
        return with_known(res, case)
    return replace(res, version=linker_version(res.linker))


def with_known(res: CaseResult, case: Case) -> CaseResult:
    """`res` with the linker's version, and KNOWN / FIXED when a known entry applies."""
    version = linker_version(res.linker)
    reason = applicable_reason(case.known, res.linker, version)
    status = res.status
    if reason is not None and status == FAIL:
        status = KNOWN
    elif reason is not None and status == PASS:
        status = FIXED
    notes = res.notes
    if reason is None and res.linker in case.known and status == FAIL:
        notes = (*notes, f"known only for {case.known[res.linker]!r}; installed {version}")
    return replace(res, status=status, version=version,
                   known_reason=reason, notes=notes)


def _replay(case: Case, linker: str, workdir: Path, bind: Sequence[str] | None,
            judges: Sequence[str] | None, start: float) -> CaseResult:
    def result(status: str, details: list[str], seen: Sequence[Observation] = (),
               notes: Sequence[str] = ()) -> CaseResult:
        return CaseResult(case.id, linker, status, tuple(details),
                          time.perf_counter() - start, tuple(seen), tuple(notes))

    output = workdir / f"{case.id}.{linker}.out"
    outcome = link_case(case, linker, output)
    if outcome.unsupported:
        return result(NOT_APPLICABLE, [], notes=[outcome.error or "target not supported"])
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


def result_to_json(res: CaseResult) -> dict[str, object]:
    """A replay result as plain data (`corpus replay --json`, read by `linkharness report`)."""
    return {
        "case": res.case_id, "linker": res.linker, "version": res.version,
        "status": res.status, "details": list(res.details), "notes": list(res.notes),
        "known_reason": res.known_reason, "seconds": round(res.seconds, 3),
        "summary": res.summary(),
    }
