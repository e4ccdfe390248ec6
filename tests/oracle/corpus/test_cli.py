"""`linkharness corpus`: add (with --verify), list, and replay's table and exit status."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from oracle.corpus import cli, load_case
from oracle.corpus.progress import Progress
from oracle.corpus.table import format_table


def _add(corpus: Path, objs: list[Path], *extra: str) -> int:
    return cli.main(["add", *map(str, objs), "--dest", str(corpus), "--origin", "test",
                     "--caught", "test", "--bind", "lazy", *extra])


def test_add_list_and_replay(objects: dict[str, Path], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    good = [objects["main"], objects["helper"]]
    assert _add(corpus, good, "--id", "good", "--expect-exit", "42", "--verify", "bfd",
                "--source", str(objects["main.s"])) == 0
    assert load_case(corpus / "good").sources == ("main.s",)
    assert _add(corpus, [objects["undef"]], "--id", "refused",
                "--expect-link-error", "nowhere_to_be_found") == 0
    capsys.readouterr()
    assert cli.main(["list", str(corpus)]) == 0
    listing = capsys.readouterr().out
    assert "good" in listing and "exit 42" in listing and "link error" in listing
    assert cli.main(["replay", str(corpus), "--judge", "native"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"good\s+PASS", out) and "2 passed, 0 failed (linkharness " in out


def test_replay_exits_1_on_a_regression(objects: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    assert _add(corpus, [objects["main"], objects["helper"]], "--id", "ok",
                "--expect-exit", "42") == 0
    assert _add(corpus, [objects["main"], objects["helper"]], "--id", "wrong",
                "--expect-exit", "7") == 0
    assert cli.main(["replay", str(corpus), "--judge", "native", "--jobs", "2",
                     "--linker", "gold"]) == 1
    out = capsys.readouterr().out
    assert "exit code 42, expected 7" in out and "1 passed, 1 failed (gold " in out


def test_add_verify_refuses_a_wrong_expectation(objects: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    assert _add(corpus, [objects["main"], objects["helper"]], "--id", "bad",
                "--expect-exit", "1", "--verify", "bfd") == 1
    assert "not added" in capsys.readouterr().err
    assert not (corpus / "bad").exists()


def test_usage_errors(tmp_path: Path) -> None:
    assert cli.main([]) == 2
    assert cli.main(["replay", str(tmp_path)]) == 2  # no cases there


def test_an_invalid_case_is_an_error_row(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "case.json").write_text("[]")
    assert cli.main(["replay", str(tmp_path)]) == 1
    assert re.search(r"broken\s+ERROR", capsys.readouterr().out)


def test_progress_bar_and_table() -> None:
    stream = io.StringIO()
    bar = Progress(4, stream, enabled=True)
    bar.advance("one", True)
    bar.advance("two", False)
    assert bar.line("two").startswith("[" + "#" * 15 + "." * 15 + "] 2/4 1 failed two")
    assert "\r" in stream.getvalue()
    silent = io.StringIO()
    Progress(1, silent, enabled=False).advance("x", True)
    assert silent.getvalue() == ""
    table = format_table(["a", "bb"], [["xyz", "1"]])
    assert table.splitlines() == ["a    bb", "---  --", "xyz  1"]


def test_add_records_the_output_options(objects: dict[str, Path], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert _add(corpus, [objects["main"], objects["helper"]], "--id", "opts",
                "--expect-exit", "42", "--pie", "--hash-style", "gnu", "--ibt-plt",
                "--emit-relocs", "--verify", "bfd") == 0
    args = load_case(corpus / "opts").link_args
    assert (args.pie, args.hash_style, args.ibt_plt, args.emit_relocs) == (True, "gnu", True,
                                                                          True)
