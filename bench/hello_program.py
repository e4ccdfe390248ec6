"""Workload C, "hello world": the smallest real link, a C program against libc.so.

What a test suite linking hundreds of small programs through `gcc -B` pays per program: the
link line is gcc's own (crt files, -lgcc, -lgcc_s as needed, -lc; workload B's, with hello.o
and no libz.a), and for linkharness the cost is mostly start-up. The program prints a line
and exits 42.
"""

from __future__ import annotations

from pathlib import Path

from bench.object_cache import Source, cached_inputs
from bench.workload import Workload
from bench.zlib_program import CRT_FILES, LIBZ, link_args

EXIT_OK = 42
PROGRAM = f'#include <stdio.h>\nint main(void) {{ puts("hello, world"); return {EXIT_OK}; }}\n'


def hello_workload(root: Path) -> Workload:
    """Workload C with hello.o compiled (or cached)."""
    cached = cached_inputs(root, "hello", {"workload": "hello"}, [Path(__file__)],
                           lambda: ([Source("hello.c", PROGRAM)], {}))
    args = tuple(a for a in link_args() if a != LIBZ)
    args = tuple("hello.o" if a == "main.o" else a for a in args)
    return Workload(
        name="hello",
        description="hello.o + crt files, libc.so.6 (gcc's link line): start-up dominates",
        directory=cached.directory,
        args=args,
        expected_status=EXIT_OK,
        objects=1 + len(CRT_FILES),
        relocs=0,  # not counted: a handful
    )
