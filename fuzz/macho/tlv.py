"""Thread-local variables on Mach-O (x86-64 and i386): drawn programs, their model, their
assembly and their links.

A case defines one to three `_Thread_local`-style variables across two objects, each
initialised (`__thread_data`) or zero (`__thread_bss`, `.tbss`), of 1..4 words and
alignment 4..16, and runs blocks of steps.  A step reads or writes one word of one variable
the way clang compiles it: the address of the variable's descriptor in __thread_vars
(`_v@TLVP`: X86_64_RELOC_TLV / GENERIC_RELOC_TLV), a call through its thunk (descriptor
in %rdi / %eax, the thread's copy of the variable back in %rax / %eax), then a plain load
or store.  Every load passes the word read to libtrace1's `lt1_f1_a1`, so each value read
is in the trace.  A block runs on the main thread, or on a new thread made with
pthread_create and joined at once, which must see its own copy: the initial image and
zeros, not what the main thread wrote.  On i386 the first object's code may take
`-mdynamic-no-pic`'s absolute form of the descriptor load (GENERIC_RELOC_TLV, not
pc-relative), the second's staying pc-relative.

The model (`expected_trace`) interprets the case; the executable is linked twice, with
dyld-info opcodes and with chained fixups (x86-64; i386 has no chained fixups), and each
must give the model's trace.  The objects come from our assembly text through llvm-mc-14,
or (x86-64) from fuzz/macho/tlv_writer.py through our own MH_OBJECT writer.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

from linker import link

from .pipeline import LIBSYSTEM_TBD
from .tbd import install_name

TRACE_LIBRARY = 1
TRACE_FUNCTION = "lt1_f1_a1"
LLVM_MC = {"x86_64": "-triple=x86_64-apple-macosx10.9", "i386": "-triple=i386-apple-macosx10.7"}


@dataclass(frozen=True)
class TlvVar:
    name: str  # C name; the symbol is `_` + name
    owner: int  # the object (0 or 1) that defines it
    words: tuple[int, ...]  # initial 32-bit words; all 0: __thread_bss
    align: int

    @property
    def zero(self) -> bool:
        return not any(self.words)


@dataclass(frozen=True)
class TlvStep:
    var: int
    word: int
    store: int | None  # the value written; None: a load, whose value goes to the trace


@dataclass(frozen=True)
class TlvBlock:
    owner: int  # the object whose function runs the steps
    thread: bool  # on a new thread (pthread_create, joined at once)
    steps: tuple[TlvStep, ...]


@dataclass(frozen=True)
class TlvCase:
    arch: str  # "x86_64" or "i386"
    variables: tuple[TlvVar, ...]
    blocks: tuple[TlvBlock, ...]
    # i386: object 0's loads take -mdynamic-no-pic's absolute form (`movl _v@TLVP, %eax`,
    # and `movl _v@TLVP, %ecx` before a store), object 1's stay pc-relative
    absolute: bool = False


@st.composite
def tlv_cases(draw: st.DrawFn, arch: str = "x86_64") -> TlvCase:
    variables = []
    for k in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 4))
        zero = draw(st.booleans())
        words = (0,) * n if zero else tuple(draw(st.integers(1, 0xFFFFFFFF)) for _ in range(n))
        variables.append(TlvVar(f"lh_t{k}", draw(st.integers(0, 1)), words,
                                draw(st.sampled_from((4, 8, 16)))))
    step = st.integers(0, len(variables) - 1).flatmap(lambda v: st.builds(
        TlvStep, st.just(v), st.integers(0, len(variables[v].words) - 1),
        st.none() | st.integers(0, 0xFFFFFFFF)))
    blocks = draw(st.lists(st.builds(TlvBlock, st.integers(0, 1), st.booleans(),
                                     st.lists(step, min_size=1, max_size=5).map(tuple)),
                           min_size=1, max_size=4))
    # i386 only, and drawn last: the x86-64 cases and the rest of an i386 case are as before
    absolute = draw(st.booleans()) if arch == "i386" else False
    return TlvCase(arch, tuple(variables), tuple(blocks), absolute)


def sample(arch: str) -> TlvCase:
    """Every flavour in one case: data and bss variables defined in both objects, reached
    from both, stores read back, and a thread that sees its own fresh copy."""
    variables = (TlvVar("lh_t0", 0, (0x11111111, 0x22222222), 8),
                 TlvVar("lh_t1", 1, (0, 0, 0), 16),
                 TlvVar("lh_t2", 1, (0x33333333,), 4))
    main = TlvBlock(0, False, (TlvStep(0, 1, None), TlvStep(1, 2, 0xDEADBEEF),
                               TlvStep(2, 0, None), TlvStep(1, 2, None), TlvStep(0, 0, 7)))
    other = TlvBlock(1, True, (TlvStep(1, 2, None), TlvStep(0, 0, None),
                                           TlvStep(2, 0, 0x44), TlvStep(2, 0, None)))
    again = TlvBlock(1, False, (TlvStep(0, 0, None), TlvStep(2, 0, None),
                                TlvStep(1, 1, None), TlvStep(1, 2, None)))
    return TlvCase(arch, variables, (main, other, again))


def absolute_sample() -> TlvCase:
    """i386's sample with object 0's loads absolute (-mdynamic-no-pic): eax's form for the
    loads, another register's for the stores, both relaxed to the descriptor's address."""
    return replace(sample("i386"), absolute=True)


def aligned_bss_find(arch: str) -> TlvCase:
    """The fuzzers' shrunk find: a 16-aligned __thread_bss variable after a 4-byte
    __thread_data one.  linkharness started the template at __thread_data's own alignment,
    so in each thread's (16-aligned) copy the bss variable sat 8 bytes off its alignment."""
    return TlvCase(arch, (TlvVar("lh_t0", 0, (0,), 16), TlvVar("lh_t1", 0, (1,), 4)),
                   (TlvBlock(0, False, (TlvStep(0, 0, None),)),))


