"""The `linkharness check` command line: exit codes, line format, rule table, JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from oracle.check import RULES
from oracle.check.cli import main


def test_clean_binary_prints_ok_and_exits_0(built: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(built["x64-bfd-lazy/imports"])]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {len(RULES)} rules checked"


def test_violations_print_one_line_each_and_exit_1(
        tmp_path: Path, built: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    data = bytearray(built.bytes("x64-bfd-lazy/imports"))
    data[24:32] = (0).to_bytes(8, "little")  # e_entry = 0: not in any PT_LOAD
    bad.write_bytes(bytes(data))
    assert main([str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    # the patch also stales GNU ld's build id (ELF-BUILD-ID-HASH)
    assert [x for x in lines if not x.startswith("ELF-BUILD-ID-HASH")] == [
        "ELF-ENTRY e_entry: 0x0 is not inside any PT_LOAD"]


def test_several_files_are_prefixed_with_their_path(
        tmp_path: Path, built: Any, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk")
    good = str(built["x32-lld-lazy/imports"])
    assert main([good, str(junk)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{junk}: ELF-PARSE magic: neither ELF nor Mach-O (starts 6a756e6b)"]


def test_missing_file_is_reported_not_raised(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent")]) == 1
    assert capsys.readouterr().out.startswith("IO ")


def test_list_rules_prints_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > len(RULES)  # the Mach-O checker's rules follow the ELF ones
    for line, r in zip(lines, RULES, strict=False):
        assert re.match(rf"{re.escape(r.id)}\s+\[{re.escape(r.source)}\] ", line), line


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"")
    assert main(["--json", str(junk)]) == 1
    records = json.loads(capsys.readouterr().out)
    assert records == [{"file": str(junk), "rule": "ELF-PARSE", "where": "magic",
                        "what": "neither ELF nor Mach-O (starts empty)",
                        "severity": "error"}]


def test_no_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_top_level_dispatcher_routes_check(built: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from oracle.cli import main as linkharness

    assert linkharness(["check", str(built["x32-mold-now/imports"])]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
