"""The rules every entry point keeps on any input bytes, each check returning the rules a
mutated input broke (empty: all kept), as one-line strings.

- linker.link: succeeds and leaves the output (and map) file, or raises LinkError whose
  message is one line per error (usually one), each naming an input file; no other exception; after a failure no
  output, map or temporary file is left in the output's directory; within LINK_SECONDS;
- oracle.check: returns its violations, never raises; oracle.check_fields: returns its
  mismatches (an unreadable file is one, of kind "unreadable", naming the file), never
  raises;
- oracle.run(..., timeout=T, memory_cap=M): returns, within T + RUN_SLACK seconds, and the
  process's peak resident size grows by at most M + MEMORY_SLACK.
Memory is measured with the process's high-water mark (resource.getrusage): cheap, and a
case that pushes it up by more than the allowance is the culprit (earlier cases could not
have, the mark only rises).  Time is the process's CPU time, so that a campaign starved of
a core on a loaded machine reports nothing it could not replay; a call that blocks without
computing is caught on the wall clock by the campaign's supervisor (fuzz/hostile/supervise).
"""

from __future__ import annotations

import os
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from linker import LinkError, link
from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields

LINK_SECONDS = 10.0  # the seeds link in well under a second
CHECK_SECONDS = 10.0
RUN_TIMEOUT = 0.5
RUN_SLACK = 1.0
RUN_MEMORY_CAP = 32 << 20
MEMORY_SLACK = 256 << 20  # Python objects of a parse, numpy arrays of a small link


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def clocks() -> tuple[float, float]:
    return time.monotonic(), time.process_time()


def over_time(what: str, start: tuple[float, float], seconds: float) -> list[str]:
    """The time rule, on the process's CPU time: a campaign at nice 19 on a loaded machine
    waits for a core far longer than any case runs, and that wait is nobody's fault (a call
    that blocks without computing is the supervisor's HANG, on the wall clock)."""
    wall, cpu = time.monotonic() - start[0], time.process_time() - start[1]
    if cpu <= seconds:
        return []
    return [f"{what} took {cpu:.1f}s of CPU ({wall:.1f}s wall; limit {seconds:.1f}s)"]


