"""The emulator-speed benchmark at a tiny size: programs, checked runs, table, JSON, profile."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench import emulate_speed
from bench.emulate_programs import Program, bare_loop_seconds, build

LOOP = 20_000


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulate-speed")


@pytest.fixture(scope="module")
def programs(cache: Path) -> list[Program]:
    return build(cache / "emulate_speed", LOOP)


def test_every_program_runs_right_and_the_budgeted_loop_counts_its_instructions(
        programs: list[Program]) -> None:
    counts = {p.name: emulate_speed.run_checked(p) for p in programs}
    *hellos, loop, counted = programs
    assert [h.bind for h in hellos] == ["lazy", "now", "lazy", "lazy"]
    assert all(counts[h.name] is None for h in hellos)  # no budget: not counted
    assert loop.loop_instructions == LOOP and counts[loop.name] is None
    assert counted.max_instructions is not None
    count = counts[counted.name]
    assert count is not None and counted.loop_instructions <= count < counted.loop_instructions + 1000


def test_the_bare_loop_runs_to_its_end() -> None:
    wall, cpu = bare_loop_seconds(LOOP)
    assert wall > 0 and cpu >= 0


def test_a_wrong_run_is_reported_not_timed(programs: list[Program]) -> None:
    for program in (programs[0], programs[3]):  # ELF and Mach-O
        wrong = dataclasses.replace(program, stdout=b"something else\n")
        with pytest.raises(emulate_speed.WrongRun, match="hello"):
            emulate_speed.time_program(wrong, runs=1, warmup=0)


def test_main_prints_a_table_and_writes_sane_json(cache: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = cache / "emulate.json"
    status = emulate_speed.main(["--runs", "3", "--loop-runs", "1", "--loop-instructions",
                                 str(LOOP), "--warmup", "0", "--cache", str(cache),
                                 "--json", str(out), "--linkers", "ignored",
                                 "--compute-runs", "0"])
    assert status == 0
    text = capsys.readouterr().out
    for name in ("bare Unicorn loop", "hello ELF x86-64", "hello ELF i386",
                 "hello Mach-O x86-64", f"loop {LOOP:,} instr", "runs/CPU-s", "of bare",
                 "runs/s of each hello"):
        assert name in text
    record = json.loads(out.read_text())
    assert record["benchmark"] == "emulate_speed"
    assert record["aim_runs_per_s"] == 1000 and record["aim_fraction_of_bare"] == 0.5
    rows = record["programs"]
    assert [r["runs"] for r in rows] == [1, 3, 3, 3, 3, 1, 1]
    assert [r["bind"] for r in rows] == ["-", "lazy", "now", "lazy", "lazy", "lazy", "lazy"]
    for row in rows:
        assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["runs_per_s"] == pytest.approx(1 / row["median_s"])
        assert row["runs_per_cpu_s"] == pytest.approx(1 / row["median_cpu_s"])
        assert row["instructions_per_cpu_s"] == pytest.approx(row["loop_instructions"]
                                                              / row["median_cpu_s"])
        assert len(row["wall_s"]) == len(row["cpu_s"]) == row["runs"]
    assert rows[0]["instructions"] == rows[5]["loop_instructions"] == LOOP
    assert rows[5]["instructions"] is None and rows[6]["instructions"] >= rows[6]["loop_instructions"]


def test_profile_writes_the_call_tree_and_a_flat_list(cache: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    status = emulate_speed.main(["--profile", "--runs", "3", "--loop-instructions", str(LOOP),
                                 "--cache", str(cache)])
    assert status == 0
    text = capsys.readouterr().out
    assert "profile of 3 runs of hello ELF x86-64" in text
    flat = (cache / "emulate_speed" / "emulate-profile-flat.txt").read_text()
    assert flat.startswith("   own s")
    assert "run.py" in flat  # oracle/emulate/run.py:run is on every sampled stack
    assert (cache / "emulate_speed" / "emulate-profile.txt").stat().st_size > 0


def test_the_compute_section_times_every_kernel_and_target_each_way(
        cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = cache / "compute.json"
    status = emulate_speed.main(["--only-compute", "--compute-runs", "1", "--kernel-size",
                                 "nqueens=5", "--kernel-size", "sortsieve=3", "--cache",
                                 str(cache), "--json", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "nqueens ELF x86-64 (GNU ld)" in text and "sortsieve Mach-O i386 (linkharness)" in text
    rows = json.loads(out.read_text())["compute_heavy"]
    assert len(rows) == 2 * 5  # two kernels, five targets (Mach-O x86-64 by two linkers)
    for row in rows:
        assert row["instructions"] > 1000  # counted by a run with a budget
        ways = row["ways"]
        assert set(ways) == {"bare (in process)", "bare (process)", "linkharness run (process)",
                             "oracle.run (in process)"}
        assert all(len(w["runs"]) == 1 and w["median_wall_s"] > 0 for w in ways.values())
        assert row["in_process_cpu_ratio"] == pytest.approx(
            ways["oracle.run (in process)"]["median_cpu_s"]
            / ways["bare (in process)"]["median_cpu_s"])
