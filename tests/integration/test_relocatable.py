"""`linkharness link -r` on real C programs (issue 20 item 2, issue 18's "DWARF survives -r").

Two files are compiled with gcc, combined by `linkharness link -r` into one object, and that
object is linked with a third file into an executable by GNU ld and by linkharness; both
must print and return what the direct link of the three objects does.  The program covers
what -r must carry: same-named statics in both files, a COMMON pair (-fcommon), merged
strings, a weak definition beaten by a strong one, a constructor, pointer tables against
section symbols, a jump table, thread-local storage (x86-64), and on i386 PIC the
`__x86.get_pc_thunk` COMDAT group both files carry.  Then gdb finds `file:line` in a -g build
linked after -r, and llvm-dwarfdump --verify passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from debug_program import GDB, assert_gdb_stopped_in_f, gdb_answers, write_sources

A_C = r"""#include <stdio.h>
static int counter = 1;
int shared_common;
#ifdef __x86_64__
__thread
#endif
int tls_a = 5;
extern int b_value(int);
extern const char *b_name(void);
static const char *words[] = {"alpha", "beta", "gamma"};
int weak_fn(void) __attribute__((weak));
int weak_fn(void) { return 1; }
static int bump(void) { return ++counter; }
int (*const table_a[])(void) = {bump, weak_fn};
__attribute__((constructor)) static void early(void) { counter += 10; }
int a_main(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        switch (i % 5) {
        case 0: s += table_a[0](); break;
        case 1: s += table_a[1](); break;
        case 2: s += b_value(i); break;
        case 3: s -= 3 * i; break;
        default: s += tls_a++;
        }
    }
    printf("%s %s %s %d %d %s\n", words[0], words[1], words[2], s, shared_common, b_name());
    return s;
}
"""
B_C = r"""static int counter = 100;
int shared_common;
int shared_common_b = 3;
#ifdef __x86_64__
extern __thread int tls_a;
#else
extern int tls_a;
#endif
int weak_fn(void) { return 7; }
static int helper(int x) { return x * counter++; }
int b_value(int x) { shared_common += x; return helper(x) + tls_a; }
const char *b_name(void) { return "beta"; }
"""
M_C = r"""#include <stdio.h>
int a_main(int);
extern int shared_common_b;
int main(void) { int r = a_main(11); printf("%d %d\n", r, shared_common_b); return r & 0x7f; }
"""

VARIANTS = {
    "pie": (),
    "O2-sections": ("-O2", "-ffunction-sections", "-fdata-sections"),
    "m32-pic": ("-m32",),
    "m32-O2-no-pie": ("-m32", "-O2", "-fno-pie"),
}


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=120)


def _ok(*cmd: str | Path, cwd: Path) -> str:
    done = _run(*cmd, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}: {done.stderr}"
    return done.stdout


def _link_r(tmp: Path, objects: list[str], output: str, m32: bool) -> None:
    emulation = ["-m", "elf_i386"] if m32 else []
    _ok(sys.executable, "-m", "linker", "-r", *emulation, *objects, "-o", output, cwd=tmp)


def _program(tmp: Path, flags: tuple[str, ...]) -> tuple[str, ...]:
    for name, text in (("a.c", A_C), ("b.c", B_C), ("m.c", M_C)):
        (tmp / name).write_text(text)
    _ok("gcc", *flags, "-fcommon", "-c", "a.c", "b.c", "m.c", cwd=tmp)
    pie = ("-no-pie",) if "-fno-pie" in flags else ()
    return (("-m32",) if "-m32" in flags else ()) + pie


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_r_output_links_and_runs_as_the_direct_link(variant: str, tmp_path: Path,
                                                   linkharness_shim: str) -> None:
    ld_flags = _program(tmp_path, VARIANTS[variant])
    _ok("gcc", *ld_flags, "a.o", "b.o", "m.o", "-o", "direct", cwd=tmp_path)
    want = _run(tmp_path / "direct", cwd=tmp_path)
    assert want.stdout.startswith("alpha beta gamma")
    _link_r(tmp_path, ["a.o", "b.o"], "ab.o", "-m32" in ld_flags)
    for name, extra in (("by-gnu-ld", ()), ("by-linkharness", (f"-B{linkharness_shim}",))):
        _ok("gcc", *ld_flags, *extra, "ab.o", "m.o", "-o", name, cwd=tmp_path)
        got = _run(tmp_path / name, cwd=tmp_path)
        assert (got.stdout, got.returncode) == (want.stdout, want.returncode), name


def test_gnu_ld_r_output_links_with_linkharness(tmp_path: Path, linkharness_shim: str) -> None:
    """The other direction: GNU ld's own -r output is an input linkharness links right."""
    _program(tmp_path, ())
    _ok("ld", "-r", "a.o", "b.o", "-o", "ab.o", cwd=tmp_path)
    _ok("gcc", "a.o", "b.o", "m.o", "-o", "direct", cwd=tmp_path)
    _ok("gcc", f"-B{linkharness_shim}", "ab.o", "m.o", "-o", "ours", cwd=tmp_path)
    want, got = _run(tmp_path / "direct", cwd=tmp_path), _run(tmp_path / "ours", cwd=tmp_path)
    assert (got.stdout, got.returncode) == (want.stdout, want.returncode)


