"""qsort's two paths: small arrays sorted by the emulated libc's guest code (guest_code.py,
from guest_qsort.c), larger ones by the Python merge sort (sorting.py).  A program sorting
arrays on both sides of the limit, with a comparator that reads a global and another that
longjmps out, prints under oracle.run what it prints natively, ELF x86-64 and i386; and the
kept machine code is what its C source compiles to."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle import run
from oracle.emulate import sorting
from oracle.emulate.guest_code import GUEST_QSORT, compile_guest_qsort

PROGRAM = r"""
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned calls;
static jmp_buf out;

static int by_value(const void *a, const void *b) {
    calls++;
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int escape(const void *a, const void *b) {
    (void)a; (void)b;
    longjmp(out, 7);
}

static void sort_and_show(long *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        v[i] = (long)((i * 2654435761u) % 100003u) - 50000;  /* distinct values */
    calls = 0;
    qsort(v, n, sizeof v[0], by_value);
    int sorted = 1;
    for (size_t i = 1; i < n; i++)
        sorted &= v[i - 1] < v[i];
    long key = v[n / 3];
    long *hit = bsearch(&key, v, n, sizeof v[0], by_value);
    printf("%zu sorted=%d first=%ld last=%ld found=%d called=%d\n", n, sorted, v[0],
           v[n - 1], hit == &v[n / 3], calls > 0);
}

int main(void) {
    static long v[3000];
    size_t sizes[] = {2, 3, 24, SMALL_COUNT, SMALL_COUNT + 1, 3000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        sort_and_show(v, sizes[i]);
    int got = setjmp(out);
    if (got == 0)
        qsort(v, 10, sizeof v[0], escape);
    printf("escaped with %d\n", got);
    return 0;
}
"""


@pytest.mark.parametrize("bits", [64, 32])
def test_both_paths_sort_as_natively(tmp_path: Path, bits: int) -> None:
    # the last small array: its elements fit the guest code's byte limit for this word
    small = min(sorting.GUEST_SORT_COUNT, sorting.GUEST_SORT_BYTES // (bits // 8))
    src = tmp_path / "sorts.c"
    src.write_text(PROGRAM.replace("SMALL_COUNT", str(small)))
    exe = tmp_path / f"sorts{bits}"
    subprocess.run(["gcc", f"-m{bits}", "-O1", "-o", str(exe), str(src)], check=True)
    native = subprocess.run([str(exe)], capture_output=True, check=True).stdout
    assert native.count(b"sorted=1") == 6
    for bind in ("lazy", "now"):
        result = run(str(exe), [exe.name], bind=bind)
        assert not result.faults, [f.describe() for f in result.faults]
        assert (result.exit_code, result.stdout) == (0, native)


@pytest.mark.parametrize("bits", [64, 32])
def test_the_kept_code_is_what_the_c_file_compiles_to(bits: int) -> None:
    assert compile_guest_qsort(bits) == GUEST_QSORT[bits], (
        "guest_qsort.c changed (or gcc did): paste `python -m oracle.emulate.guest_code`'s "
        "output into oracle/emulate/guest_code.py")
