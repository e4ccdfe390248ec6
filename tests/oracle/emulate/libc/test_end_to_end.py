"""The libc functions inside the real emulator: a gcc-built program that tours them runs
natively and under `oracle.run`, on x86-64 and i386, and must print the same bytes.
(The `build` and `native` fixtures are the emulator's, from tests/oracle/emulate.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle import run

TOUR = Path(__file__).parent / "programs" / "libc_tour.c"


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_libc_tour_prints_what_glibc_prints(build, native, arch: str) -> None:
    path = build(str(TOUR), arch, "gnu", ("-fno-builtin", "-D__NO_CTYPE"))
    expected = native(path)
    got = run(path, [str(path)])
    assert got.faults == []
    assert got.stdout.decode() == expected.stdout.decode()
    assert (got.stderr, got.exit_code) == (expected.stderr, expected.returncode)
