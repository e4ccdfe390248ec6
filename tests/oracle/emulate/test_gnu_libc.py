"""The glibc extensions GNU programs import (tests/oracle/emulate/programs/gnu_libc.c),
against glibc itself: built with _FORTIFY_SOURCE for x86-64 and i386, run natively and
by oracle.run in the C locale; stdout, stderr (error()'s messages) and the status (error
exits with 3) must be the same."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle import run

Builder = Callable[..., Path]
Native = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_gnu_extensions_match_glibc(build: Builder, native: Native, arch: str) -> None:
    path = build("gnu_libc.c", arch, "gnu-pie", ("-D_FORTIFY_SOURCE=2",))
    expected = native(path, [], {})
    assert expected.returncode == 3  # (the program got as far as its last error())
    got = run(path, [str(path)], {})
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)
