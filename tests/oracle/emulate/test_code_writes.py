"""oracle/emulate/code_writes.py: code a program writes while it runs (an `ld -N` image's
RWX segment, memory mprotect made writable and executable) runs as x86 runs it, with the
bytes as they are now, and is checked by the translation guard before Unicorn translates
it: code that would crash Unicorn ends the run with a fault, never the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import oracle

# Writes `mov eax, 42; ret` at `near` (on the code's own page, which is opened) and at
# `far` (a page of its own, disarmed), calls both, rewrites each to return 7 and calls both
# again: a stale translation would return 42 again.  Then it reads six bytes of code from
# stdin into `near` (library code writing into an open page: read(2)) and calls them.
# Exit status: the sum.
SELF_WRITING_64 = """
    .text
    .globl _start
_start:
    xorl %ebx, %ebx
    leaq near(%rip), %r12
    leaq far(%rip), %r13
    movq %r12, %rdi
    call patch_and_call
    movq %r13, %rdi
    call patch_and_call
    xorl %edi, %edi                 # read(0, near, 6)
    movq %r12, %rsi
    movl $6, %edx
    xorl %eax, %eax
    syscall
    call *%r12
    addl %eax, %ebx
    movl %ebx, %edi
    movl $60, %eax
    syscall
patch_and_call:                     # rdi: where; adds 42 then 7 to ebx
    movl $0x00002ab8, (%rdi)        # b8 2a 00 00 00 c3: mov eax, 42; ret
    movw $0xc300, 4(%rdi)
    pushq %rdi
    call *%rdi
    popq %rdi
    addl %eax, %ebx
    movb $7, 1(%rdi)                # now mov eax, 7
    pushq %rdi
    call *%rdi
    popq %rdi
    addl %eax, %ebx
    ret
near:
    .zero 16
    .data
    .balign 4096
    .zero 4096
far:
    .zero 64
"""

# 100,000 increments of a variable on the code's own page (as `ld -N` lays out a small
# program): the page is opened once, not made to fault on every store and fetch.
SAME_PAGE_LOOP = """
    .text
    .globl _start
_start:
    movl $100000, %ecx
1:  incl counter(%rip)
    decl %ecx
    jnz 1b
    movl counter(%rip), %edi
    andl $0xff, %edi
    movl $60, %eax
    syscall
    .data
counter: .long 0
"""

SELF_WRITING_32 = """
    .text
    .globl _start
_start:
    call 1f
1:  popl %esi
    movl $0x00002ab8, near - 1b(%esi)
    movw $0xc300, near - 1b + 4(%esi)
    leal near - 1b(%esi), %eax
    call *%eax
    movl %eax, %ebx
    movb $7, near - 1b + 1(%esi)
    leal near - 1b(%esi), %eax
    call *%eax
    addl %eax, %ebx                 # 49
    movl $1, %eax
    int $0x80
    .data
near:
    .zero 16
"""

# A straight line of 600 `fxch` (x87 register forms: Unicorn crashes translating about 235
# in one block) written with `rep stosw` into writable code, then called.
UNSAFE_64 = """
    .text
    .globl _start
_start:
    leaq buf(%rip), %rdi
    movq %rdi, %rbx
    movw $0xc9d9, %ax
    movl $600, %ecx
    rep stosw
    movb $0xc3, (%rdi)
    call *%rbx
    movl $60, %eax
    xorl %edi, %edi
    syscall
    .data
    .balign 4096
buf:
    .zero 4096
"""

# The same, into the code's own page (an open page: the write hook judges each store).
UNSAFE_SAME_PAGE_64 = UNSAFE_64.replace("    .data\n    .balign 4096\n", "")

# The same bytes into a page of .bss that mprotect makes writable and executable
# (an ordinary image, no -N).
MPROTECT_64 = """
    .text
    .globl _start
