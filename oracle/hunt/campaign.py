"""A hunt: the fuzz properties run for a while with another linker in the subject's seat;
each failure Hypothesis shrinks is kept (fuzz/keep.py), renamed to a hunt case and triaged.

The properties run in a pytest subprocess (`--subject`, the `fuzz` profile, FUZZ_SECONDS,
FUZZ_KEEP), exactly as a user would run them, so the hunt judges with the same model,
checker, field oracle and emulator as `pytest fuzz/`.  A campaign record
(`hunt-<subject>-<time>.json` in the destination) lists what ran, the coverage tally and
the cases found, for `linkharness report`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.corpus import find_cases, load_case

from .triage import triage_case

REPO = Path(__file__).resolve().parents[2]
# The properties that link with the subject, by the formats the subject links.
ELF_PROPERTIES = (
    "fuzz/test_linkharness.py",
    "fuzz/test_i386.py::test_linkharness_i386_output_is_right_by_every_check",
    "fuzz/test_differential.py",
)
MACHO_PROPERTIES = ("fuzz/test_macho_properties.py::test_linkharness_macho_modern_and_classic",)
_COVERAGE_LINE = re.compile(r"^\s{2}(\S.*?)\s+(\d+)\s+[\d.]+%$")
_EXAMPLES = re.compile(r"fuzz coverage: (\d+) examples")


@dataclass
class Campaign:
    subject: str
    subject_version: str | None
    seconds: float
    properties: list[str]
    started: str
    pytest_exit: int = 0
    examples: int = 0
    coverage: dict[str, int] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # failed tests that kept no case
    allowed: list[str] = field(default_factory=list)  # checker rules the subject may break
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_properties(subject: str) -> list[str]:
    return list(MACHO_PROPERTIES if subject == "ld64.lld" else ELF_PROPERTIES)


def run_hunt(subject: str, seconds: float, dest: Path, *, subject_cmd: str | None = None,
             properties: Sequence[str] = (), allow: Sequence[str] = (),
             log: Any = sys.stderr, pull: bool = False) -> Campaign:
    """Hunt for `seconds` (the fuzz profile's FUZZ_SECONDS budget), keep and triage what
    fails, and write the campaign record under `dest`.  With `pull`, draw nothing: replay
    the failures the campaign database holds (`make fuzz`'s, any machine's when it is Redis;
    the replay profile) and keep and triage those, from every property by default."""
    from fuzz import subject as seat  # the fuzz package names the subjects

    seat.choose(subject, subject_cmd, allow)
    version = seat.version()
    props = list(properties) or (["fuzz"] if pull else default_properties(subject))
    campaign = Campaign(subject, version, seconds, props,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), allowed=list(allow))
    dest.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hunt-") as staging:
        env = {**os.environ, "FUZZ_KEEP": staging, "FUZZ_SECONDS": f"{seconds:g}"}
        profile = "replay" if pull else "fuzz"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p",
                   "no:cacheprovider", f"--hypothesis-profile={profile}", f"--subject={subject}",
                   *([f"--subject-cmd={subject_cmd}"] if subject_cmd else []),
                   *(f"--subject-allow={rule}" for rule in allow), *props]
        print(f"replaying the campaign database's failures ({subject}): " if pull else
              f"hunting with {subject} {version or ''} for {seconds:g}s: ", end="", file=log)
        print(" ".join(props), file=log)
        try:
            # the campaign's directory: the node ids in the database keys are relative to it
            proc = subprocess.run(command, cwd=REPO if not pull else os.getcwd(), env=env, capture_output=True, text=True,
                                  errors="replace", timeout=3 * seconds + 600, check=False)
            output, campaign.pytest_exit = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as e:
            output = e.stdout if isinstance(e.stdout, str) else ""
            campaign.pytest_exit = -1
        _read_coverage(campaign, output)
        campaign.failures = re.findall(r"^FAILED (\S+)", output, re.MULTILINE)
        for found in find_cases(staging):
            case_dir = _adopt(found, dest, subject)
            prop = found.name.removeprefix("fuzz-")
            failure = load_case(case_dir).caught
            print(f"  found: {case_dir.name}: {failure}", file=log)
            triage_case(case_dir, subject, version, prop, failure)
            campaign.cases.append(case_dir.name)
    campaign.elapsed = round(time.monotonic() - start, 1)
    stamp = campaign.started.replace(":", "").replace("-", "")
    record = dest / f"hunt-{subject}-{stamp}.json"
    record.write_text(json.dumps(campaign.to_json(), indent=1) + "\n", encoding="utf-8")
    return campaign


def _read_coverage(campaign: Campaign, output: str) -> None:
    """The conftest's coverage tally (printed by the fuzz profile) from pytest's output."""
    section = output.split("fuzz coverage:", 1)
    found = _EXAMPLES.search(output)
    campaign.examples = int(found.group(1)) if found else 0
    if len(section) < 2:
        return
    for line in section[1].splitlines()[1:]:
        match = _COVERAGE_LINE.match(line)
        if match:
            campaign.coverage[match.group(1)] = int(match.group(2))
        elif line.strip() and not line.startswith("  "):
            break


def _adopt(found: Path, dest: Path, subject: str) -> Path:
    """Move a kept case into `dest` as hunt-<subject>-<property>-<hash of its inputs>."""
    case = load_case(found)
    digest = hashlib.sha256()
    for path in case.input_paths():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    prop = found.name.removeprefix("fuzz-")
    case_id = f"hunt-{subject}-{prop}-{digest.hexdigest()[:8]}"
    target = dest / case_id
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(found), target)
    data = json.loads((target / "case.json").read_text(encoding="utf-8"))
    data["id"] = case_id
    data["origin"] = f"hunt: {subject} in the subject's seat; {data['origin']}"
    (target / "case.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return target
