"""long double in the printf and scanf families, x87 80-bit on both ABIs: a program printing
and scanning many values (every conversion, flag, va_list, snprintf, sscanf of decimal,
hex, inf) prints what it prints natively."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.emulate.run import run

Builder = Callable[..., Path]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_long_double_printf_and_scanf_match_a_native_run(build: Builder, arch: str) -> None:
    path = build("longdouble.c", arch)
    native = subprocess.run([str(path)], capture_output=True, timeout=30, check=False)
    result = run(path)
    assert result.faults == []
    assert (result.exit_code, result.stdout) == (native.returncode, native.stdout)
