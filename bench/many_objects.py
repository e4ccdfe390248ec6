"""Workload A's program: many small objects whose exit status proves the link right.

Object i defines a function `f<i>`, a few leaf functions `leaf<i>_<k>` (each returns a
constant) and a few data words `d<i>_<k>`. `f<i>` adds up values it reaches through
*edges*, one relocation flavour each (a PLT32 call, a GOTPCRELX load, a pointer in .data, a
.rodata call table, ...), to leaves and data of randomly chosen objects. `_start` calls every
`f<i>`, compares the 64-bit sum with the one computed here, and exits 42 when they agree: a
linker that gets a single relocation wrong makes the program exit 1 (or crash).

Everything is drawn from one seeded `random.Random`, so the same parameters give the same
assembly text byte for byte (the object cache relies on that).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

MASK64 = (1 << 64) - 1
EXIT_OK = 42  # the status of a correctly linked program; 1 means the checksum disagreed
NOTE_GNU_STACK = '\t.section .note.GNU-stack,"",@progbits\n'


@dataclass(frozen=True)
class ManyObjectsParams:
    """What the generator draws from; the object cache is keyed by these fields."""

    objects: int = 2000
    relocs_per_object: int = 100
    leaves_per_object: int = 4
    data_per_object: int = 4
    seed: int = 1


@dataclass(frozen=True)
class AsmFile:
    """One assembly source: its file stem, text and how many relocations it carries."""

    stem: str
    text: str
    relocs: int
    value: int  # what its function adds to the checksum (mod 2**64); 0 for _start


@dataclass
class _Body:
    """The pieces of one object's assembly as edges append to them."""

    code: list[str]
    data: list[str]
    rodata: list[str]
    label: int = 0

    def fresh(self, stem: str) -> str:
        self.label += 1
        return f".L{stem}{self.label}"


@dataclass(frozen=True)
class _Universe:
    """Every leaf's and data word's value, indexed [object][k]."""

    leaves: list[list[int]]
    data: list[list[int]]


# An edge appends its instructions, returns (relocations emitted, value added to %r12).
Edge = Callable[[_Body, random.Random, _Universe], tuple[int, int]]


def _pick_leaf(rng: random.Random, u: _Universe) -> tuple[str, int]:
    i = rng.randrange(len(u.leaves))
    k = rng.randrange(len(u.leaves[i]))
    return f"leaf{i}_{k}", u.leaves[i][k]


def _pick_data(rng: random.Random, u: _Universe) -> tuple[str, int]:
    i = rng.randrange(len(u.data))
    k = rng.randrange(len(u.data[i]))
    return f"d{i}_{k}", u.data[i][k]


