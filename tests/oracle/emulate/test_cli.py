"""`linkharness run`: the program's output and status become ours; --json has every field;
faults print one line each and exit 125."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.cli import main as linkharness
from oracle.emulate.cli import FAULT_STATUS, main

Builder = Callable[..., Path]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_output_and_status(build: Builder, capfd: pytest.CaptureFixture[str], arch: str,
                           bind: str) -> None:
    path = build("hello.c", arch)
    status = linkharness(["run", str(path), "--bind", bind, "--", "x", "y"])
    out, err = capfd.readouterr()
    assert status == 7
    assert out.startswith("hello, world\narg 1: x (3)\narg 2: y (6)\n")
    assert err == ""


def test_json(build: Builder, capfd: pytest.CaptureFixture[str]) -> None:
    status = main(["--json", str(build("hello.c"))])
    doc = json.loads(capfd.readouterr().out)
    assert status == 5
    assert set(doc) == {"exit_code", "stdout", "stderr", "trace", "faults", "instructions",
                        "seed"}
    assert doc["exit_code"] == 5 and doc["stdout"].startswith("hello, world\n")
    assert [t["symbol"] for t in doc["trace"]][:2] == ["__libc_start_main", "puts"]
    assert doc["instructions"] is None and doc["faults"] == []  # no budget: not counted


def test_json_counts_instructions_under_a_budget(build: Builder,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    status = main(["--json", "--max-instructions", "100000", str(build("hello.c"))])
    doc = json.loads(capfd.readouterr().out)
    assert status == 5 and doc["faults"] == []
    assert 0 < doc["instructions"] < 100_000


def test_fault_line_and_status(build: Builder, capfd: pytest.CaptureFixture[str]) -> None:
    status = main([str(build("loop.c")), "--max-instructions", "5000"])
    err = capfd.readouterr().err.strip().splitlines()
    assert status == FAULT_STATUS
    assert len(err) == 2 and err[0].startswith("linkharness run: fault: budget at 0x")
    assert "<main" in err[0]
    # the load bases' seed, so that `--seed N` repeats the faulting run exactly
    seed = int(err[1].rsplit(" ", 1)[1])
    assert err[1] == f"linkharness run: load bases from --seed {seed}"
    assert main([str(build("loop.c")), "--max-instructions", "5000", "--seed", str(seed)]) \
        == FAULT_STATUS
    assert capfd.readouterr().err.strip().splitlines() == err


def test_trace_lines(build: Builder, capfd: pytest.CaptureFixture[str]) -> None:
    status = main(["--trace", str(build("hello.c", "i386"))])
    err = capfd.readouterr().err.splitlines()
    assert status == 5
    assert err[0].startswith("trace: libc.so.6 __libc_start_main 0x")
    assert err[1].startswith("trace: libc.so.6 puts 0x")


def test_list_libc_names_what_is_implemented(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-libc"]) == 0
    rows = [line.split(" ", 1) for line in capfd.readouterr().out.splitlines()]
    names = {(library, name) for library, name in rows}
    for expected in [("libc.so.6", "printf"), ("libc.so.6", "fopen"), ("libc.so.6", "tmpfile"),
                     ("libc.so.6", "stdin (data)"), ("libm.so.6", "sqrt"),
                     ("libSystem.B.dylib", "__stdoutp (data)")]:
        assert expected in names
    assert ("libc.so.6", "getloadavg") not in names  # unimpl.c's import: a fault, not listed


def test_files_option_seeds_the_file_system(build: Builder, tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "seed.txt").write_bytes(b"from the seed\n")
    status = main(["--files", str(tmp_path), str(build("files.c"))])
    out = capfd.readouterr().out
    assert status == 0 and "seed: from the seed\n" in out


def test_a_binary_is_required_without_list_libc(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2 and "binary" in capfd.readouterr().err


def test_stdin_option_is_the_program_s_input(build: Builder, tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    given = tmp_path / "input.txt"
    given.write_bytes(b"held-out\n" * 50)
    status = main(["--stdin", str(given), str(build("unlocked.c"))])
    out = capfd.readouterr().out
    assert status == 0 and "stdin: 450 bytes" in out
    status = main([str(build("unlocked.c"))])  # without it: empty
    assert status == 0 and "stdin: 0 bytes" in capfd.readouterr().out
    assert main(["--stdin", str(tmp_path / "absent"), str(build("unlocked.c"))]) == 2
    assert "--stdin" in capfd.readouterr().err


def test_stdin_from_a_fifo_no_one_writes_is_empty_not_a_hang(
        build: Builder, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Found by the outside hostile campaign: `--stdin FIFO` blocked in open() for ever."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["--stdin", str(fifo), str(build("unlocked.c"))]) == 0
    assert "stdin: 0 bytes" in capfd.readouterr().out
    assert main(["--stdin", str(tmp_path), str(build("unlocked.c"))]) == 2  # a directory
    assert "--stdin" in capfd.readouterr().err


def test_program_arguments_without_dashes_are_refused_with_the_spelling_that_works(
        capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "prog"), "1", "2"])
    err = capfd.readouterr().err
    assert stop.value.code == 2
    assert f"run {tmp_path / 'prog'} -- 1 2" in err
    assert "usage: linkharness run [OPTIONS] BINARY [-- ARGS...]" in err
