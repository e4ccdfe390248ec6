"""The programs the emulator-speed benchmark runs, built with gcc and GNU ld (-no-pie).

hello: printf of a number and a string (printf stays printf: it has a conversion), linked
lazily and with -z now. loop: a counted `dec; jnz` loop in inline assembly, so the emulated
instruction count is fixed by the source (two per iteration) whatever gcc's optimiser does,
then one printf of the counter so the run is checked by its output.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

HELLO_C = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello, %s %d\n", "world", argc + 41);
    return 0;
}
"""
HELLO_STDOUT = b"hello, world 42\n"

LOOP_C = r"""
#include <stdio.h>
int main(void) {
    unsigned long n = ITERATIONS;
    __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
    printf("left %lu\n", n);
    return 0;
}
"""
LOOP_STDOUT = b"left 0\n"
INSTRUCTIONS_PER_ITERATION = 2


@dataclass(frozen=True)
class Program:
    """One linked executable and the output a right run prints (exit status 0)."""

    name: str
    path: Path
    bind: str  # how oracle.run binds: "lazy" or "now"
    stdout: bytes
    loop_instructions: int = 0  # instructions of the loop alone (0: no loop)


def _gcc(source: str, out: Path, extra: list[str]) -> Path:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-O1", "-no-pie", "-fno-pie", "-fuse-ld=bfd", *extra, "-o", str(out),
                    str(src)], check=True, capture_output=True)
    return out


def build(directory: Path, loop_instructions: int) -> list[Program]:
    """hello (lazy), hello (-z now) and the loop, compiled into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    iterations = max(1, loop_instructions // INSTRUCTIONS_PER_ITERATION)
    loop_src = LOOP_C.replace("ITERATIONS", f"{iterations}UL")
    return [
        Program("hello (lazy)", _gcc(HELLO_C, directory / "hello", []), "lazy", HELLO_STDOUT),
        Program("hello (-z now)", _gcc(HELLO_C, directory / "hello-now", ["-Wl,-z,now"]), "now",
                HELLO_STDOUT),
        Program(f"loop {iterations * INSTRUCTIONS_PER_ITERATION:,} instr",
                _gcc(loop_src, directory / f"loop{iterations}", []), "lazy", LOOP_STDOUT,
                iterations * INSTRUCTIONS_PER_ITERATION),
    ]
