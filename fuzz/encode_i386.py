"""A small i386 instruction set: the forms the lowered programs use on 32-bit x86, each with
its machine encoding (bytes + relocation sites, REL: the addend is what the field holds)
and its GNU-as (`as --32`) spelling.

Register use: esi:edi hold a function's 64-bit accumulator (low:high), ebx the GOT base
(set by the `__x86.get_pc_thunk.bx` idiom), edx:eax the 64-bit value of a step, ecx is
scratch; esi, edi and ebx are callee-saved in cdecl, so acc and the GOT base survive calls.
Arguments go on the stack (cdecl), pushed right to left with padding that keeps esp
16-byte aligned at every call.  The `Insn` and `Sym` records are fuzz.encode_x86's.
"""

from __future__ import annotations

import struct

from .encode_x86 import GOT_SYMBOL, Fixup, Insn, Sym

PC_THUNK_BX = "__x86.get_pc_thunk.bx"
PC_THUNK_AX = "__x86.get_pc_thunk.ax"
EBX = 3  # `Insn.reg` of a GOT reference: based on %ebx (3), or no base register (0)

FIXED: dict[str, tuple[bytes, str]] = {
    "push_ebx": (b"\x53", "pushl %ebx"),
    "push_esi": (b"\x56", "pushl %esi"),
    "push_edi": (b"\x57", "pushl %edi"),
    "push_eax": (b"\x50", "pushl %eax"),
    "pop_ebx": (b"\x5b", "popl %ebx"),
    "pop_esi": (b"\x5e", "popl %esi"),
    "pop_edi": (b"\x5f", "popl %edi"),
    "pop_eax": (b"\x58", "popl %eax"),
    "ret": (b"\xc3", "ret"),
    "mov_eax_esi": (b"\x89\xf0", "movl %esi, %eax"),
    "mov_edx_edi": (b"\x89\xfa", "movl %edi, %edx"),
    "xor_edx_edx": (b"\x31\xd2", "xorl %edx, %edx"),
    "xor_edi_edi": (b"\x31\xff", "xorl %edi, %edi"),
    "mov_ecx_edx": (b"\x89\xd1", "movl %edx, %ecx"),
    "imul_edi_31": (b"\x6b\xff\x1f", "imull $31, %edi, %edi"),
    "mov_eax_31": (b"\xb8\x1f\x00\x00\x00", "movl $31, %eax"),
    "mul_esi": (b"\xf7\xe6", "mull %esi"),
    "mov_esi_eax": (b"\x89\xc6", "movl %eax, %esi"),
    "add_edi_edx": (b"\x01\xd7", "addl %edx, %edi"),
    "add_esi_eax": (b"\x01\xc6", "addl %eax, %esi"),
    "adc_edi_ecx": (b"\x11\xcf", "adcl %ecx, %edi"),
    "call_eax": (b"\xff\xd0", "call *%eax"),
    "and_esp_16": (b"\x83\xe4\xf0", "andl $-16, %esp"),
    "movzbl_ebx_al": (b"\x0f\xb6\xd8", "movzbl %al, %ebx"),
    "mov_eax_252": (b"\xb8\xfc\x00\x00\x00", "movl $252, %eax"),  # exit_group
    "int_80": (b"\xcd\x80", "int $0x80"),
    "mov_ebx_return_address": (b"\x8b\x1c\x24", "movl (%esp), %ebx"),
    "mov_eax_return_address": (b"\x8b\x04\x24", "movl (%esp), %eax"),
}

# acc (esi:edi) = acc * 31 + edx:eax, mod 2**64: the high half of v is kept in ecx and the
# low half on the stack while `mull` forms the 64-bit product of the low words.
MIX = tuple(Insn(op) for op in (
    "mov_ecx_edx", "push_eax", "imul_edi_31", "mov_eax_31", "mul_esi", "mov_esi_eax",
    "add_edi_edx", "pop_eax", "add_esi_eax", "adc_edi_ecx"))