def expected_trace(case: TlvCase) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """What the program must pass to the trace function, in order: the main thread keeps
    one copy of every variable throughout; each new thread starts from the template."""
    initial = [list(v.words) for v in case.variables]
    main = [list(w) for w in initial]
    trace = []
    for block in case.blocks:
        copy = [list(w) for w in initial] if block.thread else main
        for s in block.steps:
            if s.store is None:
                trace.append((install_name(TRACE_LIBRARY), TRACE_FUNCTION,
                              (copy[s.var][s.word],)))
            else:
                copy[s.var][s.word] = s.store
    return tuple(trace)


def describe(case: TlvCase) -> set[str]:
    labels = {f"tlv:{case.arch}"}
    if True in encodings(case):
        labels.add("fixups:chained")  # linked both ways, judged alike
    labels |= {"tlv:bss" if v.zero else "tlv:data" for v in case.variables}
    if any(b.thread for b in case.blocks):
        labels.add("tlv:thread")
    if any(b.owner != case.variables[s.var].owner for b in case.blocks for s in b.steps):
        labels.add("tlv:other_object")
    if any(s.store is not None for b in case.blocks for s in b.steps):
        labels.add("tlv:store")
    if case.absolute and any(b.owner == 0 for b in case.blocks):
        labels.add("tlv:i386:absolute")
    return labels


# --- assembly -----------------------------------------------------------------------

# The thunk clobbers only rax / eax (clang keeps values in other registers across it), and
# the address it returns is aligned as the variable is (the thread's block is 16-aligned):
# a load sets ecx and edx to these before the call, and after it adds to the word read
# what ecx and edx lost and the address's misalignment, all 0 when right, so a thunk that
# clobbers either register or a misplaced variable gives a wrong value in the trace.
KEPT_ECX, KEPT_EDX = 0x1234567, 0x7654321


