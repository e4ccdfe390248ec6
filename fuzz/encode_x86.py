"""A small x86-64 instruction set: the few forms the lowered programs use, each with its
machine encoding (and relocation sites) and its GNU-as (AT&T) spelling.

Both spellings come from the same `Insn`, so assembling the text with GNU as or llvm-mc and
encoding it here must give programs that behave the same; that comparison keeps this encoder
honest.  Register use: rbx holds a function's accumulator, rax the value of a step, rdi..r9
the arguments of a call, r11 the GOT base (never an argument register).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

GOT_SYMBOL = "_GLOBAL_OFFSET_TABLE_"


@dataclass(frozen=True)
class Sym:
    """A symbolic operand: the address of `name` plus `addend`."""

    name: str
    addend: int = 0

    def text(self) -> str:
        return f"{self.name}{self.addend:+d}" if self.addend else self.name


@dataclass(frozen=True)
class Insn:
    op: str
    sym: Sym | None = None
    imm: int = 0  # immediate or displacement
    width: int = 4  # access width of loads
    reg: int = 0  # argument register number (1 = rsi .. 5 = r9) of mov_arg_imm
    reloc: str = ""  # relocation type of the symbolic field, where the op lets it vary
    body: tuple[Insn, ...] = ()


@dataclass(frozen=True)
class Fixup:
    """A relocation site: `offset` within the encoded bytes, relocation `type`, and the
    symbol and addend the relocation must carry."""

    offset: int
    type: str
    name: str
    addend: int


# Fixed instructions: (bytes, AT&T text).
FIXED: dict[str, tuple[bytes, str]] = {
    "push_rbx": (b"\x53", "pushq %rbx"),
    "pop_rbx": (b"\x5b", "popq %rbx"),
    "ret": (b"\xc3", "ret"),
    "mov_rax_rbx": (b"\x48\x89\xd8", "movq %rbx, %rax"),
    "mov_edi_ebx": (b"\x89\xdf", "movl %ebx, %edi"),  # acc's low half, zero-extended
    "imul_rbx_31": (b"\x48\x6b\xdb\x1f", "imulq $31, %rbx, %rbx"),
    "add_rbx_rax": (b"\x48\x01\xc3", "addq %rax, %rbx"),
    "call_rax": (b"\xff\xd0", "call *%rax"),
    "add_rax_r11": (b"\x4c\x01\xd8", "addq %r11, %rax"),
    "and_rsp_16": (b"\x48\x83\xe4\xf0", "andq $-16, %rsp"),
    "mov_edi_eax": (b"\x89\xc7", "movl %eax, %edi"),
    "and_edi_255": (b"\x81\xe7\xff\x00\x00\x00", "andl $255, %edi"),
    "mov_eax_231": (b"\xb8\xe7\x00\x00\x00", "movl $231, %eax"),
    "syscall": (b"\x0f\x05", "syscall"),
    # rax = (rax != 0): C's `if (&f)` on a weak reference
    "nonnull_rax": (b"\x48\x85\xc0\x0f\x95\xc0\x0f\xb6\xc0",
                    "testq %rax, %rax; setne %al; movzbl %al, %eax"),
}

# Loads into eax/rax: opcode bytes and mnemonic per access width (1 and 2 zero-extend).
LOAD_OPCODE = {1: b"\x0f\xb6", 2: b"\x0f\xb7", 4: b"\x8b", 8: b"\x48\x8b"}
LOAD_MNEMONIC = {1: "movzbl", 2: "movzwl", 4: "movl", 8: "movq"}
# Argument registers 2..6 loaded with a 32-bit immediate (zero-extending mov r32, imm32).
ARG_MOV = {1: (b"\xbe", "%esi"), 2: (b"\xba", "%edx"), 3: (b"\xb9", "%ecx"),
           4: (b"\x41\xb8", "%r8d"), 5: (b"\x41\xb9", "%r9d")}


# `jmp *f@GOTPCREL(%rip)`, the -fno-plt tail call, reached by a call to a local trampoline so
# that f returns to the caller: call +2 (over the short jmp); jmp +6 (over the trampoline);
# then the trampoline's ff 25 and its field.
GOT_JUMP_PREFIX = b"\xe8\x02\x00\x00\x00\xeb\x06\xff\x25"


def _dest(width: int) -> str:
    return "%rax" if width == 8 else "%eax"


def _field(prefix: bytes, reloc: str, sym: Sym, pc_relative: bool) -> tuple[bytes, list[Fixup]]:
    """`prefix` followed by a 4-byte field relocated against `sym`.  A pc-relative field ends
    every instruction form used here, so its addend is biased by -4 (P is the field)."""
    addend = sym.addend - 4 if pc_relative else sym.addend
    return prefix + bytes(4), [Fixup(len(prefix), reloc, sym.name, addend)]


# Encodings of instructions with a symbol, by the instruction's identity: the lowering
# makes most of them once per (symbol, offset, form) and reuses them (fuzz.lower_x86's
# cached sequences), so consecutive programs encode the same objects again.  Each entry
# holds its instruction, so that an id is never another's while the entry lives.
_ENCODED: dict[int, tuple[Insn, bytes, list[Fixup]]] = {}
_ENCODED_MAX = 16384  # entries; cleared whole when full


def encode(insn: Insn) -> tuple[bytes, list[Fixup]]:
    """Machine bytes of `insn` and its relocation sites (the list is shared: read it)."""
    fixed = FIXED.get(insn.op)
    if fixed is not None:
        return fixed[0], []
    known = _ENCODED.get(id(insn))
    if known is not None and known[0] is insn:
        return known[1], known[2]
    form = _FORMS.get(insn.op)
    if form is None:
        raise ValueError(f"unknown instruction {insn.op}")
    code, fixups = form(insn)
    if insn.sym is not None and not insn.body:
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        _ENCODED[id(insn)] = (insn, code, fixups)
    return code, fixups


def _skip_if_even(insn: Insn) -> tuple[bytes, list[Fixup]]:
    inner = [encode(i) for i in insn.body]
    code = b"".join(c for c, _ in inner)
    assert len(code) < 128, "an IfOdd body must fit a rel8 jump"
    head = b"\xf6\xc3\x01\x74" + bytes([len(code)])  # test $1,%bl; jz over the body
    fixups: list[Fixup] = []
    at = len(head)
    for c, fs in inner:
        fixups += [Fixup(at + f.offset, f.type, f.name, f.addend) for f in fs]
        at += len(c)
    return head + code, fixups


def _symbolic(insn: Insn) -> Sym:
    assert insn.sym is not None, insn.op
    return insn.sym


# The instructions with operands, by op: what encode() does for each (FIXED has the rest).
_FORMS: dict[str, Callable[[Insn], tuple[bytes, list[Fixup]]]] = {
    "mov_ebx_imm": lambda i: (b"\xbb" + struct.pack("<I", i.imm), []),
    "mov_arg_imm": lambda i: (ARG_MOV[i.reg][0] + struct.pack("<I", i.imm), []),
    "and_rax_imm": lambda i: (b"\x48\x25" + struct.pack("<i", i.imm), []),
    "load_rax": lambda i: (LOAD_OPCODE[i.width] + b"\x80" + struct.pack("<i", i.imm), []),
    "store_rax": lambda i: (b"\x89\x98" + struct.pack("<i", i.imm), []),
    "skip_if_even": _skip_if_even,
    # r11 = _GLOBAL_OFFSET_TABLE_ (R_X86_64_GOTPC32)
    "lea_r11_got_base": lambda i: _field(b"\x4c\x8d\x1d", "R_X86_64_GOTPC32",
                                         Sym(GOT_SYMBOL), True),
    "call": lambda i: _field(b"\xe8", i.reloc, _symbolic(i), True),
    # rax = sym - GOT base (R_X86_64_GOTOFF64)
    "movabs_rax_gotoff": lambda i: (b"\x48\xb8" + bytes(8), [Fixup(
        2, "R_X86_64_GOTOFF64", _symbolic(i).name, _symbolic(i).addend)]),
    # rax = [r11 + slot offset] (R_X86_64_GOT32)
    "mov_rax_got_r11": lambda i: _field(b"\x49\x8b\x83", "R_X86_64_GOT32", _symbolic(i),
                                        False),
    "call_got": lambda i: _field(b"\xff\x15", "R_X86_64_GOTPCRELX", _symbolic(i), True),
    # call 1f; jmp 2f; 1: jmp *f@GOTPCREL(%rip); 2:
    "call_got_jump": lambda i: _field(GOT_JUMP_PREFIX, "R_X86_64_GOTPCRELX", _symbolic(i),
                                      True),
    "mov_rax_got": lambda i: _field(b"\x48\x8b\x05", i.reloc, _symbolic(i), True),
    "load_rip": lambda i: _field(LOAD_OPCODE[i.width] + b"\x05", "R_X86_64_PC32",
                                 _symbolic(i), True),
    "load_abs": lambda i: _field(LOAD_OPCODE[i.width] + b"\x04\x25", "R_X86_64_32S",
                                 _symbolic(i), False),
    "mov_eax_sym": lambda i: _field(b"\xb8", "R_X86_64_32", _symbolic(i), False),
    "lea_rax_rip": lambda i: _field(b"\x48\x8d\x05", "R_X86_64_PC32", _symbolic(i), True),
    # movq $sym, %rax: a sign-extended imm32
    "mov_rax_sym_s32": lambda i: _field(b"\x48\xc7\xc0", "R_X86_64_32S", _symbolic(i),
                                        False),
    "store_rip": lambda i: _field(b"\x89\x1d", "R_X86_64_PC32", _symbolic(i), True),
    "store_abs": lambda i: _field(b"\x89\x1c\x25", "R_X86_64_32S", _symbolic(i), False),
}


def assembly(insn: Insn, label: str = "1", local: frozenset[str] = frozenset()) -> list[str]:
    """GNU-as lines for `insn` (also accepted by llvm-mc).  Forms whose relocation an
    assembler would not choose by itself (a PC32 call, a non-relaxable GOTPCREL load) are
    spelled with .byte/.reloc/.long; the text must then declare undefined symbols .globl,
    or llvm-mc 14 drops a symbol named only by .reloc.  llvm-mc also rewrites a .reloc
    against a `local` symbol to its section plus an offset, which is wrong for a GOT slot:
    a strict GOT load of a local symbol is spelled as the relaxable one."""
    op, sym = insn.op, insn.sym
    if op in FIXED:
        return [FIXED[op][1]]
    if op == "mov_ebx_imm":
        return [f"movl ${insn.imm:#x}, %ebx"]
    if op == "mov_arg_imm":
        return [f"movl ${insn.imm:#x}, {ARG_MOV[insn.reg][1]}"]
    if op == "and_rax_imm":
        return [f"andq ${insn.imm:#x}, %rax"]
    if op == "load_rax":
        return [f"{LOAD_MNEMONIC[insn.width]} {insn.imm}(%rax), {_dest(insn.width)}"]
    if op == "store_rax":
        return [f"movl %ebx, {insn.imm}(%rax)"]
    if op == "skip_if_even":
        inner = [line for i in insn.body for line in assembly(i, label, local)]
        return ["testb $1, %bl", f"jz {label}f", *inner, f"{label}:"]
    if op == "lea_r11_got_base":
        return [f"leaq {GOT_SYMBOL}(%rip), %r11"]
    assert sym is not None, op
    if op == "call":
        if insn.reloc == "R_X86_64_PLT32":
            return [f"call {sym.text()}@PLT"]
        # `.long sym - . - 4` would be folded by the assembler when sym is defined in the
        # same section, even a weak sym that another object overrides
        return [".byte 0xe8", f".reloc ., R_X86_64_PC32, {Sym(sym.name, sym.addend - 4).text()}",
                ".long 0"]
    if op == "movabs_rax_gotoff":
        return [f"movabsq ${sym.text()}@GOTOFF, %rax"]
    if op == "mov_rax_got_r11":
        return [f"movq {sym.text()}@GOT(%r11), %rax"]
    if op == "call_got":
        return [f"call *{sym.text()}@GOTPCREL(%rip)"]
    if op == "call_got_jump":
        return ["call 8f", "jmp 9f", f"8: jmp *{sym.text()}@GOTPCREL(%rip)", "9:"]
    if op == "mov_rax_got":
        if insn.reloc == "R_X86_64_REX_GOTPCRELX" or sym.name in local:
            return [f"movq {sym.text()}@GOTPCREL(%rip), %rax"]
        return [".byte 0x48, 0x8b, 0x05", f".reloc ., R_X86_64_GOTPCREL, {sym.name}-4", ".long 0"]
    if op == "load_rip":
        return [f"{LOAD_MNEMONIC[insn.width]} {sym.text()}(%rip), {_dest(insn.width)}"]
    if op == "load_abs":
        return [f"{LOAD_MNEMONIC[insn.width]} {sym.text()}, {_dest(insn.width)}"]
    if op == "mov_eax_sym":
        return [f"movl ${sym.text()}, %eax"]
    if op == "lea_rax_rip":
        return [f"leaq {sym.text()}(%rip), %rax"]
    if op == "mov_rax_sym_s32":
        return [f"movq ${sym.text()}, %rax"]
    if op == "store_rip":
        return [f"movl %ebx, {sym.text()}(%rip)"]
    if op == "store_abs":
        return [f"movl %ebx, {sym.text()}"]
    raise ValueError(f"unknown instruction {op}")
