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
