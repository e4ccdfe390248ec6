"""The emulated macOS process as xnu and libSystem set it up: the thread-specific data
area at the gs base (self pointer, errno's address, a free slot a program may store to, as
Go's runtime does at gs:0x30) and the commpage at its fixed address with the fields
programs read; an access outside everything emulated is reported with its address, the
instruction's symbol and what is missing there.  x86-64 and i386, linked by linkharness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle import run

INCLUDE = Path(__file__).parents[2] / "macho_include"
TRIPLES = {"x86_64": "x86_64-apple-macosx10.9", "i386": "i386-apple-macosx10.6"}
TARGETS = {"x86_64": "macho-x86_64", "i386": "macho-i386"}
COMMPAGE = {"x86_64": 0x7FFFFFE00000, "i386": 0xFFFF0000}
SOURCE = r"""
#include <stdio.h>
#include <stdint.h>
int *__error(void);
#ifdef __x86_64__
#define COMMPAGE 0x7fffffe00000UL
#define W "q"
#else
#define COMMPAGE 0xffff0000UL
#define W "l"
#endif
static void *tsd(long slot) {
    void *v;
    __asm__ volatile("mov" W " %%gs:(,%1," "%c2" "), %0" : "=r"(v) : "r"(slot), "i"(sizeof(void *)));
    return v;
}
static void tsd_store(long slot, void *value) {
    __asm__ volatile("mov" W " %1, %%gs:(,%0," "%c2" ")" :: "r"(slot), "r"(value), "i"(sizeof(void *)) : "memory");
}
int main(int argc, char **argv) {
    const volatile char *cp = (const volatile char *)COMMPAGE;
    tsd_store(6, (void *)0x55);
    *__error() = 9;
    printf("%s v%d ncpus=%d line=%d\n", (const char *)cp, *(const volatile uint16_t *)(cp + 0x1e),
           cp[0x22], *(const volatile uint16_t *)(cp + 0x26));
    printf("self=%d errno-slot=%d errno=%d slot6=%lx\n", tsd(0) == tsd(0) && tsd(0) != 0,
           tsd(1) == (void *)__error(), *(int *)tsd(1), (long)tsd(6));
    switch (argc) {
    case 2: return cp[0x1000];                       /* the commpage text page */
    case 3: return (int)(long)tsd(800);              /* past the TSD slots */
    case 4: return *(volatile int *)(long)argc;      /* a null pointer */
    case 5: return *(volatile int *)0x3000000000UL;  /* nowhere */
    }
    return 0;
}
"""
EXPECTED = {"x86_64": b"commpage 64-bit v13 ncpus=1 line=64\nself=1 errno-slot=1 errno=9 slot6=55\n",
            "i386": b"commpage 32-bit v13 ncpus=1 line=64\nself=1 errno-slot=1 errno=9 slot6=55\n"}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("darwin-process")
    (root / "p.c").write_text(SOURCE)
    out = {}
    for arch, triple in TRIPLES.items():
        obj = root / f"p-{arch}.o"
        subprocess.run(["clang-14", f"--target={triple}", "-O1", "-nostdlibinc", "-isystem",
                        str(INCLUDE), "-c", "-o", str(obj), str(root / "p.c")], check=True)
        out[arch] = root / f"p-{arch}"
        link([obj, "-lSystem"], out[arch], target=TARGETS[arch])
    return out


@pytest.mark.parametrize("arch", TRIPLES)
def test_tsd_and_commpage_hold_what_libsystem_reads(programs: dict[str, Path], arch: str) -> None:
    for bind in ("lazy", "now"):
        result = run(str(programs[arch]), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (EXPECTED[arch], 0, [])


@pytest.mark.parametrize("arch", TRIPLES)
@pytest.mark.parametrize(("extra", "missing"), [
    (1, "commpage text page +0x0 (preemption-free zone routines) is not emulated"),
    (2, "is past the 768 thread-specific data slots emulated"),
    (3, "in __PAGEZERO (a null pointer?)"),
    (4, "no segment, stack, heap, thread area or commpage is emulated there"),
])
def test_an_access_outside_the_emulated_process_says_what_is_missing(
        programs: dict[str, Path], arch: str, extra: int, missing: str) -> None:
    if arch == "i386" and extra == 4:
        missing = "in __PAGEZERO"  # 0x3000000000 truncates to 0 in a 32-bit pointer
    result = run(str(programs[arch]), ["p", *["x"] * extra])
    assert result.exit_code is None and len(result.faults) == 1
    fault = result.faults[0]
    assert fault.kind == "unmapped-read" and fault.symbol and fault.symbol.startswith("_main")
    assert missing in fault.message, fault.message
    if extra == 1:
        assert f"at {COMMPAGE[arch] + 0x1000:#x}" in fault.message
