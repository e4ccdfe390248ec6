"""--gc-sections and --print-gc-sections against GNU ld: the same sections removed (its
messages, prefix aside), the program runs the same, exceptions still unwind, and the
__start_/__stop_ sections, init arrays and exported symbols stay."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linker import cli

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")

C_SOURCE = r"""
#include <stdio.h>
__attribute__((used, section("mylist"))) static const int item1 = 1;
__attribute__((used, section("mylist"))) static const int item2 = 2;
extern const int __start_mylist[], __stop_mylist[];
int unused_fn(int x) { return x * 3; }
int unused_data[100] = {1};
static int helper(int x) { return x + 1; }
int used_data = 5;
__attribute__((constructor)) static void ctor(void) { used_data++; }
int main(void) {
    int sum = 0;
    for (const int *p = __start_mylist; p < __stop_mylist; p++) sum += *p;
    printf("%d %d\n", helper(used_data), sum);
    return 0;
}
"""

CXX_SOURCE = r"""
#include <cstdio>
#include <stdexcept>
int unused_throw(int x) { if (x) throw std::runtime_error("u"); return 0; }
int thrower(int x) { if (x > 1) throw std::runtime_error("boom"); return x; }
int main(int argc, char **) {
    try { thrower(argc + 1); } catch (const std::exception &e) { std::printf("caught %s\n", e.what()); }
    return 0;
}
"""


def _build(tmp: Path, source: str, name: str, cxx: bool, pie: bool) -> Path:
    src = tmp / (name + (".cc" if cxx else ".c"))
    src.write_text(source)
    obj = tmp / f"{name}.o"
    subprocess.run(["g++" if cxx else "gcc", "-c", "-O1", "-ffunction-sections",
                    "-fdata-sections", "-fpie" if pie else "-fno-pie", str(src), "-o", str(obj)],
                   check=True)
    return obj


def _link(tmp: Path, obj: Path, flags: list[str], ours: bool, cxx: bool
          ) -> tuple[Path, set[str]]:
    out = tmp / ("ours" if ours else "gnu")
    driver = ["g++" if cxx else "gcc"] + ([f"-B{cli.shim_dir()}"] if ours else [])
    done = subprocess.run(driver + [obj.name, "-o", str(out)] + flags, cwd=tmp,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    removed = {line.split(": ", 1)[1] for line in done.stderr.splitlines()
               if "removing unused section" in line}
    return out, removed


def _symbols(path: Path) -> str:
    return subprocess.run(["nm", "-C", str(path)], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("mode", [["-no-pie"], ["-pie"], ["-no-pie", "-static"]])
def test_c_program_collects_what_gnu_ld_collects(tmp_path: Path, mode: list[str]) -> None:
    obj = _build(tmp_path, C_SOURCE, "gc", cxx=False, pie="-pie" in mode)
    flags = [*mode, "-Wl,--gc-sections,--print-gc-sections"]
    results = [_link(tmp_path, obj, flags, ours, cxx=False) for ours in (False, True)]
    (gnu, gnu_removed), (ours, ours_removed) = results
    mine = {r for r in gnu_removed if "gc.o" in r}
    assert mine == {"removing unused section '.text.unused_fn' in file 'gc.o'",
                    "removing unused section '.data.unused_data' in file 'gc.o'"}
    assert {r for r in ours_removed if "gc.o" in r} == mine
    if "-static" not in mode:  # libc.a's members differ in what a static link pulls
        assert ours_removed == gnu_removed
    for exe in (gnu, ours):
        assert subprocess.run([str(exe)], capture_output=True, text=True,
                              check=True).stdout == "7 3\n"
    assert "unused_fn" not in _symbols(ours) and "unused_data" not in _symbols(ours)
    without, _ = _link(tmp_path, obj, mode, True, cxx=False)
    assert "unused_fn" in _symbols(without)  # collected only when asked


@pytest.mark.parametrize("mode", [["-no-pie"], ["-no-pie", "-static"]])
def test_cxx_exceptions_unwind_after_collection(tmp_path: Path, mode: list[str]) -> None:
    obj = _build(tmp_path, CXX_SOURCE, "gcpp", cxx=True, pie=False)
    ours, removed = _link(tmp_path, obj, [*mode, "-Wl,--gc-sections,--print-gc-sections"],
                          True, cxx=True)
    assert "removing unused section '.text._Z12unused_throwi' in file 'gcpp.o'" in removed
    assert subprocess.run([str(ours)], capture_output=True, text=True,
                          check=True).stdout == "caught boom\n"
    assert "unused_throw" not in _symbols(ours)
    harness = Path(sys.executable).parent / "linkharness"
    check = subprocess.run([str(harness), "check", str(ours)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