def _deviation(align: int, address: str) -> list[str]:
    """edx := (ecx - KEPT_ECX) + (edx - KEPT_EDX) + (address & (align - 1)); ecx clobbered."""
    return [f"subl ${KEPT_ECX:#x}, %ecx", f"subl ${KEPT_EDX:#x}, %edx", "addl %ecx, %edx",
            f"movl {address}, %ecx", f"andl ${align - 1}, %ecx", "addl %ecx, %edx"]


def _step_x86_64(v: TlvVar, s: TlvStep) -> list[str]:
    lines = [f"movq _{v.name}@TLVP(%rip), %rdi", "callq *(%rdi)"]
    if s.store is None:
        return [f"movl ${KEPT_ECX:#x}, %ecx", f"movl ${KEPT_EDX:#x}, %edx", *lines,
                *_deviation(v.align, "%eax"), f"movl {4 * s.word}(%rax), %edi",
                "addl %edx, %edi", f"callq _{TRACE_FUNCTION}"]
    return [*lines, f"movl ${s.store:#x}, {4 * s.word}(%rax)"]


def _step_i386(v: TlvVar, s: TlvStep, pic: str, absolute: bool) -> list[str]:
    # clang's form: the descriptor's address pc-relative to the pic base in %ebx; the thunk
    # takes the descriptor in %eax and returns the variable's address in %eax.  Absolute
    # (-mdynamic-no-pic): eax's own encoding (0xa1) for a load, another register's (0x8b)
    # before a store, where ecx is free
    if not absolute:
        load = [f"movl _{v.name}@TLVP-{pic}(%ebx), %eax"]
    elif s.store is None:
        load = [f"movl _{v.name}@TLVP, %eax"]
    else:
        load = [f"movl _{v.name}@TLVP, %ecx", "movl %ecx, %eax"]
    lines = [*load, "calll *(%eax)"]
    if s.store is None:
        return [f"movl ${KEPT_ECX:#x}, %ecx", f"movl ${KEPT_EDX:#x}, %edx", *lines,
                *_deviation(v.align, "%eax"), f"addl {4 * s.word}(%eax), %edx",
                "movl %edx, (%esp)", f"calll _{TRACE_FUNCTION}"]
    return [*lines, f"movl ${s.store:#x}, {4 * s.word}(%eax)"]


def _block(case: TlvCase, n: int, block: TlvBlock) -> list[str]:
    name = f"_lh_tlv_block{n}"
    head = [".p2align 4", f".globl {name}", f"{name}:"]
    if case.arch == "x86_64":
        body = [line for s in block.steps
                for line in _step_x86_64(case.variables[s.var], s)]
        return [*head, "pushq %rbx", *body, "xorl %eax, %eax", "popq %rbx", "retq"]
    pic = f"L{n}$pb"
    absolute = case.absolute and block.owner == 0
    body = [line for s in block.steps
            for line in _step_i386(case.variables[s.var], s, pic, absolute)]
    return [*head, "pushl %ebp", "movl %esp, %ebp", "pushl %ebx", "subl $20, %esp",
            f"calll {pic}", f"{pic}:", "popl %ebx", *body, "xorl %eax, %eax",
            "addl $20, %esp", "popl %ebx", "popl %ebp", "retl"]