# Loads into eax through eax (1 and 2 zero-extend): opcode + ModRM [eax + disp32].
LOAD_EAX = {1: b"\x0f\xb6\x80", 2: b"\x0f\xb7\x80", 4: b"\x8b\x80"}
# Loads into eax from an absolute address (moffs form for 4 bytes, as GNU as picks it).
LOAD_ABS = {1: b"\x0f\xb6\x05", 2: b"\x0f\xb7\x05", 4: b"\xa1"}
LOAD_MNEMONIC = {1: "movzbl", 2: "movzwl", 4: "movl"}
# Relocation field widths, for writing the implicit addend into the section (REL).
FIELD_WIDTH = {"R_386_32": 4, "R_386_PC32": 4, "R_386_GOT32": 4, "R_386_PLT32": 4,
               "R_386_GOTOFF": 4, "R_386_GOTPC": 4, "R_386_16": 2, "R_386_PC16": 2,
               "R_386_8": 1, "R_386_PC8": 1, "R_386_GOT32X": 4}


def _field(prefix: bytes, reloc: str, name: str, addend: int) -> tuple[bytes, list[Fixup]]:
    """`prefix` followed by a 4-byte relocated field whose implicit addend is `addend`."""
    return prefix + bytes(4), [Fixup(len(prefix), reloc, name, addend)]