_start:
    leaq buf(%rip), %rdi
    movl $4096, %esi
    movl $7, %edx                   # PROT_READ | PROT_WRITE | PROT_EXEC
    movl $10, %eax
    syscall
    leaq buf(%rip), %rdi
    movl $0x00002ab8, (%rdi)
    movw $0xc300, 4(%rdi)
    call *%rdi
    movl %eax, %ebx
    leaq buf(%rip), %rdi
    movq %rdi, %r12
    movw $0xc9d9, %ax
    movl $600, %ecx
    rep stosw
    movb $0xc3, (%rdi)
    cmpl $0, %r14d                  # argc-free switch: r14 is 0 at entry, so this path
    call *%r12                      # always runs the unsafe code after the safe one
    movl %ebx, %edi
    movl $60, %eax
    syscall
    .bss
    .balign 4096
buf:
    .zero 4096
"""


def _build(tmp: Path, name: str, source: str, *, bits: int = 64, omagic: bool = True) -> Path:
    (tmp / f"{name}.s").write_text(source)
    subprocess.run(["as", f"--{bits}", "-o", str(tmp / f"{name}.o"), str(tmp / f"{name}.s")],
                   check=True)
    flags = ["-N"] if omagic else []
    emulation = ["-m", "elf_i386"] if bits == 32 else []
    subprocess.run(["ld", *emulation, *flags, "-static", "-o", str(tmp / name),
                    str(tmp / f"{name}.o")], check=True)
    return tmp / name


def _native_status(path: Path, stdin: bytes = b"") -> int:
    return subprocess.run([str(path)], input=stdin, check=False).returncode


@pytest.mark.parametrize("budget", [None, 10**6], ids=["uncounted", "counted"])
def test_rewritten_code_runs_as_written(tmp_path: Path, budget: int | None) -> None:
    exe = _build(tmp_path, "selfw", SELF_WRITING_64)
    code = bytes.fromhex("b805000000c3")  # mov eax, 5; ret
    assert _native_status(exe, code) == 42 + 7 + 42 + 7 + 5
    result = oracle.run(exe, stdin=code, max_instructions=budget)
    assert result.faults == [] and result.exit_code == 103
    if budget is not None:
        # about 50 run; each of the 9 faults may count up to a 1,024-instruction slice
        assert result.instructions is not None and 40 < result.instructions < 10 * 1024


@pytest.mark.parametrize("budget", [None, 10**7], ids=["uncounted", "counted"])
def test_stores_into_the_code_page_run_at_hook_speed(tmp_path: Path,
                                                     budget: int | None) -> None:
    exe = _build(tmp_path, "loop", SAME_PAGE_LOOP)
    assert _native_status(exe) == 100000 & 0xFF
    result = oracle.run(exe, max_instructions=budget, timeout=60)
    assert result.faults == [] and result.exit_code == 100000 & 0xFF
    if budget is not None:  # 300,005 run; the one fault counts its slice whole
        assert result.instructions is not None and \
            300_005 <= result.instructions < 300_005 + 2 * 1024


def test_rewritten_code_runs_as_written_i386(tmp_path: Path) -> None:
    exe = _build(tmp_path, "selfw32", SELF_WRITING_32, bits=32)
    assert _native_status(exe) == 49
    result = oracle.run(exe)
    assert result.faults == [] and result.exit_code == 49


def _run_in_child(exe: Path) -> str:
    """The run's first fault kind, from a child process: without the guard the code
    kills the process it is translated in."""
    script = ("import sys, oracle; r = oracle.run(sys.argv[1]); "
              "print(r.faults[0].kind if r.faults else 'exit %s' % r.exit_code)")
    done = subprocess.run([sys.executable, "-c", script, str(exe)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"the emulator's process died: {done.returncode} {done.stderr}"
    return done.stdout.strip()


def test_unsafe_code_written_into_rwx_segment_is_a_fault(tmp_path: Path) -> None:
    assert _run_in_child(_build(tmp_path, "unsafe", UNSAFE_64)) == "unsupported"


def test_unsafe_code_stored_into_an_open_page_is_a_fault(tmp_path: Path) -> None:
    assert _run_in_child(_build(tmp_path, "unsafe2", UNSAFE_SAME_PAGE_64)) == "unsupported"


def test_unsafe_code_written_after_mprotect_is_a_fault(tmp_path: Path) -> None:
    exe = _build(tmp_path, "mprot", MPROTECT_64, omagic=False)
    assert _run_in_child(exe) == "unsupported"
