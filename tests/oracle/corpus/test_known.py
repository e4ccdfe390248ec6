"""Known disagreements: a case's `known` entry turns a linker's FAIL into KNOWN (and a pass
into FIXED) only for the version it names; the CLI's exit status counts only FAIL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oracle.corpus import add_case, load_case, replay_case
from oracle.corpus.cli import main
from oracle.corpus.known import parse_version_output, version_matches
from oracle.corpus.model import CaseFormatError, parse_case
from oracle.corpus.toolchain import linker_version


@pytest.mark.parametrize("text, version", [
    ("mold 1.10.1 (compatible with GNU ld)\n", "1.10.1"),
    ("GNU ld (GNU Binutils for Debian) 2.40\nCopyright ...", "2.40"),
    ("GNU gold (GNU Binutils for Debian 2.40) 1.16\n", "1.16"),
    ("Debian LLD 14.0.6 (compatible with GNU linkers)\n", "14.0.6"),
    ("Debian LLD 14.0.6\n", "14.0.6"),
    ("no version here\n", None),
])
def test_versions_are_read_from_version_output(text: str, version: str | None) -> None:
    assert parse_version_output(text) == version


def test_a_reason_names_a_release_or_its_point_releases() -> None:
    assert version_matches("1.10.1", "1.10.1")
    assert version_matches("1.10", "1.10.1")
    assert not version_matches("1.10.1", "1.10.12")
    assert not version_matches("1.1", "1.10.1")
    assert not version_matches("1.10.1", None)


@pytest.mark.parametrize("known, message", [
    ({"mold": "sizes COMMON wrongly"}, "must start with the linker version"),
    ({"ld.mold": "1.10.1 x"}, "unknown linker 'ld.mold'"),
    ({"mold": "1.10.1 two\nlines"}, "one line"),
    ([], "must be an object"),
])
def test_malformed_known_entries_are_refused(known: Any, message: str) -> None:
    data = {"id": "c", "target": "elf64-x86-64", "inputs": ["a.o"], "link_args": {},
            "expect": {"exit_code": 0}, "origin": "o", "caught": "c", "known": known}
    with pytest.raises(CaseFormatError, match=message):
        parse_case(data, Path("/x/c"))


def _case(tmp_path: Path, objects: dict[str, Path], exit_code: int, reason: str) -> Path:
    return add_case(tmp_path / "corpus", [objects["main"], objects["helper"]],
                    {"entry": "_start"}, {"exit_code": exit_code}, "test", "test",
                    case_id=f"c{exit_code}", bind=["lazy"], known={"bfd": reason})


def test_known_fixed_and_new_failures(objects: dict[str, Path], tmp_path: Path) -> None:
    installed = linker_version("bfd")
    assert installed is not None
    wrong = _case(tmp_path / "a", objects, 41, f"{installed} exits 42 (test)")
    res = replay_case(load_case(wrong), "bfd", judges=["native"])
    assert res.status == "known" and not res.is_failure and res.version == installed
    assert res.summary() == f"known: {installed} exits 42 (test)"
    plain = replay_case(load_case(wrong), "bfd", judges=["native"], honour_known=False)
    assert plain.status == "fail"
    right = _case(tmp_path / "b", objects, 42, f"{installed} once exited 41 (test)")
    assert replay_case(load_case(right), "bfd", judges=["native"]).status == "fixed"
    other = _case(tmp_path / "c", objects, 41, "0.0.1 exits 42 (test)")
    res = replay_case(load_case(other), "bfd", judges=["native"])
    assert res.status == "fail" and res.is_failure
    assert "known only for '0.0.1 exits 42 (test)'" in res.notes[-1]
    assert replay_case(load_case(wrong), "linkharness", judges=["native"]).status == "fail"


def test_replay_exits_0_for_known_and_1_for_new(objects: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    installed = linker_version("bfd")
    known = _case(tmp_path, objects, 41, f"{installed} exits 42 (test)")
    assert main(["replay", str(known), "--linker", "bfd", "--judge", "native"]) == 0
    out = capsys.readouterr().out
    assert "KNOWN" in out and f"0 passed, 0 failed, 1 known (bfd {installed})" in out
    assert main(["replay", str(known), "--judge", "native"]) == 1
    assert main(["replay", str(known), "--linker", "ld64.lld"]) == 0
    assert "1 n/a" in capsys.readouterr().out


MOLD_KNOWN = ("c-common-weak", "asm-i386-got32x-no-base", "asm-i386-negative-pc8-pc16")


@pytest.mark.parametrize("case_id", MOLD_KNOWN)
def test_the_corpus_records_mold_1_10_1s_disagreements(case_id: str, tmp_path: Path) -> None:
    """This machine's mold (Debian bookworm: 1.10.1) still fails each as recorded, natively,
    so the replay calls it KNOWN; once mold is upgraded the entry no longer applies and the
    replay says FAIL (still broken: re-confirm and re-date the entry) or PASS."""
    from oracle.corpus import default_corpus_dir

    case = load_case(default_corpus_dir() / case_id)
    assert "mold" in case.known
    res = replay_case(case, "mold", tmp_path, judges=["native"])
    if linker_version("mold") == "1.10.1":
        assert res.status == "known", res.details
    else:
        assert res.status in ("fail", "pass"), res.details
