"""Fixtures for the ELF reader tests: small objects assembled or compiled once per session."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


@pytest.fixture(scope="session")
def assemble(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Assemble GNU-as source text into an object: assemble(src, name, m32=False)."""
    root = tmp_path_factory.mktemp("asm")

    def build(source: str, name: str = "t", m32: bool = False) -> Path:
        src = root / f"{name}.s"
        obj = root / f"{name}.o"
        src.write_text(source)
        _run("as", "--32" if m32 else "--64", "-o", obj, src)
        return obj

    return build


@pytest.fixture(scope="session")
def compile_c(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    root = tmp_path_factory.mktemp("cc")

    def build(source: str, name: str = "t", *flags: str) -> Path:
        src = root / f"{name}.c"
        obj = root / f"{name}.o"
        src.write_text(source)
        _run("gcc", "-c", "-o", obj, src, *flags)
        return obj

    return build
