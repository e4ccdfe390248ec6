"""The harness's own JSON files (corpus cases, replays, hunt records) read as one-line
errors when broken: not UTF-8, nested past the recursion limit, a FIFO, a directory,
truncated.  `corpus replay` once printed a traceback for the first two."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from oracle.corpus import load_case
from oracle.corpus.model import CaseFormatError
from oracle.json_file import JsonFileError, read_json
from oracle.report.cli import main as report_main


@pytest.mark.parametrize(("content", "said"), [
    (b"\xff\xfe{}", "not UTF-8 (byte 0)"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"id": ', "not JSON: Expecting value"),
])
def test_a_broken_file_is_one_line_naming_it(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(content)
    with pytest.raises(JsonFileError) as info:
        read_json(path)
    assert str(info.value).startswith(f"{path}: ") and said in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(CaseFormatError, match=re.escape(said)):
        load_case(tmp_path)


def test_a_fifo_or_directory_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "case.json")
    with pytest.raises(CaseFormatError, match="not a regular file"):
        load_case(tmp_path)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(JsonFileError, match="cannot read"):
        read_json(tmp_path / "dir.json")


def test_report_names_a_broken_replay_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "replay.json"
    bad.write_bytes(b"\xff")
    status = report_main(["--replay", str(bad), "--replay-linkers", "", "--corpus",
                          str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert status == 1
    assert capsys.readouterr().err == f"linkharness report: {bad}: not UTF-8 (byte 0)\n"
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("extra", "said"), [
    (["--expect-trace", "{bad}"], "{bad}: not UTF-8 (byte 0)"),
    (["--source", "/dev/zero"], "--source /dev/zero: not a regular file"),
    (["--source", "{bad}"], "--source {bad}: not UTF-8 (byte 0)"),
    (["/dev/zero"], "not a regular file"),
])
def test_corpus_add_refuses_unreadable_side_files_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str) -> None:
    from oracle.corpus.cli import main as corpus_main

    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff")
    obj = tmp_path / "m.o"
    obj.write_bytes(b"\x7fELF")
    words = [w.format(bad=bad) for w in extra]
    operands = [] if words[-1] == "/dev/zero" and len(words) == 1 else [str(obj)]
    status = corpus_main(["add", "--dest", str(tmp_path / "corpus"), "--caught", "c",
                          "--origin", "o", *words, *operands])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("linkharness corpus add: ") and said.format(bad=bad) in err