@pytest.mark.parametrize("flags", [("-g",), ("-gdwarf-4", "-m32")], ids=["dwarf5", "dwarf4-m32"])
def test_debug_information_survives_r(flags: tuple[str, ...], tmp_path: Path,
                                      linkharness_shim: str) -> None:
    write_sources(tmp_path)
    _ok("gcc", *flags, "-O0", "-fno-pie", "-c", "f.c", "m.c", cwd=tmp_path)
    m32 = "-m32" in flags
    _link_r(tmp_path, ["f.o", "m.o"], "fm.o", m32)
    link_flags = ("-m32",) if m32 else ()
    for name, extra in (("by-gnu-ld", ()), ("by-linkharness", (f"-B{linkharness_shim}",))):
        _ok("gcc", *link_flags, "-no-pie", *extra, "fm.o", "-o", name, cwd=tmp_path)
        assert_gdb_stopped_in_f(gdb_answers(_ok(*GDB, tmp_path / name, cwd=tmp_path)))
        assert "No errors." in _ok("llvm-dwarfdump-14", "--verify", name, cwd=tmp_path)
    assert "No errors." in _ok("llvm-dwarfdump-14", "--verify", "fm.o", cwd=tmp_path)


HEADER_HPP = r"""#include <stdexcept>
#include <string>
#include <vector>
inline int shared_inline(int x) {
    if (x > 100) throw std::runtime_error("big " + std::to_string(x));
    return x * 2;
}
template <typename T> T sum(const std::vector<T>& v) {
    T s{};
    for (auto& e : v) s += shared_inline(e);
    return s;
}
"""
CPP_A = '#include "h.hpp"\nint from_a(int n) { std::vector<int> v(n, 7); return sum(v); }\n'
CPP_B = r"""#include "h.hpp"
#include <cstdio>
int from_b(int n) {
    std::vector<int> v(n, 200);
    try { return sum(v); }
    catch (const std::exception& e) { std::printf("caught %s\n", e.what()); return -1; }
}
"""
CPP_M = r"""#include <cstdio>
#include <stdexcept>
int from_a(int); int from_b(int);
int main() {
    std::printf("%d %d\n", from_a(3), from_b(2));
    try { from_a(1); throw std::logic_error("x"); } catch (std::logic_error&) { std::puts("logic"); }
    return 0;
}
"""


@pytest.mark.parametrize("flags", [("-O2", "-g")], ids=["O2-g"])
def test_cxx_comdat_and_exceptions_through_r(flags: tuple[str, ...], tmp_path: Path,
                                             linkharness_shim: str) -> None:
    """C++: both files carry the same inline functions and template instances (COMDAT
    groups, some named by a local of the .group section), their FDEs and LSDAs; after -r
    one copy is left, and exceptions thrown through it are still caught."""
    for name, text in (("h.hpp", HEADER_HPP), ("a.cpp", CPP_A), ("b.cpp", CPP_B),
                       ("m.cpp", CPP_M)):
        (tmp_path / name).write_text(text)
    _ok("g++", *flags, "-c", "a.cpp", "b.cpp", "m.cpp", cwd=tmp_path)
    _ok("g++", "a.o", "b.o", "m.o", "-o", "direct", cwd=tmp_path)
    want = _ok(str(tmp_path / "direct"), cwd=tmp_path)
    assert want == "caught big 200\n42 -1\nlogic\n"
    _link_r(tmp_path, ["a.o", "b.o"], "ab.o", False)
    for name, extra in (("by-gnu-ld", ()), ("by-linkharness", (f"-B{linkharness_shim}",))):
        _ok("g++", *extra, "ab.o", "m.o", "-o", name, cwd=tmp_path)
        assert _ok(str(tmp_path / name), cwd=tmp_path) == want, name