def _call_plt(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_leaf(rng, u)
    b.code += [f"call {name}", "add %rax, %r12"]  # R_X86_64_PLT32
    return 1, value


def _call_pc(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_leaf(rng, u)
    b.code += [f"lea {name}(%rip), %rax", "call *%rax", "add %rax, %r12"]  # R_X86_64_PC32
    return 1, value


def _call_got(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_leaf(rng, u)
    b.code += [f"call *{name}@GOTPCREL(%rip)", "add %rax, %r12"]  # R_X86_64_GOTPCRELX
    return 1, value


def _load_pc(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_data(rng, u)
    b.code += [f"mov {name}(%rip), %rax", "add %rax, %r12"]  # R_X86_64_PC32
    return 1, value


def _load_32s(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_data(rng, u)
    b.code += [f"mov {name}, %rax", "add %rax, %r12"]  # R_X86_64_32S (absolute disp32)
    return 1, value


def _load_got(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_data(rng, u)
    # R_X86_64_REX_GOTPCRELX: a static link may relax it to `lea` or `mov $imm`.
    b.code += [f"mov {name}@GOTPCREL(%rip), %rax", "mov (%rax), %rax", "add %rax, %r12"]
    return 1, value


def _data_pointer(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_data(rng, u)
    slot = b.fresh("p")
    b.data += [f"{slot}: .quad {name}"]  # R_X86_64_64
    b.code += [f"mov {slot}(%rip), %rax", "mov (%rax), %rax", "add %rax, %r12"]  # + PC32
    return 2, value


def _rodata_call(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_leaf(rng, u)
    slot = b.fresh("t")
    b.rodata += [f"{slot}: .quad {name}"]  # R_X86_64_64 in .rodata (a function table)
    b.code += [f"call *{slot}(%rip)", "add %rax, %r12"]  # + PC32
    return 2, value


def _rodata_offset(b: _Body, rng: random.Random, u: _Universe) -> tuple[int, int]:
    name, value = _pick_data(rng, u)
    slot = b.fresh("o")
    b.rodata += [f"{slot}: .long {name} - ."]  # R_X86_64_PC32 in .rodata (a relative table)
    b.code += [f"lea {slot}(%rip), %rcx", "movslq (%rcx), %rax", "add %rcx, %rax",
               "mov (%rax), %rax", "add %rax, %r12"]  # + PC32
    return 2, value


# Weights chosen so PLT32 and PC32 dominate, as in compiled C, with every flavour present.
EDGES: tuple[tuple[Edge, int], ...] = (
    (_call_plt, 25), (_call_pc, 5), (_call_got, 7), (_load_pc, 10), (_load_32s, 10),
    (_load_got, 8), (_data_pointer, 12), (_rodata_call, 8), (_rodata_offset, 5),
)


def function_text(name: str, code: list[str]) -> list[str]:
    """`name` saves %r12 (the accumulator), runs `code` and returns %r12.

    Two pushes after the return address keep %rsp 16-byte aligned at every inner call,
    as the psABI requires of calls into libc in the dynamic variant.
    """
    return [f".globl {name}", f".type {name}, @function", f"{name}:", "push %r12",
            "push %r13", "xor %r12d, %r12d", *code, "mov %r12, %rax", "pop %r13",
            "pop %r12", "ret", f".size {name}, .-{name}"]


def render(code: list[str], data: list[str], rodata: list[str]) -> str:
    """Assembly text for one object from its three sections' lines."""
    out = ["\t.text", *code]
    if rodata:
        out += ["\t.section .rodata", "\t.p2align 3", *rodata]
    if data:
        out += ["\t.data", "\t.p2align 3", *data]
    return "\n".join(line if line.endswith(":") or line.startswith("\t") else "\t" + line
                     for line in out) + "\n" + NOTE_GNU_STACK


def _object(i: int, params: ManyObjectsParams, rng: random.Random, u: _Universe) -> AsmFile:
    body = _Body([], [], [])
    relocs = value = 0
    edges, weights = zip(*EDGES, strict=True)
    while relocs < params.relocs_per_object:
        (edge,) = rng.choices(edges, weights)
        n, v = edge(body, rng, u)
        relocs += n
        value = (value + v) & MASK64
    code = function_text(f"f{i}", body.code)
    for k, c in enumerate(u.leaves[i]):
        code += [f".globl leaf{i}_{k}", f".type leaf{i}_{k}, @function", f"leaf{i}_{k}:",
                 f"mov ${c}, %eax", "ret"]
    data = [*body.data]
    for k, d in enumerate(u.data[i]):
        data += [f".globl d{i}_{k}", f".type d{i}_{k}, @object", f".size d{i}_{k}, 8",
                 f"d{i}_{k}: .quad {d}"]
    return AsmFile(f"m{i:05d}", render(code, data, body.rodata), relocs, value)


def start_object(stem: str, callees: list[str], expected: int) -> AsmFile:
    """`_start`: call every function, exit EXIT_OK when the sum is `expected`, else 1."""
    code = [".globl _start", ".type _start, @function", "_start:", "xor %r15d, %r15d"]
    for name in callees:
        code += [f"call {name}", "add %rax, %r15"]
    code += [f"movabs ${expected}, %rax", "cmp %rax, %r15", f"mov ${EXIT_OK}, %edi",
             "mov $1, %eax", "cmovne %eax, %edi", "mov $231, %eax",  # exit_group
             "syscall", "hlt"]
    return AsmFile(stem, render(code, [], []), len(callees), 0)


def generate(params: ManyObjectsParams) -> list[AsmFile]:
    """The objects m00000...; `start_object` makes the `_start` that calls their f<i>."""
    rng = random.Random(params.seed)
    universe = _Universe(
        leaves=[[rng.randrange(1, 1 << 31) for _ in range(params.leaves_per_object)]
                for _ in range(params.objects)],
        data=[[rng.getrandbits(64) for _ in range(params.data_per_object)]
              for _ in range(params.objects)],
    )
    return [_object(i, params, rng, universe) for i in range(params.objects)]


def checksum(files: list[AsmFile]) -> int:
    """The sum `_start` must see after calling every function of `files`."""
    return sum(f.value for f in files) & MASK64
