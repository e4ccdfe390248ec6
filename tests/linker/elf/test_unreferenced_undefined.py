"""An undefined symbol that no relocation uses is no error (GNU ld and lld report undefined
references from relocations): gcc -pg's gcrt1.o lists __GI_memset and friends without using
them, and `gcc -pg` through linkharness failed where GNU ld links."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from linker import LinkError, link

SOURCE = """\
.globl _start
.globl listed_only
.text
_start:
  mov $60, %eax
  mov $7, %edi
  {call}
  syscall
"""


def _object(tmp_path: Path, call: str) -> Path:
    (tmp_path / "u.s").write_text(SOURCE.format(call=call))
    subprocess.run(["as", "-o", str(tmp_path / "u.o"), str(tmp_path / "u.s")], check=True)
    return tmp_path / "u.o"


def test_an_unused_undefined_symbol_is_no_error(tmp_path: Path) -> None:
    obj = _object(tmp_path, "")
    link([obj], tmp_path / "a.out", entry="_start", static=True)
    assert subprocess.run([str(tmp_path / "a.out")], check=False).returncode == 7


def test_a_used_one_still_is(tmp_path: Path) -> None:
    obj = _object(tmp_path, "call listed_only")
    with pytest.raises(LinkError) as caught:
        link([obj], tmp_path / "a.out", entry="_start", static=True)
    assert ("symbol listed_only: undefined reference to `listed_only' (undefined symbol, "
            "referenced by") in str(caught.value)


def test_gcc_pg_links_as_with_gnu_ld(tmp_path: Path) -> None:
    tool = Path(sys.executable).parent / "linkharness"
    shim = subprocess.run([str(tool), "ld-shim"], capture_output=True, text=True,
                          check=True).stdout.strip()
    (tmp_path / "p.c").write_text('#include <stdio.h>\nint main(void){puts("pg");return 0;}\n')
    subprocess.run(["gcc", "-pg", f"-B{shim}", str(tmp_path / "p.c"), "-o",
                    str(tmp_path / "p")], check=True, cwd=tmp_path)
    ran = subprocess.run([str(tmp_path / "p")], capture_output=True, check=True, cwd=tmp_path)
    assert ran.stdout == b"pg\n"
