"""Mach-O fixtures: objects from llvm-mc and clang-14 (Darwin target), no SDK needed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

TRIPLE = "x86_64-apple-macosx10.9"
I386_TRIPLE = "i386-apple-macosx10.6"
MACHO_INCLUDE = Path(__file__).resolve().parents[2] / "macho_include"


def _builder(root: Path, suffix: str, command: Callable[[Path, Path], list[str]]
             ) -> Callable[..., Path]:
    """`build(source, name, *flags)`: write the source, run the tool on it, give the object."""
    def build(source: str, name: str, *flags: str) -> Path:
        src, obj = root / f"{name}{suffix}", root / f"{name}.o"
        src.write_text(source)
        subprocess.run([*command(src, obj), *flags], check=True, capture_output=True)
        return obj
    return build


def _assembler(root: Path, triple: str) -> Callable[..., Path]:
    return _builder(root, ".s", lambda src, obj: [
        "llvm-mc-14", f"-triple={triple}", "-filetype=obj", "-o", str(obj), str(src)])


def _compiler(root: Path, triple: str, *options: str) -> Callable[..., Path]:
    return _builder(root, ".c", lambda src, obj: [
        "clang-14", f"--target={triple}", *options, "-c", "-w", "-o", str(obj), str(src)])


@pytest.fixture(scope="session")
def macho_asm(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    return _assembler(tmp_path_factory.mktemp("macho-asm"), TRIPLE)


@pytest.fixture(scope="session")
def macho_cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    return _compiler(tmp_path_factory.mktemp("macho-cc"), TRIPLE)


@pytest.fixture(scope="session")
def macho32_asm(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """llvm-mc-14 -triple i386-apple-macosx10.6: an i386 MH_OBJECT from assembly."""
    return _assembler(tmp_path_factory.mktemp("macho32-asm"), I386_TRIPLE)


@pytest.fixture(scope="session")
def macho32_cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """clang-14 -target i386-apple-macosx10.6 with the project's Darwin headers."""
    return _compiler(tmp_path_factory.mktemp("macho32-cc"), I386_TRIPLE,
                     "-nostdlibinc", "-isystem", str(MACHO_INCLUDE))


@pytest.fixture(scope="session")
def macho32_tlv_cc(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """clang-14 -target i386-apple-macosx10.7 (the first target with `_Thread_local`)."""
    return _compiler(tmp_path_factory.mktemp("macho32-tlv-cc"), "i386-apple-macosx10.7",
                     "-nostdlibinc", "-isystem", str(MACHO_INCLUDE))


@pytest.fixture(scope="session")
def run_natively(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[bytes, int]]:
    """`run_natively(source, name, *gcc_flags)`: build the C source for Linux with gcc and
    run it; its (stdout, exit status) is what the Mach-O link must reproduce under the
    emulated dyld."""
    root = tmp_path_factory.mktemp("macho-native")

    def build_and_run(source: str, name: str, *flags: str) -> tuple[bytes, int]:
        src, exe = root / f"{name}.c", root / name
        src.write_text(source)
        subprocess.run(["gcc", *flags, "-w", "-o", str(exe), str(src)], check=True)
        done = subprocess.run([str(exe)], capture_output=True, check=False)
        return done.stdout, done.returncode
    return build_and_run
