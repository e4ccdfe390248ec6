"""Workload A's dynamic variant: objects that import from libc.so.6 (PLT, GOT, COPY).

Each object defines `g<m>`, which adds up values only libc can supply but that do not depend
on the environment: `strlen` and `atoi` of strings of ours (called through the PLT, through
the GOT and through a function pointer in .data), `abs`, and the initial values of libc's
data objects `optind`, `opterr` (both 1) and `tzname` ({"GMT", "GMT"}), read pc-relatively
and absolutely (COPY relocations) and through the GOT (GLOB_DAT).

The program is linked without crt files: ld.so initialises libc.so.6 before it jumps to our
`_start`, which is all these functions need.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.many_objects import MASK64, AsmFile, function_text, render

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"


class _Parts:
    """The three sections' lines of one import object and a label counter."""

    def __init__(self) -> None:
        self.code: list[str] = []
        self.data: list[str] = []
        self.rodata: list[str] = []
        self.label = 0

    def fresh(self) -> str:
        self.label += 1
        return f".Li{self.label}"

    def string(self, text: str) -> str:
        label = self.fresh()
        self.rodata.append(f'{label}: .asciz "{text}"')
        return label


# An import edge appends instructions and returns (relocations emitted, value added).
ImportEdge = Callable[[_Parts, random.Random], tuple[int, int]]


def _strlen_plt(p: _Parts, rng: random.Random) -> tuple[int, int]:
    text = "x" * rng.randrange(1, 40)
    p.code += [f"lea {p.string(text)}(%rip), %rdi", "call strlen@PLT", "add %rax, %r12"]
    return 2, len(text)


def _strlen_got(p: _Parts, rng: random.Random) -> tuple[int, int]:
    text = "y" * rng.randrange(1, 40)
    p.code += [f"lea {p.string(text)}(%rip), %rdi", "call *strlen@GOTPCREL(%rip)",
               "add %rax, %r12"]
    return 2, len(text)


def _atoi_plt(p: _Parts, rng: random.Random) -> tuple[int, int]:
    value = rng.randrange(0, 1 << 30)
    # int result: zero-extend %eax, the upper half of %rax is not part of the return value.
    p.code += [f"lea {p.string(str(value))}(%rip), %rdi", "call atoi", "mov %eax, %eax",
               "add %rax, %r12"]
    return 2, value


def _abs_pointer(p: _Parts, rng: random.Random) -> tuple[int, int]:
    value = rng.randrange(1, 1 << 30)
    slot = p.fresh()
    p.data.append(f"{slot}: .quad abs")  # a pointer to an import in writable data
    p.code += [f"mov ${-value}, %edi", f"call *{slot}(%rip)", "mov %eax, %eax",
               "add %rax, %r12"]
    return 2, value


def _optind_copy(p: _Parts, rng: random.Random) -> tuple[int, int]:
    p.code += ["movslq optind(%rip), %rax", "add %rax, %r12"]  # PC32 to libc data: COPY
    return 1, 1


def _opterr_absolute(p: _Parts, rng: random.Random) -> tuple[int, int]:
    p.code += ["movslq opterr, %rax", "add %rax, %r12"]  # 32S to libc data: COPY
    return 1, 1


def _tzname_got(p: _Parts, rng: random.Random) -> tuple[int, int]:
    p.code += ["mov tzname@GOTPCREL(%rip), %rax", "mov (%rax), %rax", "movzbl (%rax), %eax",
               "add %rax, %r12"]  # GLOB_DAT; tzname[0][0] == 'G'
    return 1, ord("G")


def _tzname_pc(p: _Parts, rng: random.Random) -> tuple[int, int]:
    p.code += ["mov tzname+8(%rip), %rax", "movzbl 1(%rax), %eax", "add %rax, %r12"]
    return 1, ord("M")  # tzname[1][1]


IMPORT_EDGES: tuple[ImportEdge, ...] = (
    _strlen_plt, _strlen_got, _atoi_plt, _abs_pointer, _optind_copy, _opterr_absolute,
    _tzname_got, _tzname_pc,
)


def generate_imports(objects: int, edges_per_object: int, seed: int) -> list[AsmFile]:
    """`objects` files i00000..., each defining g<m> with `edges_per_object` import edges."""
    rng = random.Random(seed ^ 0x5EED)
    files = []
    for m in range(objects):
        parts = _Parts()
        relocs = value = 0
        for _ in range(edges_per_object):
            n, v = rng.choice(IMPORT_EDGES)(parts, rng)
            relocs += n
            value = (value + v) & MASK64
        text = render(function_text(f"g{m}", parts.code), parts.data, parts.rodata)
        files.append(AsmFile(f"i{m:05d}", text, relocs, value))
    return files
