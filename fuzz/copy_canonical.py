"""COPY relocations with aliases and alignment, and canonical PLT entries with pointer
equality: x86-64 programs against `libreach.so`, a small library of our own, whose checks
are made by the program itself (its exit status is a mask of the checks that failed; the
model says 0).

libreach.so exports `lr_data` (four words, 64-aligned) and its alias `lr_alias`, `lr_read(k)`
(the library's view of word k: through its GOT, so through the executable's copy), `lr_fn`
(x + 1) and `lr_fn_addr()` (&lr_fn as the library sees it: its GOT slot, which ld.so fills
with the executable's canonical PLT entry when the executable took the address).

The program stores a value into word k of one name and loads it through the other (a COPY
per alias would split them: bit 1), asks the library for word k (bit 2), tests the copy's
alignment (bit 4), takes lr_fn's address in each drawn form and compares it with the
library's (bit 8), and calls through it (bit 16).  Run natively: the emulator's libtrace
recorders model neither aliases nor a library's own view of an address.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from .gnu_as import gnu_assemble

LIB_SOURCE = r"""
#include <stdint.h>
int lr_data[4] __attribute__((aligned(64))) = {0x11, 0x22, 0x33, 0x44};
extern int lr_alias[4] __attribute__((weak, alias("lr_data")));  /* as glibc's environ */
int lr_read(int k) { return lr_data[k]; }
int lr_fn(int x) { return x + 1; }
uintptr_t lr_fn_addr(void) { return (uintptr_t)&lr_fn; }
"""
NAMES = ("lr_data", "lr_alias")
DATA_FORMS = ("pc_rel", "abs_s32", "abs_u32", "got")
# how lr_fn's address is taken: pc-relative lea (PC32), movl $ (32), movq $ (32S), a .quad
# in .data (R_X86_64_64), a GOT load (GOTPCREL).  (A .long in data is refused by GNU ld:
# "R_X86_64_32 against symbol `lr_fn' can not be used when making a PDE object".)
FUNCTION_FORMS = ("pc_rel", "abs_u32", "abs_s32", "data_64", "got")
STORED = 0x5EED1234


@dataclass(frozen=True)
class CopyCase:
    store_name: str
    load_name: str
    index: int
    store_form: str
    load_form: str
    align_form: str
    function_forms: tuple[str, ...]


def cases() -> st.SearchStrategy[CopyCase]:
    forms = st.sampled_from(DATA_FORMS)
    return st.builds(CopyCase, st.sampled_from(NAMES), st.sampled_from(NAMES),
                     st.integers(0, 3), forms, forms, forms,
                     st.lists(st.sampled_from(FUNCTION_FORMS), min_size=1, max_size=3,
                              unique=True).map(tuple))


SAMPLES = (  # every form at least once, the alias on both sides
    CopyCase("lr_alias", "lr_data", 3, "pc_rel", "abs_s32", "abs_u32",
             ("abs_u32", "data_64", "got")),
    CopyCase("lr_data", "lr_alias", 1, "abs_u32", "got", "pc_rel",
             ("pc_rel", "abs_s32")),
    CopyCase("lr_alias", "lr_alias", 2, "got", "pc_rel", "got", ("got", "abs_u32")),
)


def describe(case: CopyCase) -> set[str]:
    """The coverage labels of a case (fuzz/inventory.py's COPY and canonical PLT rows)."""
    labels = {"copy:alignment", *(f"canonical:{form}" for form in case.function_forms)}
    if case.store_name != case.load_name:
        labels.add("copy:alias")
    return labels


def _address(name: str, offset: int, form: str) -> list[str]:
    """rax = the address of name+offset."""
    sym = f"{name}+{offset}"
    return {"pc_rel": [f"leaq {sym}(%rip), %rax"], "abs_u32": [f"movl ${sym}, %eax"],
            "abs_s32": [f"movq ${sym}, %rax"],
            "got": [f"movq {name}@GOTPCREL(%rip), %rax", f"addq ${offset}, %rax"]}[form]


def _function_address(form: str, n: int) -> list[str]:
    if form == "data_64":
        return [f"movq lh_fptr{n}(%rip), %rax"]
    return _address("lr_fn", 0, form)[:1]


def _fail_unless_equal(compare: str, bit: int, label: int) -> list[str]:
    return [compare, f"je {label}f", f"orl ${bit}, %r12d", f"{label}:"]


def program_text(case: CopyCase) -> str:
    off = 4 * case.index
    body = ["xorl %r12d, %r12d", f"movl ${STORED:#x}, %ebx"]
    body += [*_address(case.store_name, off, case.store_form), "movl %ebx, (%rax)"]
    body += [*_address(case.load_name, off, case.load_form), "movl (%rax), %eax",
             *_fail_unless_equal("cmpl %ebx, %eax", 1, 1)]
    body += [f"movl ${case.index}, %edi", "call lr_read@PLT",
             *_fail_unless_equal("cmpl %ebx, %eax", 2, 2)]
    body += [*_address("lr_data", 0, case.align_form), "testq $63, %rax", "jz 3f",
             "orl $4, %r12d", "3:"]
    data = []
    for n, form in enumerate(case.function_forms):
        body += [*_function_address(form, n), "movq %rax, %r13", "call lr_fn_addr@PLT",
                 *_fail_unless_equal("cmpq %r13, %rax", 8, 4),
                 "movl $41, %edi", "call *%r13", *_fail_unless_equal("cmpl $42, %eax", 16, 5)]
        if form.startswith("data"):
            data += [f"lh_fptr{n}:", ".quad lr_fn"]
    body += ["movl %r12d, %edi", "movl $231, %eax", "syscall"]
    return "\n".join([".text", ".globl _start", "_start:", "andq $-16, %rsp",
                      *("    " + line for line in body), ".data", ".balign 8", *data,
                      '.section .note.GNU-stack,"",@progbits', ""])


def build_library(directory: Path) -> Path:
    src = directory / "libreach.c"
    src.write_text(LIB_SOURCE)
    lib = directory / "libreach.so"
    subprocess.run(["gcc", "-O1", "-fPIC", "-shared", "-Wl,-soname,libreach.so", "-o",
                    str(lib), str(src)], check=True, capture_output=True)
    return lib


def write_program(case: CopyCase, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return gnu_assemble(program_text(case), directory / "copy.s")
