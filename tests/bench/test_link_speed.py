"""The link-speed benchmark at a tiny size: generator, measurement loop, table, JSON."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from bench import link_speed, run
from bench.child_runner import runner_path
from bench.linkers import Linker, project_commit, select
from bench.many_objects import EXIT_OK, ManyObjectsParams, generate
from bench.many_workloads import many_workloads
from bench.measure import Measurement, measure, verify
from bench.report import ratio, table
from bench.workload import Workload

TINY = ManyObjectsParams(objects=5, relocs_per_object=40)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture(scope="module")
def workloads(cache: Path) -> list[Workload]:
    return many_workloads(cache, TINY, jobs=2)


def _readelf_relocs(objects: list[Path]) -> int:
    out = subprocess.run(["readelf", "-rW", *map(str, objects)], capture_output=True,
                         text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if " R_X86_64_" in line)


def test_generator_is_deterministic_and_counts_its_relocations(workloads: list[Workload]
                                                               ) -> None:
    assert [f.text for f in generate(TINY)] == [f.text for f in generate(TINY)]
    static = workloads[0]
    objects = [static.directory / a for a in static.args if a.endswith(".o")]
    assert len(objects) == TINY.objects + 1 == static.objects
    assert _readelf_relocs(objects) == static.relocs
    kinds = subprocess.run(["readelf", "-rW", *map(str, objects)], capture_output=True,
                           text=True, check=True).stdout
    for kind in ("PLT32", "PC32", "64 ", "32S", "REX_GOTPCRELX", "GOTPCRELX"):
        assert f"R_X86_64_{kind}" in kinds


def test_cache_is_reused_for_the_same_parameters(cache: Path, workloads: list[Workload]
                                                 ) -> None:
    start = workloads[0].directory / "start.o"
    before = start.stat().st_mtime_ns
    again = many_workloads(cache, TINY, jobs=2)
    assert again == workloads
    assert start.stat().st_mtime_ns == before
    other = many_workloads(cache, ManyObjectsParams(objects=2, relocs_per_object=10, seed=7))
    assert other[0].directory != workloads[0].directory


def test_a_wrong_relocation_makes_the_program_exit_1(workloads: list[Workload],
                                                     tmp_path: Path) -> None:
    static = workloads[0]
    program = tmp_path / "prog"
    subprocess.run(["ld.bfd", "-o", str(program), *static.args], cwd=static.directory,
                   check=True)
    assert verify(program, EXIT_OK) == (True, f"exit {EXIT_OK}")
    data = bytearray(program.read_bytes())
    with program.open("rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        (symbol,) = symtab.get_symbol_by_name("d0_0") or []
        section = elf.get_section(symbol["st_shndx"])
        offset = symbol["st_value"] - section["sh_addr"] + section["sh_offset"]
    data[offset] ^= 0x10  # as if a relocation pointed at a neighbouring word
    program.write_bytes(data)
    ok, said = verify(program, EXIT_OK)
    assert not ok and said == f"exit 1, expected {EXIT_OK}"


def test_measurement_loop_prints_the_table_and_writes_json(
        cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = cache / "results.json"
    status = link_speed.main([
        "--objects", str(TINY.objects), "--relocs-per-object", str(TINY.relocs_per_object),
        "--runs", "1", "--linkers", "ld.bfd", "--baseline", "ld.bfd", "--cache", str(cache),
        "--json", str(out),
    ])
    printed = capsys.readouterr().out
    assert status == 0
    assert "ratio to ld.bfd" in printed and "peak RSS MB" in printed
    # many-static, many-dynamic, many-static-10x, -g, zlib, hello
    assert printed.count(f"ok exit {EXIT_OK}") == len(link_speed.WORKLOADS) == 6
    record = json.loads(out.read_text())
    assert record["baseline"] == "ld.bfd" and record["settings"]["runs"] == 1
    assert [w["name"] for w in record["workloads"]] == list(link_speed.WORKLOADS)
    for w in record["workloads"]:
        (row,) = w["results"]
        assert row["linker"] == "ld.bfd" and row["ok"] and row["verified_ok"]
        assert len(row["wall_s"]) == 1 and row["median_s"] > 0
        assert row["peak_rss_mib"] > 1 and row["output_bytes"] > 1000
        assert row["ratio_to_baseline"] == row["cpu_ratio_to_baseline"] == 1.0
    assert record["linkers"]["ld.bfd"]["version"].startswith("GNU ld")


def test_table_reports_ratio_failures_and_wrong_outputs(workloads: list[Workload]) -> None:
    base = Measurement("linkharness", "w", 3, wall_s=(2.0, 4.0, 3.0), cpu_s=(1, 1, 1),
                       peak_rss_mib=50, output_bytes=2048, verified="exit 42", verified_ok=True)
    fast = Measurement("mold", "w", 3, wall_s=(0.03, 0.03, 0.06), cpu_s=(0.1,) * 3,
                       peak_rss_mib=9, output_bytes=2048, verified="exit 1, expected 42")
    failed = Measurement("gold", "w", 3, error="undefined symbol: f0")
    assert ratio(fast, base) == pytest.approx(0.01)
    assert ratio(failed, base) is None
    text = table(workloads[0], [base, fast, failed], "linkharness").splitlines()
    assert text[2].split()[:6] == ["linkharness", "3.0000", "1.0000", "2.0000", "1.0000",
                                   "1.0000"]
    assert text[3].split()[:6] == ["mold", "0.0300", "0.0100", "0.0300", "0.1000", "0.1000"]
    assert "WRONG" in text[3]
    assert text[4].split()[:2] == ["gold", "failed"] and "undefined symbol: f0" in text[4]


def test_profile_mode_writes_a_report_for_linkharness(cache: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    status = link_speed.main([
        "--profile", "--objects", str(TINY.objects), "--relocs-per-object",
        str(TINY.relocs_per_object), "--workloads", "many-static", "--cache", str(cache),
    ])
    printed = capsys.readouterr().out
    assert "profile of linkharness on many-static" in printed
    assert status == 0, printed
    assert "linker" in (cache / "profile.txt").read_text()  # frames of the linker package
    assert (cache / "profile-flat.txt").stat().st_size > 0


def test_a_failing_linker_is_reported_and_the_others_still_measured(
        cache: Path, workloads: list[Workload]) -> None:
    broken = Linker("broken", ("ld.bfd", "--no-such-option"), "1")
    (ld,) = select(["ld.bfd"])
    runner = runner_path(cache)
    failed, measured = measure([broken, ld], workloads[0], cache / "out", runner, runs=2)
    assert not failed.ok and failed.error is not None and "no-such-option" in failed.error
    assert failed.wall_s == () and not failed.verified_ok
    assert measured.ok and len(measured.wall_s) == 2 and measured.verified_ok
    assert measured.peak_rss_mib > 1 and measured.cpu_s[0] > 0


def test_unknown_linker_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown linker"):
        select(["ld.bfd", "nosuch"])
    assert [linker.name for linker in select(None)] == [
        "linkharness", "ld.bfd", "gold", "lld", "mold", "linkharness-cold"]


def test_make_bench_finds_the_link_speed_benchmark() -> None:
    found = {name: (title, main) for name, title, main in run.benchmarks()}
    assert found["link_speed"] == (link_speed.BENCHMARK, link_speed.main)
    assert "run" not in found and "measure" not in found  # helpers are not benchmarks


def test_linkharness_results_name_the_commit_they_measured() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", project_commit())
