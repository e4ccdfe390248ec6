"""The libtrace convention end to end: real libtrace1.so / libtrace2.so built by gcc from
generated C that follows the convention, a program linked against them (calls through
the PLT and through a pointer in data, a COPY of a data object), run natively and under
the emulator; the emulator's trace and return values must be the convention's."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle import run
from oracle.emulate import libtrace

Native = Callable[..., subprocess.CompletedProcess[bytes]]
MASK = {"x86-64": (1 << 64) - 1, "i386": (1 << 32) - 1}

LIB_PRELUDE = r"""
#include <stdint.h>
typedef unsigned long W;
static uint64_t fnv(const char *name, const W *args, int n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = name; *p; p++) { h ^= (unsigned char)*p; h *= 0x100000001b3ULL; }
    for (int i = 0; i < n; i++) {
        uint64_t a = args[i];
        for (int b = 0; b < 8; b++) { h ^= (a >> (8 * b)) & 0xff; h *= 0x100000001b3ULL; }
    }
    return h;
}
"""


def library_source(functions: list[str], objects: dict[str, int]) -> str:
    parts = [LIB_PRELUDE]
    for name in functions:
        n = libtrace.arity(name)
        params = ", ".join(f"W a{i}" for i in range(n)) or "void"
        values = ", ".join(f"a{i}" for i in range(n)) or "0"
        parts.append(f"W {name}({params}) {{ W args[] = {{{values}}}; "
                     f'return fnv("{name}", args, {n}) & 0x7fffffff; }}')
    for name, size in objects.items():
        words = ", ".join(f"{libtrace.data_word(name, k):#x}u" for k in range(size // 4))
        parts.append(f"unsigned int {name}[{size // 4}] = {{{words}}};")
    return "\n".join(parts) + "\n"


PROGRAM = r"""
#include <stdio.h>
typedef unsigned long W;
W alpha_a0(void); W beta_a2(W, W); W gamma_a6(W, W, W, W, W, W); W plain(void);
W delta_a1(W);
extern unsigned int tdata[4];
W (*through_data)(W, W) = beta_a2;
int main(void) {
    W r1 = alpha_a0();
    W r2 = beta_a2(r1, 7);
    W r3 = gamma_a6(1, 2, 3, 4, 5, (W)-1);
    W r4 = through_data(r2, r3);
    W r5 = plain();
    W r6 = delta_a1(r5);
    printf("%lu %lu %lu %lu %lu %lu\n", r1, r2, r3, r4, r5, r6);
    printf("%08x %08x %08x %08x\n", tdata[0], tdata[1], tdata[2], tdata[3]);
    return (int)(r6 & 0x7f);
}
"""

NOLIBC = r"""
typedef unsigned long W;
W alpha_a0(void); W beta_a2(W, W); W delta_a1(W);
extern unsigned int tdata[4];
void _start(void) {
    W r = delta_a1(beta_a2(alpha_a0(), tdata[2]));
#ifdef __x86_64__
    __asm__ volatile("syscall" :: "a"(231), "D"((int)(r & 0xff)));
#else
    __asm__ volatile("int $0x80" :: "a"(252), "b"((int)(r & 0xff)));
#endif
    __builtin_unreachable();
}
"""


def expected_calls(arch: str) -> list[tuple[str, str, tuple[int, ...]]]:
    mask = MASK[arch]
    r1 = libtrace.call_result("alpha_a0", ())
    r2 = libtrace.call_result("beta_a2", (r1, 7))
    gamma_args = (1, 2, 3, 4, 5, mask)
    r3 = libtrace.call_result("gamma_a6", gamma_args)
    r5 = libtrace.call_result("plain", ())
    return [
        ("libtrace1.so", "alpha_a0", ()),
        ("libtrace1.so", "beta_a2", (r1, 7)),
        ("libtrace1.so", "gamma_a6", gamma_args),
        ("libtrace1.so", "beta_a2", (r2, r3)),
        ("libtrace1.so", "plain", ()),
        ("libtrace2.so", "delta_a1", (r5,)),
    ]


@pytest.fixture(scope="module", params=["x86-64", "i386"])
def traced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, Path, Path]:
    arch = str(request.param)
    d = tmp_path_factory.mktemp(f"libtrace-{arch}")
    m32 = ["-m32"] if arch == "i386" else []
    libs = {"libtrace1.so": library_source(["alpha_a0", "beta_a2", "gamma_a6", "plain"],
                                           {"tdata": 16}),
            "libtrace2.so": library_source(["delta_a1"], {})}
    for soname, source in libs.items():
        (d / f"{soname}.c").write_text(source)
        subprocess.run(["gcc", *m32, "-O1", "-shared", "-fPIC", f"-Wl,-soname,{soname}",
                        "-o", str(d / soname), str(d / f"{soname}.c")], check=True)
    (d / "main.c").write_text(PROGRAM)
    (d / "start.c").write_text(NOLIBC)
    link = ["-L", str(d), "-l:libtrace1.so", "-l:libtrace2.so"]
    subprocess.run(["gcc", *m32, "-O1", "-no-pie", "-fno-pie", "-o", str(d / "prog"),
                    str(d / "main.c"), *link], check=True)
    subprocess.run(["gcc", *m32, "-O1", "-no-pie", "-fno-pie", "-nostdlib",
                    "-fno-stack-protector", "-o", str(d / "nolibc"), str(d / "start.c"), *link],
                   check=True)
    return arch, d / "prog", d / "nolibc"


@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_trace_and_results_follow_the_convention(traced: tuple[str, Path, Path],
                                                 native: Native, bind: str) -> None:
    arch, prog, _ = traced
    result = run(prog, bind=bind)
    assert result.faults == []
    calls = [(t.library, t.symbol, t.args) for t in result.trace
             if t.library.startswith("libtrace")]
    assert calls == expected_calls(arch)
    expected = native(prog, ld_path=str(prog.parent))
    assert (result.stdout, result.exit_code) == (expected.stdout, expected.returncode)
    returned = [libtrace.call_result(symbol, args) for _, symbol, args in calls]
    assert [int(v) for v in result.stdout.split(b"\n")[0].split()] == returned
    words = " ".join(f"{libtrace.data_word('tdata', k):08x}" for k in range(4))
    assert result.stdout.splitlines()[1].decode() == words


def test_without_libc_exit_through_a_system_call(traced: tuple[str, Path, Path],
                                                 native: Native) -> None:
    _, _, prog = traced
    result = run(prog)
    word = libtrace.data_word("tdata", 2)
    r1 = libtrace.call_result("alpha_a0", ())
    r2 = libtrace.call_result("beta_a2", (r1, word))
    r3 = libtrace.call_result("delta_a1", (r2,))
    assert result.faults == []
    assert [(t.library, t.symbol, t.args) for t in result.trace] == [
        ("libtrace1.so", "alpha_a0", ()),
        ("libtrace1.so", "beta_a2", (r1, word)),
        ("libtrace2.so", "delta_a1", (r2,)),
    ]
    assert result.exit_code == r3 & 0xFF == native(prog, ld_path=str(prog.parent)).returncode


def test_without_the_real_files_the_first_libtrace_takes_every_name(
        traced: tuple[str, Path, Path], tmp_path: Path) -> None:
    _, prog, _ = traced
    alone = tmp_path / "prog"
    alone.write_bytes(prog.read_bytes())
    result = run(alone)
    assert {t.library for t in result.trace if t.library.startswith("libtrace")} == {
        "libtrace1.so"}


def test_fnv1a64_known_values() -> None:
    assert libtrace.fnv1a64(b"") == 0xCBF29CE484222325
    assert libtrace.fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert libtrace.fnv1a64(b"foobar") == 0x85944171F73967E8
    assert libtrace.arity("x_a6") == 6 and libtrace.arity("x_a7") == 0
    assert libtrace.arity("plain") == 0
    assert len(libtrace.data_bytes("d", 6)) == 6
