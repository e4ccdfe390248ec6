"""scanf, fscanf, getline, getdelim over stdin and files, and strtod, atof, strtok,
strerror, perror and llabs (shared with the emulated libSystem): as natively."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.emulate.run import run

Builder = Callable[..., Path]
STDIN = b"12 34 word\nfirst line\nsecond line\nno newline at the end"


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_reading_matches_a_native_run(build: Builder, tmp_path: Path, arch: str) -> None:
    path = build("reading.c", arch)
    native = subprocess.run([str(path)], cwd=tmp_path, input=STDIN, capture_output=True,
                            timeout=30, check=False)
    assert native.returncode == 0
    result = run(path, stdin=STDIN)
    assert result.faults == []
    assert (result.exit_code, result.stdout, result.stderr) == (0, native.stdout,
                                                                native.stderr)


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_common_libc_calls_match_a_native_run(build: Builder, arch: str) -> None:
    """div, ldiv and lldiv among them: structs returned in registers on x86-64 and through
    a hidden pointer the callee pops on i386."""
    path = build("common_libc.c", arch)
    native = subprocess.run([str(path)], env={}, capture_output=True, timeout=30, check=False)
    result = run(path)
    assert result.faults == []
    assert (result.exit_code, result.stdout, result.stderr) == (native.returncode,
                                                                native.stdout, native.stderr)


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_a_small_text_tool_matches_a_native_run(build: Builder, arch: str) -> None:
    path = build("text_tool.c", arch)
    text = b"the quick brown fox\njumps over\n  the lazy dog\n"
    native = subprocess.run([str(path)], input=text, capture_output=True, timeout=30,
                            check=False)
    result = run(path, stdin=text)
    assert result.faults == []
    assert (result.exit_code, result.stdout, result.stderr) == (native.returncode,
                                                                native.stdout, native.stderr)
