"""`make fuzz` (fuzz/campaign.py): HypoFuzz collects every property in fuzz/, and a short
campaign finds a seeded failure, saves it in the campaign database (a directory, or Redis
when LINKHARNESS_FUZZ_DB=redis://...), reports it in its table, and plain pytest replays it
from that database alone."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis.database import choices_to_bytes

from fuzz.campaign import PropertyTally, plan_rounds, render_table
from fuzz.database import DB_ENV
from tests.test_fuzz_database import redis_url  # noqa: F401  (a fixture: redis-server)

REPO = Path(__file__).resolve().parents[2]
COLLECT = """
import json, sys
from fuzz.campaign import collect
found, skipped = collect(["fuzz", "-p", "no:xdist", "-p", "no:cacheprovider",
                          "--hypothesis-profile=fuzz"])
print(json.dumps({"collected": sorted(found), "skipped": skipped}))
"""


def _given(decorators: list[ast.expr]) -> bool:
    return any(isinstance(d, ast.Call) and getattr(d.func, "id", None) == "given"
               for d in decorators)


def _properties_in_source() -> tuple[set[str], list[str]]:
    """Every module-level @given test in fuzz/ as file::name, and every @given function
    nested inside a test (which HypoFuzz cannot see)."""
    module_level: set[str] = set()
    nested: list[str] = []
    for path in sorted((REPO / "fuzz").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(REPO).as_posix()
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
                continue
            if _given(node.decorator_list):
                module_level.add(f"{rel}::{node.name}")
            nested += [f"{rel}::{node.name}.{inner.name}" for inner in ast.walk(node)
                       if inner is not node and isinstance(inner, ast.FunctionDef)
                       and _given(inner.decorator_list)]
    return module_level, nested


def test_hypofuzz_collects_every_property_in_fuzz() -> None:
    """HypoFuzz's collection (`pytest -m hypothesis`, then its own filters) leaves none of
    the Hypothesis tests in fuzz/ out, and no property hides inside a test, where neither
    pytest's marker nor HypoFuzz can see it."""
    module_level, nested = _properties_in_source()
    assert not nested, ("@given nested inside a test: HypoFuzz cannot collect it; make it a "
                        f"module-level @given test: {nested}")
    proc = subprocess.run([sys.executable, "-c", COLLECT], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["skipped"] == {}, f"Hypothesis tests HypoFuzz will not fuzz: {result}"
    collected = {nodeid.split("[")[0] for nodeid in result["collected"]}
    assert module_level <= collected, f"not collected: {sorted(module_level - collected)}"
    assert len(collected) >= 22  # the properties of this session, at least


SEEDED = '''
from hypothesis import given, strategies as st


@given(value=st.integers(0, 10**6))
def test_seeded_field_fits(value):
    assert value < 1000, f"field value {value} does not fit"
'''


def _campaign(workdir: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DB_ENV: db, "PYTHONPATH": str(REPO), "FUZZ_SECONDS": "5"}
    return subprocess.run([sys.executable, *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=240, check=False)


@pytest.mark.parametrize("kind", ["directory", "redis"])
def test_a_short_campaign_finds_a_seeded_failure_and_saves_it(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    props = tmp_path / "props"
    props.mkdir()
    # the fuzz profile, database and hooks of fuzz/, for a property that is not in fuzz/
    (props / "conftest.py").write_text("from fuzz.conftest import *  # noqa: F403\n")
    (props / "test_seeded.py").write_text(SEEDED)
    db = str(tmp_path / "db") if kind == "directory" else request.getfixturevalue("redis_url")
    found = _campaign(tmp_path, db, "-m", "fuzz.campaign", "--seconds", "120", "--workers",
                      "1", "--out", str(tmp_path / "out"), "--", str(props))
    assert found.returncode == 1, found.stdout[-3000:] + found.stderr[-3000:]
    table = found.stdout
    assert "dashboard while it runs: http://127.0.0.1:" in table
    row = next(line for line in table.splitlines()
               if line.split()[:1] and line.split()[0].endswith("test_seeded_field_fits"))
    assert row.split()[-1] == "1", table  # one failure, shrunk...
    assert "FAILED props/test_seeded.py::test_seeded_field_fits" in table
    assert "value=1000" in table  # ...to the edge
    if kind == "directory":
        saved = [p.read_bytes() for p in (tmp_path / "db").rglob("*") if p.is_file()]
        assert choices_to_bytes((1000,)) in saved
    # a separate pytest that generates nothing (the replay profile) replays the failure from
    # the database alone (from the campaign's directory: the node id is part of the key)...
    replay = _campaign(tmp_path, db, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                       "no:xdist", "--hypothesis-profile=replay", str(props / "test_seeded.py"))
    assert replay.returncode == 1, replay.stdout[-3000:]
    assert "field value 1000 does not fit" in replay.stdout
    # ...and so does `linkharness hunt --pull` (this property keeps no corpus case: it says so)
    pulled = _campaign(tmp_path, db, "-m", "oracle.cli", "hunt", "--pull", "--dest",
                       str(tmp_path / "cases"), "--property", str(props / "test_seeded.py"))
    assert pulled.returncode == 1, pulled.stdout[-3000:] + pulled.stderr[-3000:]
    assert "replayed a failure that keeps no case: pytest 'props/test_seeded.py::" \
        "test_seeded_field_fits' --hypothesis-profile=replay" in pulled.stdout


def test_rounds_give_every_property_a_worker_and_a_share() -> None:
    from fuzz.campaign import Property

    props = [Property(f"p{i}", f"p{i}", bytes([i])) for i in range(5)]
    rounds = plan_rounds(props, 2, 600, together=False)
    assert [[g[0][0].nodeid for g in groups] for groups, _ in rounds] == \
        [["p0", "p1"], ["p2", "p3"], ["p4"]]
    assert all(share == 200 and all(n == 1 for _, n in groups) for groups, share in rounds)
    # too short a budget for every round: the last properties are left out, not squeezed
    assert len(plan_rounds(props, 2, 45, together=False)) == 2
    assert plan_rounds(props, 2, 600, together=True) == [([(props, 2)], 600)]


def test_the_table_has_examples_per_second_and_failures() -> None:
    lines: list[str] = []
    render_table([PropertyTally("fuzz/test_a.py::test_a", 120, 3, 60.0, 0, None),
                  PropertyTally("fuzz/test_b.py::test_b", 10, 0, 20.0, 2, None)], lines.append)
    assert lines[0].split() == ["property", "examples", "invalid", "seconds", "examples/s",
                                "failures"]
    assert lines[1].split() == ["fuzz/test_a.py::test_a", "120", "3", "60.0", "2.0", "0"]
    assert lines[2].split() == ["fuzz/test_b.py::test_b", "10", "0", "20.0", "0.5", "2"]
    assert lines[3].split()[-2:] == ["1.6", "2"]


def test_the_narrowed_tracer_follows_only_the_linker(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypofuzz.coverage import CoverageCollector

    from fuzz.hypofuzz_patches import narrow_hypofuzz_tracing
    from linker.cli import main
    from linker.kinds import RelocKind

    monkeypatch.setattr(CoverageCollector, "trace_pre_312", CoverageCollector.trace_pre_312)
    narrow_hypofuzz_tracing()
    collector = CoverageCollector()
    with collector:
        json.dumps({"a": [1, 2]})  # the standard library: not followed
        _properties_in_source()  # the tests: not followed
        list(RelocKind)
        assert main(["--version"]) == 0  # the linker: followed
    files = {branch.start.filename for branch in collector.branches}
    assert files, "nothing in linker/ was traced"
    assert all(f.startswith(str(REPO / "linker") + os.sep) for f in files), files