def _imm32(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def _join(parts: list[tuple[bytes, list[Fixup]]]) -> tuple[bytes, list[Fixup]]:
    code = b""
    fixups: list[Fixup] = []
    for c, fs in parts:
        fixups += [Fixup(len(code) + f.offset, f.type, f.name, f.addend) for f in fs]
        code += c
    return code, fixups


def encode(insn: Insn) -> tuple[bytes, list[Fixup]]:
    """Machine bytes of `insn` and its relocation sites (addends are the fields' contents)."""
    op, sym, w = insn.op, insn.sym, insn.width
    if op in FIXED:
        return FIXED[op][0], []
    if op == "mov_esi_imm":
        return b"\xbe" + _imm32(insn.imm), []
    if op == "push_imm":
        return b"\x68" + _imm32(insn.imm), []
    if op in ("sub_esp", "add_esp"):
        assert 0 < insn.imm < 128
        return (b"\x83\xec" if op == "sub_esp" else b"\x83\xc4") + bytes([insn.imm]), []
    if op == "load_eax":  # edx:eax <- [eax + imm] (8 bytes: high word first, eax last)
        if w == 8:
            return b"\x8b\x90" + struct.pack("<i", insn.imm + 4) + b"\x8b\x80" + struct.pack(
                "<i", insn.imm), []
        return LOAD_EAX[w] + struct.pack("<i", insn.imm), []
    if op == "store_eax":
        return b"\x89\xb0" + struct.pack("<i", insn.imm), []
    if op == "skip_if_even":
        body = _join([encode(i) for i in insn.body])
        assert len(body[0]) < 128, "an IfOdd body must fit a rel8 jump"
        head = b"\xf7\xc6\x01\x00\x00\x00\x74" + bytes([len(body[0])])  # test $1,%esi; jz
        return _join([(head, []), body])
    if op == "add_ebx_got_base":  # R_386_GOTPC: the field is 2 bytes past the return address
        return _field(b"\x81\xc3", "R_386_GOTPC", GOT_SYMBOL, 2)
    assert sym is not None, op
    if op == "call":  # PC32 or PLT32; P is the field, 4 bytes before the next instruction
        return _field(b"\xe8", insn.reloc, sym.name, sym.addend - 4)
    if op == "call_got":  # call *f@GOT(%ebx), or *f@GOT with no base register (G + A)
        return _field(b"\xff\x93" if insn.reg == EBX else b"\xff\x15", "R_386_GOT32X", sym.name, 0)
    if op == "mov_eax_got":  # GOT32X (relaxable) or GOT32; with %ebx or with no base
        return _field(b"\x8b\x83" if insn.reg == EBX else b"\x8b\x05", insn.reloc, sym.name, 0)
    if op == "lea_eax_gotoff":
        return _field(b"\x8d\x83", "R_386_GOTOFF", sym.name, sym.addend)
    if op == "add_eax_pcrel":  # eax holds the address of this instruction (the PC thunk)
        return _field(b"\x05", "R_386_PC32", sym.name, sym.addend + 1)
    if op == "mov_eax_sym":
        return _field(b"\xb8", "R_386_32", sym.name, sym.addend)
    if op == "store_abs":
        return _field(b"\x89\x35", "R_386_32", sym.name, sym.addend)
    if op == "load_abs":
        if w == 8:
            return _join([_field(b"\x8b\x15", "R_386_32", sym.name, sym.addend + 4),
                          _field(LOAD_ABS[4], "R_386_32", sym.name, sym.addend)])
        return _field(LOAD_ABS[w], "R_386_32", sym.name, sym.addend)
    raise ValueError(f"unknown i386 instruction {op}")


def assembly(insn: Insn, label: str = "1", local: frozenset[str] = frozenset()) -> list[str]:
    """`as --32` lines for `insn`.  The non-relaxable GOT32 load is spelled with
    .byte/.reloc/.long (GNU as would pick GOT32X); every other form is ordinary syntax, and
    `sym-.` in an operand is the distance from the start of the instruction."""
    op, sym, w = insn.op, insn.sym, insn.width
    if op in FIXED:
        return [FIXED[op][1]]
    if op == "mov_esi_imm":
        return [f"movl ${insn.imm & 0xFFFFFFFF:#x}, %esi"]
    if op == "push_imm":
        return [f"pushl ${insn.imm & 0xFFFFFFFF:#x}"]
    if op in ("sub_esp", "add_esp"):
        return [f"{op[:3]}l ${insn.imm}, %esp"]
    if op == "load_eax":
        if w == 8:
            return [f"movl {insn.imm + 4}(%eax), %edx", f"movl {insn.imm}(%eax), %eax"]
        return [f"{LOAD_MNEMONIC[w]} {insn.imm}(%eax), %eax"]
    if op == "store_eax":
        return [f"movl %esi, {insn.imm}(%eax)"]
    if op == "skip_if_even":
        inner = [line for i in insn.body for line in assembly(i, label, local)]
        return ["testl $1, %esi", f"jz {label}f", *inner, f"{label}:"]
    if op == "add_ebx_got_base":
        return [f"addl ${GOT_SYMBOL}, %ebx"]
    assert sym is not None, op
    base = "(%ebx)" if insn.reg == EBX else ""
    if op == "call":
        return [f"call {sym.text()}@PLT" if insn.reloc == "R_386_PLT32" else f"call {sym.text()}"]
    if op == "call_got":
        return [f"call *{sym.name}@GOT{base}"]
    if op == "mov_eax_got":
        if insn.reloc == "R_386_GOT32X":
            return [f"movl {sym.name}@GOT{base}, %eax"]
        modrm = "0x83" if insn.reg == EBX else "0x05"
        return [f".byte 0x8b, {modrm}", f".reloc ., R_386_GOT32, {sym.name}", ".long 0"]
    if op == "lea_eax_gotoff":
        return [f"leal {sym.text()}@GOTOFF(%ebx), %eax"]
    if op == "add_eax_pcrel":
        return [f"addl ${sym.text()}-., %eax"]
    if op == "mov_eax_sym":
        return [f"movl ${sym.text()}, %eax"]
    if op == "store_abs":
        return [f"movl %esi, {sym.text()}"]
    if op == "load_abs":
        if w == 8:
            return [f"movl {Sym(sym.name, sym.addend + 4).text()}, %edx",
                    f"movl {sym.text()}, %eax"]
        return [f"{LOAD_MNEMONIC[w]} {sym.text()}, %eax"]
    raise ValueError(f"unknown i386 instruction {op}")
