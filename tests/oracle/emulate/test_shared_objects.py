"""Real shared libraries (not emulated ones) are mapped and linked like ld.so does: their
own PLT and GOT, their initialisers before the program and finalisers after it, COPY of
their data into the executable (which they then use), calls back into the executable,
and the executable's definitions interposing theirs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle import run

PROGRAMS = Path(__file__).parent / "programs" / "shared"
Native = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture(scope="module", params=[("x86-64", "-no-pie"), ("i386", "-no-pie"),
                                        ("x86-64", "-pie"), ("i386", "-pie")])
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    arch, pie = request.param
    d = tmp_path_factory.mktemp(f"shared-{arch}{pie}")
    m32 = ["-m32"] if arch == "i386" else []
    subprocess.run(["gcc", *m32, "-O1", "-shared", "-fPIC", "-Wl,-soname,libdemo.so",
                    "-o", str(d / "libdemo.so"), str(PROGRAMS / "lib.c")], check=True)
    subprocess.run(["gcc", *m32, "-O1", pie, "-fpie" if pie == "-pie" else "-fno-pie",
                    "-o", str(d / "main"), str(PROGRAMS / "main.c"), "-L", str(d), "-ldemo"],
                   check=True)
    return d / "main"


@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_real_library_matches_native(linked: Path, native: Native, bind: str) -> None:
    expected = native(linked, ld_path=str(linked.parent))
    result = run(linked, bind=bind)  # found next to the executable
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (expected.stdout, expected.returncode)
    assert b"executable's greeting" in result.stdout
    symbols = [t.symbol for t in result.trace]
    assert symbols[:2] == ["puts", "__libc_start_main"]  # the library's constructor first


def test_found_through_ld_library_path(linked: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "main"
    elsewhere.write_bytes(linked.read_bytes())
    missing = run(elsewhere)
    assert [f.kind for f in missing.faults] == ["load"]
    assert "libdemo.so" in missing.faults[0].message
    found = run(elsewhere, env={"LD_LIBRARY_PATH": str(linked.parent)})
    assert found.faults == [] and found.exit_code == 42


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_symbol_versions_pick_the_needed_definition(tmp_path: Path, native: Native,
                                                    arch: str) -> None:
    m32 = ["-m32"] if arch == "i386" else []
    lib = tmp_path / "libversioned.so"
    subprocess.run(["gcc", *m32, "-shared", "-fPIC", "-Wl,-soname,libversioned.so",
                    f"-Wl,--version-script={PROGRAMS / 'versioned.map'}", "-o", str(lib),
                    str(PROGRAMS / "versioned.c")], check=True)
    exe = tmp_path / "main"
    subprocess.run(["gcc", *m32, "-no-pie", "-fno-pie", "-o", str(exe),
                    str(PROGRAMS / "use_versioned.c"), "-L", str(tmp_path), "-lversioned"],
                   check=True)
    result = run(exe)
    assert result.stdout == b"describe@@VER_2 describe@@VER_2\n"
    assert result.stdout == native(exe, ld_path=str(tmp_path)).stdout


def test_faults_in_a_library_name_it(linked: Path) -> None:
    result = run(linked, [str(linked), "crash"])
    assert [f.kind for f in result.faults] == ["unmapped-read"]
    assert result.faults[0].symbol is not None
    assert result.faults[0].symbol.startswith("libdemo.so:crash")


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("pie", ["-no-pie", "-pie"])
def test_thread_locals_of_libraries_and_executable(tmp_path: Path, native: Native, arch: str,
                                                   pie: str) -> None:
    m32 = ["-m32"] if arch == "i386" else []
    subprocess.run(["gcc", *m32, "-O1", "-shared", "-fPIC", "-Wl,-soname,libtls.so", "-o",
                    str(tmp_path / "libtls.so"), str(PROGRAMS / "libtls.c")], check=True)
    exe = tmp_path / "main"
    subprocess.run(["gcc", *m32, "-O1", pie, "-fpie" if pie == "-pie" else "-fno-pie",
                    "-o", str(exe), str(PROGRAMS / "use_tls.c"), "-L", str(tmp_path),
                    "-ltls"], check=True)
    expected = native(exe, ld_path=str(tmp_path))
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind)
        assert result.faults == []
        assert (result.stdout, result.exit_code) == (expected.stdout, expected.returncode)
