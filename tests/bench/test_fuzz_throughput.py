"""The fuzz-throughput benchmark at a tiny size: seeded draw, stages, baseline, table, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import fuzz_throughput
from bench.shell_baseline import measure_baseline, measure_same_work, same_work_command
from bench.stage_clock import StageClock


def test_the_draw_is_seeded_and_sized() -> None:
    cases = fuzz_throughput.PROPERTIES[0].strategy  # property (a)'s own strategy
    first, seconds, cpu_seconds = fuzz_throughput.draw_examples(cases(), 3, seed=7)
    again, _, _ = fuzz_throughput.draw_examples(cases(), 3, seed=7)
    assert len(first) == 3
    assert seconds > 0
    assert cpu_seconds > 0
    assert first == again


def test_stage_clock_adds_up_per_stage_in_first_seen_order() -> None:
    clock = StageClock()
    clock.add("b", 1.0, 0.25)
    clock.add("a", 0.5, 0.5)
    clock.add("b", 2.0, 1.0, calls=2)
    assert [(c.stage, c.seconds, c.cpu_seconds, c.calls) for c in clock.costs()] == [
        ("b", 3.0, 1.25, 3), ("a", 0.5, 0.5, 1)]


def test_a_timed_stage_counts_the_cpu_of_finished_children() -> None:
    clock = StageClock()
    with clock.stage("child"):
        subprocess.run([sys.executable, "-c", "sum(range(10_000_000))"], check=True)
    (cost,) = clock.costs()
    assert cost.calls == 1
    assert cost.cpu_seconds > 0.05  # the child sums 10 million ints: far more than this


def test_baseline_runs_the_shell_pipeline(tmp_path: Path) -> None:
    baseline = measure_baseline(tmp_path, 2)
    assert len(baseline.wall_s) == len(baseline.cpu_s) == 2
    assert baseline.cases_per_s == pytest.approx(1 / baseline.median_s)
    assert all(cpu > 0 for cpu in baseline.cpu_s)  # the children's CPU time is counted
    assert (tmp_path / "case").is_file()


def test_main_reports_both_properties_with_every_stage(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    out = tmp_path / "fuzz.json"
    status = fuzz_throughput.main(["--examples", "2", "--baseline-cases", "2", "--json",
                                   str(out), "--runs", "ignored"])
    assert status == 0
    text = capsys.readouterr().out
    assert "property (a): 2 examples" in text
    assert "property (b): 2 examples" in text
    record = json.loads(out.read_text())
    assert record["benchmark"] == "fuzz_throughput"
    assert record["baseline"]["cases"] == 2
    same_work = record["same_work_baseline"]  # (a)'s two examples through the shell
    assert same_work["examples"] == 2 and same_work["wrong_status"] == 0
    a, b = record["properties"]
    assert (a["property"], b["property"]) == ("property (a)", "property (b)")
    stages_a = [s["stage"] for s in a["stages"]]
    assert stages_a == ["generation (Hypothesis draw)", "model (pie form, coverage, outcome)",
                        "writing objects", "linking (linkharness)", "oracle.check",
                        "relocation-field oracle", "debug-information judge",
                        "emulating (lazy + now)",
                        "other (directories, cleanup)"]
    stages_b = {s["stage"] for s in b["stages"]}
    assert {"linking (bfd+gold+lld+mold)", "emulating 4 outputs (lazy)",
            "native runs (lazy + LD_BIND_NOW)", "linking (linkharness)"} <= stages_b
    for prop in (a, b):
        assert prop["examples"] == 2
        assert prop["problems"] == []  # the linkers are right on these two examples
        assert prop["total_s"] == pytest.approx(sum(s["seconds"] for s in prop["stages"]))
        assert prop["examples_per_s"] == pytest.approx(2 / prop["total_s"])
        assert prop["total_cpu_s"] == pytest.approx(sum(s["cpu_seconds"]
                                                        for s in prop["stages"]))
        assert prop["ratio_to_baseline"] == pytest.approx(
            prop["examples_per_s"] / record["baseline"]["cases_per_s"])
        assert all(s["seconds"] >= 0 for s in prop["stages"])
    assert a["cpu_ratio_to_same_work"] == pytest.approx(
        a["examples_per_cpu_s"] / same_work["cases_per_cpu_s"])
    assert "ratio_to_same_work" not in b  # the same-work baseline is (a)'s examples only
    emulated_calls = {s["stage"]: s["calls"] for s in b["stages"]}
    assert emulated_calls["linking (bfd+gold+lld+mold)"] == 2 * 4


def test_profile_writes_property_a_flat_list(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = fuzz_throughput.main(["--profile", "--examples", "1", "--baseline-cases", "1",
                                   "--cache", str(tmp_path)])
    assert status == 0
    assert "profile of property (a) on 1 examples" in capsys.readouterr().out
    flat = (tmp_path / "fuzz_throughput" / "fuzz-profile-a-flat.txt").read_text()
    assert flat.startswith("   own s")
    assert "fuzz_stages.py" in flat  # property_a is on every sampled stack


def test_the_i386_and_macho_properties_are_measured_from_their_own_draws(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "more.json"
    status = fuzz_throughput.main(["--examples", "1", "--baseline-cases", "1",
                                   "--properties", "i386,macho", "--json", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "i386 linkharness property: 1 examples" in text
    assert "Mach-O linkharness property (3 links): 1 examples" in text
    i386, macho = json.loads(out.read_text())["properties"]
    assert i386["problems"] == [] and macho["problems"] == []
    calls = {s["stage"]: s["calls"] for s in macho["stages"]}
    assert calls["linking (linkharness x3)"] == 3
    assert calls["emulating (lazy + now)"] == 3  # lazy and now per output, one stage each


def test_same_work_command_links_with_the_examples_options(tmp_path: Path) -> None:
    command = same_work_command(["o0", "o1"], (1, 0), ["/l/libtrace1.so"], tmp_path, pie=True,
                                bind_now=True, hash_style="gnu", ibt_plt=True,
                                emit_relocs=True, native_runs=2)
    link = next(part for part in command.split(" && ") if part.startswith("ld "))
    assert "as --64 -o o0.o o0.s" in command and "as --64 -o o1.o o1.s" in command
    assert " -pie " in link and "--hash-style=gnu" in link and "-z now" in link
    assert "-z ibtplt" in link and "--emit-relocs" in link
    assert link.index("o1.o") < link.index("o0.o") < link.index("/l/libtrace1.so")
    assert command.endswith(f"LD_BIND_NOW=1 LD_LIBRARY_PATH={tmp_path} ./case")


def test_same_work_baseline_runs_the_drawn_examples_natively(tmp_path: Path) -> None:
    from fuzz.libtrace import build_libraries

    build_libraries(tmp_path / "lib", m32=False)
    cases = fuzz_throughput.PROPERTIES[0].strategy
    examples, _, _ = fuzz_throughput.draw_examples(cases(), 4, seed=3)
    same_work = measure_same_work(examples, tmp_path / "work", tmp_path / "lib")
    assert same_work.examples == 4
    assert same_work.wrong_status == 0  # each native run ends as its model says
    assert all(cpu > 0 for cpu in same_work.cpu_s)  # as, ld and the run are counted
    assert (tmp_path / "work" / "case").is_file()
