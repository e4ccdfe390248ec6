"""Mach-O fixtures: objects from llvm-mc and clang-14 (Darwin target), no SDK needed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

TRIPLE = "x86_64-apple-macosx10.9"


@pytest.fixture(scope="session")
def macho_asm(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    root = tmp_path_factory.mktemp("macho-asm")

    def build(source: str, name: str) -> Path:
        src, obj = root / f"{name}.s", root / f"{name}.o"
        src.write_text(source)
        subprocess.run(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", "-o", str(obj),
                        str(src)], check=True, capture_output=True)
        return obj

    return build


@pytest.fixture(scope="session")
def macho_cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    root = tmp_path_factory.mktemp("macho-cc")

    def build(source: str, name: str, *flags: str) -> Path:
        src, obj = root / f"{name}.c", root / f"{name}.o"
        src.write_text(source)
        subprocess.run(["clang-14", f"--target={TRIPLE}", "-c", "-w", "-o", str(obj), str(src),
                        *flags], check=True, capture_output=True)
        return obj

    return build


I386_TRIPLE = "i386-apple-macosx10.6"
MACHO_INCLUDE = Path(__file__).resolve().parents[2] / "macho_include"


@pytest.fixture(scope="session")
def macho32_asm(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """llvm-mc-14 -triple i386-apple-macosx10.6: an i386 MH_OBJECT from assembly."""
    root = tmp_path_factory.mktemp("macho32-asm")

    def build(source: str, name: str) -> Path:
        src, obj = root / f"{name}.s", root / f"{name}.o"
        src.write_text(source)
        subprocess.run(["llvm-mc-14", f"-triple={I386_TRIPLE}", "-filetype=obj", "-o", str(obj),
                        str(src)], check=True, capture_output=True)
        return obj

    return build


@pytest.fixture(scope="session")
def macho32_cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """clang-14 -target i386-apple-macosx10.6 with the project's Darwin headers."""
    root = tmp_path_factory.mktemp("macho32-cc")

    def build(source: str, name: str, *flags: str) -> Path:
        src, obj = root / f"{name}.c", root / f"{name}.o"
        src.write_text(source)
        subprocess.run(["clang-14", f"--target={I386_TRIPLE}", "-nostdlibinc", "-isystem",
                        str(MACHO_INCLUDE), "-c", "-w", "-o", str(obj), str(src), *flags],
                       check=True, capture_output=True)
        return obj

    return build