def crash(what: str, err: BaseException) -> str:
    if os.environ.get("HOSTILE_TRACEBACK"):
        traceback.print_exception(err)
    frames = traceback.extract_tb(err.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    first = str(err).splitlines()[0] if str(err) else ""
    return f"{what} raised {type(err).__name__}{where}: {first[:200]}"


def _guarded(what: str, action: Callable[[], Any], seconds: float, memory: int
             ) -> tuple[Any, list[str]]:
    """Run `action`; the rules broken: an exception, too long, too much memory."""
    peak, start = peak_rss(), clocks()
    broken: list[str] = []
    result = None
    try:
        result = action()
    except Exception as err:  # noqa: BLE001 - any exception here is the finding
        broken.append(crash(what, err))
    broken += over_time(what, start, seconds)
    grown = peak_rss() - peak
    if grown > memory:
        broken.append(f"{what} grew the peak resident size by {grown >> 20} MiB")
    return result, broken


def _names_a_file(where: str) -> bool:
    """A file a script or a `-lNAME` found (the inputs name neither), or a member of an
    archive found so, `ARCHIVE(MEMBER)`."""
    if where.endswith(")") and "(" in where:
        where = where[:where.index("(")]
    return os.path.isfile(where)


def _message_rules(err: LinkError, names: Sequence[str]) -> list[str]:
    """One line per error (a link may report several, each a diagnostic), each naming an
    input file; the error limit's closing line names none."""
    lines = [str(d) for d in err.diagnostics]
    broken = []
    if str(err) != "\n".join(lines) or any("\n" in line or "\r" in line for line in lines):
        broken.append(f"LinkError message is not one line per error: {str(err)[:300]!r}")
    for line in lines:
        if not line.strip():
            broken.append("LinkError with an empty message")
        elif not line.startswith("too many errors") and not any(n in line for n in names) \
                and not _names_a_file(line.split(": ")[0]):
            broken.append(f"LinkError names no input file: {line[:300]!r}")
    return broken


def link_rules(inputs: Sequence[Path], options: dict[str, Any], out_dir: Path,
               names: Sequence[str]) -> tuple[Path | None, list[str]]:
    """Link `inputs` into out_dir/a.out (with a map); `names`: the file names a message may
    name.  `out_dir` must be empty or absent.  Returns the output (None when the link
    failed) and the rules broken."""
    out_dir.mkdir(parents=True, exist_ok=True)
    output, map_file = out_dir / "a.out", out_dir / "a.map.json"
    # Besides the inputs, an error may name the output (its layout) or the command line
    # (`-e (entry point)` or `-u`: a symbol the options name that no input defines).
    names = [*names, output.name, "(entry point)", "-u: "]
    broken: list[str] = []
    peak, start = peak_rss(), clocks()
    failed = False
    try:
        link(list(inputs), output, map_file=map_file, **options)
    except LinkError as err:
        failed = True
        broken += _message_rules(err, names)
    except Exception as err:  # noqa: BLE001 - any other exception is the finding
        failed = True
        broken.append(crash("linker.link", err))
    broken += over_time("linker.link", start, LINK_SECONDS)
    grown = peak_rss() - peak
    if grown > MEMORY_SLACK:
        broken.append(f"linker.link grew the peak resident size by {grown >> 20} MiB")
    left = sorted(p.name for p in out_dir.iterdir())
    if failed and left:
        broken.append(f"failed link left files behind: {left}")
    if not failed and not output.is_file():
        broken.append("link succeeded but wrote no output")
    return (None if failed else output), broken


def check_rules(path: Path) -> list[str]:
    result, broken = _guarded("oracle.check", lambda: check(path), CHECK_SECONDS,
                              MEMORY_SLACK)
    if not broken and not isinstance(result, list):
        broken.append(f"oracle.check returned {type(result).__name__}, not a list")
    return broken


def _fields(output: Path, inputs: Sequence[Path]) -> list[object]:
    """check_fields' mismatches; an unreadable file is one of them (kind "unreadable"),
    which must name a file it was given."""
    found: list[object] = list(check_fields(str(output), [str(p) for p in inputs]))
    given = {str(output), *map(str, inputs)}
    for m in found:
        if getattr(m, "kind", "") == "unreadable" and getattr(m, "file", "") not in given:
            raise AssertionError(f"an unreadable finding names no file given: {m}")
    return found


def fields_rules(output: Path, inputs: Sequence[Path]) -> list[str]:
    result, broken = _guarded("oracle.check_fields", lambda: _fields(output, inputs),
                              CHECK_SECONDS, MEMORY_SLACK)
    if not broken and not isinstance(result, list):
        broken.append(f"oracle.check_fields returned {type(result).__name__}, not a list")
    return broken


def run_rules(path: Path, library_path: Sequence[Path], bind: str = "lazy",
              seed: int | None = None) -> list[str]:
    """`seed`: the load bases' (None: drawn per run); the cases pass one taken from the
    mutated bytes, so that a kept case replays at the same bases."""
    def go() -> object:
        return run(path, bind=bind, timeout=RUN_TIMEOUT, memory_cap=RUN_MEMORY_CAP,
                   max_instructions=None, library_path=list(library_path), seed=seed)
    result, broken = _guarded(f"oracle.run(bind={bind})", go, RUN_TIMEOUT + RUN_SLACK,
                              RUN_MEMORY_CAP + MEMORY_SLACK)
    if not broken and result is None:
        broken.append("oracle.run returned None")
    return broken


def write_case(directory: Path, name: str, data: bytes) -> Path:
    """Write a mutated input under `directory` (created), keeping its original name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    os.chmod(path, 0o755)
    return path
