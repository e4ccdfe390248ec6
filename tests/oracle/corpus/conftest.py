"""Small objects for the corpus tests, assembled once per session with GNU as."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

MAIN_S = """
        .text
        .globl  _start
_start: call    answer                  # in helper.o
        movl    %eax, %edi
        movl    $60, %eax
        syscall
        .section .note.GNU-stack,"",@progbits
"""
HELPER_S = """
        .text
        .globl  answer
answer: movl    $42, %eax
        ret
        .section .note.GNU-stack,"",@progbits
"""
UNDEF_S = """
        .text
        .globl  _start
_start: call    nowhere_to_be_found
        .section .note.GNU-stack,"",@progbits
"""


def _assemble(directory: Path, name: str, text: str) -> Path:
    src = directory / f"{name}.s"
    src.write_text(text)
    out = directory / f"{name}.o"
    subprocess.run(["as", str(src), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """main.o (_start: exit(answer())), helper.o (answer() = 42), undef.o (_start calls an
    undefined symbol) and main.s, the text of main.o."""
    d = tmp_path_factory.mktemp("corpus-objects")
    built = {name: _assemble(d, name, text)
             for name, text in (("main", MAIN_S), ("helper", HELPER_S), ("undef", UNDEF_S))}
    return {**built, "main.s": d / "main.s"}
