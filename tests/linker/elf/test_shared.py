"""linker.elf.shared: exports, SONAME and default versions of real shared objects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker.elf.shared import read_shared
from linker.errors import LinkError
from linker.model import SymType

LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")


def test_glibc_exports_default_versions() -> None:
    lib = read_shared(memoryview(LIBC.read_bytes()), str(LIBC))
    assert lib.soname == "libc.so.6"
    assert lib.symbols["printf"].type is SymType.FUNC
    assert lib.symbols["printf"].version == "GLIBC_2.2.5"
    assert lib.symbols["memcpy"].version == "GLIBC_2.14"  # the @@ one, not GLIBC_2.2.5
    stdout = lib.symbols["stdout"]
    assert stdout.type is SymType.OBJECT and stdout.size == 8
    # environ and __environ are one object: same address in the library.
    assert lib.symbols["environ"].value == lib.symbols["__environ"].value


def test_built_library(tmp_path: Path) -> None:
    src = tmp_path / "l.c"
    src.write_text("int lib_data[4] = {1}; int lib_fn(int x){return x;}\n"
                   "__attribute__((weak)) int lib_weak(void){return 0;}\n"
                   "__attribute__((visibility(\"hidden\"))) int lib_hidden(void){return 0;}\n"
                   "static int lib_static(void){return 0;} int use(void){return lib_static();}")
    so = tmp_path / "libl.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libl.so.1", "-o", so, src],
                   check=True)
    lib = read_shared(memoryview(so.read_bytes()), str(so))
    assert lib.soname == "libl.so.1"
    assert lib.symbols["lib_data"].size == 16
    assert lib.symbols["lib_weak"].weak
    assert lib.symbols["lib_fn"].version is None
    assert "lib_hidden" not in lib.symbols and "lib_static" not in lib.symbols


def test_not_a_shared_object(tmp_path: Path) -> None:
    src = tmp_path / "x.c"
    src.write_text("int x;")
    obj = tmp_path / "x.o"
    subprocess.run(["gcc", "-c", "-o", obj, src], check=True)
    with pytest.raises(LinkError, match="not a shared object"):
        read_shared(memoryview(obj.read_bytes()), str(obj))
