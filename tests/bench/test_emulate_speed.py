"""The emulator-speed benchmark at a tiny size: programs, checked runs, table, JSON, profile."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench import emulate_speed
from bench.emulate_programs import Program, build

LOOP = 20_000


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulate-speed")


@pytest.fixture(scope="module")
def programs(cache: Path) -> list[Program]:
    return build(cache / "emulate_speed", LOOP)


def test_every_program_runs_right_and_the_loop_counts_its_instructions(
        programs: list[Program]) -> None:
    counts = {p.name: emulate_speed.run_checked(p) for p in programs}
    hello, now, loop = programs
    assert (hello.bind, now.bind, loop.bind) == ("lazy", "now", "lazy")
    assert loop.loop_instructions == LOOP
    assert LOOP <= counts[loop.name] < LOOP + 1000
    assert 0 < counts[hello.name] < 1000


def test_a_wrong_run_is_reported_not_timed(programs: list[Program]) -> None:
    wrong = dataclasses.replace(programs[0], stdout=b"something else\n")
    with pytest.raises(emulate_speed.WrongRun, match="hello"):
        emulate_speed.time_program(wrong, runs=1, warmup=0)


def test_main_prints_a_table_and_writes_sane_json(cache: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = cache / "emulate.json"
    status = emulate_speed.main(["--runs", "3", "--loop-runs", "1", "--loop-instructions",
                                 str(LOOP), "--warmup", "0", "--cache", str(cache),
                                 "--json", str(out), "--linkers", "ignored"])
    assert status == 0
    text = capsys.readouterr().out
    for name in ("hello (lazy)", "hello (-z now)", f"loop {LOOP:,} instr", "runs/CPU-s", "aim:"):
        assert name in text
    record = json.loads(out.read_text())
    assert record["benchmark"] == "emulate_speed"
    assert record["aim_runs_per_s"] == 1000
    rows = record["programs"]
    assert [r["runs"] for r in rows] == [3, 3, 1]
    assert [r["bind"] for r in rows] == ["lazy", "now", "lazy"]
    for row in rows:
        assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["runs_per_s"] == pytest.approx(1 / row["median_s"])
        assert row["runs_per_cpu_s"] == pytest.approx(1 / row["median_cpu_s"])
        assert row["instructions_per_cpu_s"] == pytest.approx(row["instructions"]
                                                              / row["median_cpu_s"])
        assert len(row["wall_s"]) == len(row["cpu_s"]) == row["runs"]
    assert rows[2]["loop_instructions"] == LOOP
    assert rows[2]["instructions"] >= LOOP


def test_profile_writes_the_call_tree_and_a_flat_list(cache: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    status = emulate_speed.main(["--profile", "--runs", "3", "--loop-instructions", str(LOOP),
                                 "--cache", str(cache)])
    assert status == 0
    text = capsys.readouterr().out
    assert "profile of 3 runs of hello (lazy)" in text
    flat = (cache / "emulate_speed" / "emulate-profile-flat.txt").read_text()
    assert flat.startswith("   own s")
    assert "run.py" in flat  # oracle/emulate/run.py:run is on every sampled stack
    assert (cache / "emulate_speed" / "emulate-profile.txt").stat().st_size > 0
