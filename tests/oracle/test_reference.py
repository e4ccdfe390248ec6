"""oracle.reference: each real linker, driven directly and through gcc, makes a runnable ET_EXEC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle.native import run_native
from oracle.reference import LINKERS, available_linkers, link_reference, link_with_gcc

EXIT_42 = """
        .text
        .globl _start
_start: mov $42, %edi
        call finish
"""
FINISH_64 = """
        .text
        .globl finish
finish: mov $60, %eax
        syscall
"""
FINISH_32 = """
        .text
        .globl finish
finish: mov 4(%esp), %ebx
        mov $1, %eax
        int $0x80
"""
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from C"); return 3; }\n'


def _objects(directory: Path, m32: bool) -> list[str]:
    out = []
    start = EXIT_42.replace("mov $42, %edi", "pushl $42") if m32 else EXIT_42
    for name, text in (("start", start), ("finish", FINISH_32 if m32 else FINISH_64)):
        source = directory / f"{name}.s"
        source.write_text(text)
        obj = directory / f"{name}.o"
        subprocess.run(["as", *(["--32"] if m32 else []), str(source), "-o", str(obj)],
                       check=True, capture_output=True)
        out.append(str(obj))
    return out


def _elf_type_and_class(path: str) -> tuple[int, int]:
    head = Path(path).read_bytes()[:18]
    return int.from_bytes(head[16:18], "little"), head[4]


def test_every_linker_is_installed() -> None:
    assert available_linkers() == tuple(LINKERS)


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
@pytest.mark.parametrize("linker", list(LINKERS))
def test_direct_link_runs(linker: str, m32: bool, tmp_path: Path) -> None:
    output = str(tmp_path / "prog")
    result = link_reference(linker, _objects(tmp_path, m32), output, m32=m32)
    assert result.ok, result.stderr
    assert result.command[0].endswith(LINKERS[linker]) and "-e" in result.command
    assert _elf_type_and_class(output) == (2, 1 if m32 else 2)  # ET_EXEC, ELFCLASS32/64
    assert run_native(output).exit_code == 42


@pytest.mark.parametrize("linker", list(LINKERS))
def test_undefined_symbol_fails_with_the_linker_message(linker: str, tmp_path: Path) -> None:
    start = _objects(tmp_path, False)[0]
    result = link_reference(linker, [start], str(tmp_path / "prog"))
    assert not result.ok and result.returncode != 0
    assert "finish" in result.stderr


@pytest.mark.parametrize("linker", list(LINKERS))
def test_a_name_that_is_not_utf8_in_the_message_is_no_exception(linker: str,
                                                                 tmp_path: Path) -> None:
    """A linker quotes an undefined name as its bytes: one that is not UTF-8 comes back
    replaced, not as UnicodeDecodeError."""
    source = tmp_path / "odd.s"
    source.write_bytes(b".globl _start\n_start: call \"odd\xb1name\"\n")
    subprocess.run(["as", "-o", str(tmp_path / "odd.o"), str(source)], check=True)
    result = link_reference(linker, [str(tmp_path / "odd.o")], str(tmp_path / "prog"))
    assert not result.ok and "odd" in result.stderr


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
@pytest.mark.parametrize("linker", list(LINKERS))
def test_gcc_driver_link_adds_crt_files_and_libc(linker: str, m32: bool,
                                                 tmp_path: Path) -> None:
    source = tmp_path / "hello.c"
    source.write_text(HELLO_C)
    obj = str(tmp_path / "hello.o")
    subprocess.run(["gcc", *(["-m32"] if m32 else []), "-c", "-fno-pie", str(source), "-o",
                    obj], check=True, capture_output=True)
    output = str(tmp_path / "hello")
    result = link_with_gcc(linker, [obj], output, m32=m32, bind_now=True)
    assert result.ok, result.stderr
    assert _elf_type_and_class(output)[0] == 2
    run = run_native(output)
    assert (run.exit_code, run.stdout) == (3, b"hello from C\n")


def test_dynamic_link_with_libc_direct(tmp_path: Path) -> None:
    source = tmp_path / "s.s"
    source.write_text(".globl _start\n_start: mov $7, %edi\n call exit@PLT\n")
    obj = tmp_path / "s.o"
    subprocess.run(["as", str(source), "-o", str(obj)], check=True, capture_output=True)
    libc = subprocess.run(["gcc", "-print-file-name=libc.so.6"], capture_output=True,
                          text=True, check=True).stdout.strip()
    output = str(tmp_path / "prog")
    result = link_reference("lld", [str(obj)], output, libs=[libc], bind_now=True)
    assert result.ok, result.stderr
    assert "-dynamic-linker" in result.command and "now" in result.command
    assert run_native(output).exit_code == 7


def test_unknown_linker_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown linker"):
        link_reference("ld64", [], str(tmp_path / "x"))
