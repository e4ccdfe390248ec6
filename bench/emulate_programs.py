"""The programs the emulator-speed benchmark runs, and the bare-Unicorn loop it compares with.

hello: printf of a number and a string (printf stays printf: it has a conversion), built as
ELF x86-64 (gcc -O1 -no-pie, GNU ld; run lazily and with -z now), ELF i386 (gcc -m32, lazy)
and Mach-O x86-64 (clang-14 for Darwin, ld64.lld-14 against the shipped libSystem.tbd).
loop: a counted `dec; jnz` loop in inline assembly, so the emulated instruction count is
fixed by the source (two per iteration) whatever gcc's optimiser does, then one printf of
the counter so the run is checked by its output; run without a budget (guest code at the
JIT's speed) and, a tenth as long, with one (Unicorn counts every instruction).  The bare-Unicorn figure runs
the same two instructions (`dec %rax; jnz`) for the same iterations on a bare instance.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LIBSYSTEM_TBD = PROJECT_DIR / "linker" / "macho" / "data" / "libSystem.tbd"
DARWIN_TRIPLE = "x86_64-apple-macosx10.9"

HELLO_C = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello, %s %d\n", "world", argc + 41);
    return 0;
}
"""
HELLO_DARWIN_C = r"""
int printf(const char *, ...);
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
BARE_LOOP = bytes.fromhex("48ffc8" "75fb")  # 1: dec %rax; jnz 1b
BARE_BASE = 0x400000


@dataclass(frozen=True)
class Program:
    """One linked executable and the output a right run prints (exit status 0)."""

    name: str
    path: Path
    bind: str  # how oracle.run binds: "lazy" or "now"
    stdout: bytes
    loop_instructions: int = 0  # instructions of the loop alone (0: no loop)
    max_instructions: int | None = None  # the run's budget (None: not counted)


def _gcc(source: str, out: Path, extra: list[str]) -> Path:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-O1", "-no-pie", "-fno-pie", "-fuse-ld=bfd", *extra, "-o", str(out),
                    str(src)], check=True, capture_output=True)
    return out


def _darwin(source: str, out: Path) -> Path:
    src = out.with_suffix(".c")
    obj = out.with_suffix(".o")
    src.write_text(source)
    subprocess.run(["clang-14", f"--target={DARWIN_TRIPLE}", "-O1", "-w", "-c", str(src), "-o",
                    str(obj)], check=True, capture_output=True)
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(out), str(obj), str(LIBSYSTEM_TBD)], check=True,
                   capture_output=True)
    return out


def build(directory: Path, loop_instructions: int) -> list[Program]:
    """The hellos (ELF x86-64 lazy and -z now, ELF i386, Mach-O x86-64), then the loop
    without and with an instruction budget, compiled into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    loop, instructions = _loop(directory, loop_instructions)
    # Counting is about ten times slower: the budgeted loop is a tenth of the other.
    counted_loop, counted = _loop(directory, max(2, loop_instructions // 10))
    return [
        Program("hello ELF x86-64", _gcc(HELLO_C, directory / "hello", []), "lazy",
                HELLO_STDOUT),
        Program("hello ELF x86-64 -z now", _gcc(HELLO_C, directory / "hello-now",
                                                ["-Wl,-z,now"]), "now", HELLO_STDOUT),
        Program("hello ELF i386", _gcc(HELLO_C, directory / "hello32", ["-m32"]), "lazy",
                HELLO_STDOUT),
        Program("hello Mach-O x86-64", _darwin(HELLO_DARWIN_C, directory / "hello-macho"),
                "lazy", HELLO_STDOUT),
        Program(f"loop {instructions:,} instr", loop, "lazy", LOOP_STDOUT, instructions),
        Program(f"loop {counted:,} instr, budget", counted_loop, "lazy", LOOP_STDOUT,
                counted, max_instructions=2 * counted + 1_000_000),
    ]


def _loop(directory: Path, loop_instructions: int) -> tuple[Path, int]:
    iterations = max(1, loop_instructions // INSTRUCTIONS_PER_ITERATION)
    source = LOOP_C.replace("ITERATIONS", f"{iterations}UL")
    return (_gcc(source, directory / f"loop{iterations}", []),
            iterations * INSTRUCTIONS_PER_ITERATION)


def bare_loop_seconds(loop_instructions: int) -> tuple[float, float]:
    """(wall, CPU) seconds of bare Unicorn running the loop's two instructions for the
    loop's iterations: one instance, no hooks, no budget, set up before the clock starts."""
    from unicorn import UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, Uc
    from unicorn import x86_const as x

    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(BARE_BASE, 0x1000, UC_PROT_ALL)
    uc.mem_write(BARE_BASE, BARE_LOOP)
    uc.reg_write(x.UC_X86_REG_RAX, max(1, loop_instructions // INSTRUCTIONS_PER_ITERATION))
    start, cpu = time.perf_counter(), time.process_time()
    uc.emu_start(BARE_BASE, BARE_BASE + len(BARE_LOOP))
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    if uc.reg_read(x.UC_X86_REG_RAX) != 0:
        raise RuntimeError("the bare loop did not run to its end")
    return wall, cpu_s
