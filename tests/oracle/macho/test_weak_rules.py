"""MACHO-WEAK-FLAGS and MACHO-WEAK-OWN-SLOT on a dylib that exports a weak definition and
calls it through its stub: ld64.lld-14's and linkharness's pass; with a header flag
cleared, or the weak-bind stream emptied, the rules say so."""

from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from linker import link
from oracle.check import check
from oracle.emulate.macho import image as mi

TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
SOURCE = "__attribute__((weak)) int w(void) { return 2; }\nint get(void) { return w(); }\n"
MH_WEAK_DEFINES, MH_BINDS_TO_WEAK = 0x8000, 0x10000


@pytest.fixture(scope="module")
def dylibs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("weak")
    (work / "lib.c").write_text(SOURCE)
    obj = work / "lib.o"
    subprocess.run(["clang-14", "-target", "x86_64-apple-macos10.15", "-O1", "-c", "-o",
                    str(obj), str(work / "lib.c")], check=True)
    link([str(obj), str(TBD)], work / "lh.dylib", target="macho-x86_64",
         macho_options={"output_kind": "dylib", "install_name": "@rpath/libw.dylib"})
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.15",
                    "10.15", "-dylib", "-install_name", "@rpath/libw.dylib", "-o",
                    str(work / "lld.dylib"), str(obj), str(TBD)], check=True)
    return {name: (work / f"{name}.dylib").read_bytes() for name in ("lh", "lld")}


def _ids(data: bytes) -> set[str]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "lib.dylib"
        path.write_bytes(data)
        return {v.rule for v in check(str(path)) if v.severity != "warning"}


@pytest.mark.parametrize("name", ["lh", "lld"])
def test_both_linkers_pass(dylibs: dict[str, bytes], name: str) -> None:
    assert _ids(dylibs[name]) == set()


@pytest.mark.parametrize("name", ["lh", "lld"])
def test_a_cleared_flag_is_reported(dylibs: dict[str, bytes], name: str) -> None:
    data = bytearray(dylibs[name])
    (flags,) = struct.unpack_from("<I", data, 24)
    struct.pack_into("<I", data, 24, flags & ~MH_WEAK_DEFINES)
    assert "MACHO-WEAK-FLAGS" in _ids(bytes(data))


@pytest.mark.parametrize("name", ["lh", "lld"])
def test_an_empty_weak_bind_stream_is_reported(dylibs: dict[str, bytes], name: str) -> None:
    data = bytearray(dylibs[name])
    img = mi.parse(bytes(data))
    assert img.dyld_info is not None
    offset, size = img.dyld_info.weak_bind
    assert size
    data[offset:offset + size] = bytes(size)  # BIND_OPCODE_DONE at once: no weak bind
    assert "MACHO-WEAK-OWN-SLOT" in _ids(bytes(data))