def _start(case: TlvCase) -> list[str]:
    lines = [".p2align 4", ".globl _start", "_start:"]
    if case.arch == "i386":
        # 16(%esp): the pthread_t; below it the calls' arguments, esp 16-aligned at each
        lines += ["andl $-16, %esp", "subl $32, %esp"]
        for n, block in enumerate(case.blocks):
            if block.thread:
                lines += ["leal 16(%esp), %eax", "movl %eax, (%esp)", "movl $0, 4(%esp)",
                          f"movl $_lh_tlv_block{n}, 8(%esp)", "movl $0, 12(%esp)",
                          "calll _pthread_create", "movl 16(%esp), %eax",
                          "movl %eax, (%esp)", "movl $0, 4(%esp)", "calll _pthread_join"]
            else:
                lines.append(f"calll _lh_tlv_block{n}")
        return [*lines, "pushl $0", "pushl $0", "movl $1, %eax", "int $0x80"]
    lines += ["andq $-16, %rsp", "subq $16, %rsp"]  # (%rsp): the pthread_t
    for n, block in enumerate(case.blocks):
        if block.thread:
            lines += ["movq %rsp, %rdi", "xorl %esi, %esi",
                      f"leaq _lh_tlv_block{n}(%rip), %rdx", "xorl %ecx, %ecx",
                      "callq _pthread_create", "movq (%rsp), %rdi", "xorl %esi, %esi",
                      "callq _pthread_join"]
        else:
            lines.append(f"callq _lh_tlv_block{n}")
    return [*lines, "movl $0x2000001, %eax", "xorl %edi, %edi", "syscall"]


def _variable(v: TlvVar, word: int) -> list[str]:
    init = f"_{v.name}$tlv$init"
    size = 4 * len(v.words)
    log2 = v.align.bit_length() - 1
    if v.zero:
        lines = [f".tbss {init}, {size}, {log2}"]
    else:
        lines = [".section __DATA,__thread_data,thread_local_regular", f".p2align {log2}",
                 f"{init}:", *(f".long {w:#x}" for w in v.words)]
    directive = ".quad" if word == 8 else ".long"
    return [*lines, ".section __DATA,__thread_vars,thread_local_variables",
            f".p2align {word.bit_length() - 1}", f".globl _{v.name}", f"_{v.name}:",
            f"{directive} __tlv_bootstrap", f"{directive} 0", f"{directive} {init}"]


def object_texts(case: TlvCase) -> list[str]:
    """The assembly of objects 0 (with `_start`) and 1."""
    word = 8 if case.arch == "x86_64" else 4
    texts = []
    for owner in (0, 1):
        lines = [".section __TEXT,__text,regular,pure_instructions"]
        if owner == 0:
            lines += _start(case)
        for n, block in enumerate(case.blocks):
            if block.owner == owner:
                lines += _block(case, n, block)
        for v in case.variables:
            if v.owner == owner:
                lines += _variable(v, word)
        texts.append("\n".join([*lines, ".subsections_via_symbols", ""]))
    return texts


def write_objects(case: TlvCase, directory: Path, own_writer: bool = False) -> list[Path]:
    """The case's two objects: assembled by llvm-mc-14 from `object_texts`, or (x86-64,
    `own_writer`) written by fuzz/macho/tlv_writer.py through our MH_OBJECT writer."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    if own_writer:
        from .tlv_writer import object_bytes  # it encodes this module's instructions
        for n in (0, 1):
            obj = directory / f"t{n}.o"
            obj.write_bytes(object_bytes(case, n))
            out.append(obj)
        return out
    for n, text in enumerate(object_texts(case)):
        src, obj = directory / f"t{n}.s", directory / f"t{n}.o"
        src.write_text(text)
        subprocess.run(["llvm-mc-14", LLVM_MC[case.arch], "-filetype=obj", "-o", str(obj),
                        str(src)], check=True, capture_output=True)
        out.append(obj)
    return out


def encodings(case: TlvCase) -> tuple[bool, ...]:
    """The fixup encodings each case is linked with: dyld-info opcodes (False) and, on
    x86-64, chained fixups (True)."""
    return (False, True) if case.arch == "x86_64" else (False,)


def link_case(objects: Sequence[Path], stubs: Sequence[Path], output: Path, arch: str,
              chained: bool) -> None:
    """Link with linkharness (raises LinkError), entry `_start`; i386 as macOS 10.9 (LC_MAIN
    and dyld info)."""
    link([*map(str, objects), *map(str, stubs), str(LIBSYSTEM_TBD)], output,
         target=f"macho-{arch}", entry="_start", fixup_chains=chained)
