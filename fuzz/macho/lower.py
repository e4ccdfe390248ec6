"""Lowering a Mach-O subset model (fuzz.macho.subset) to x86-64 code with Mach-O fixups.

The instruction selection is fuzz.lower_x86's, with two Darwin changes: the entry `start`
(C name; `_start` in the symbol table) exits with the Darwin exit system call, and a
pc-relative store may be spelled with instructions that carry a trailing immediate after
the displacement (movb/movw/movl $0 then addl %ebx), the forms that need SIGNED_1/2/4.

Fixups are Mach-O kinds (BRANCH, SIGNED, SIGNED_1/2/4, GOT_LOAD, GOT) against a symbol plus
the addend the reference means (the address of `name` + `addend` is what the instruction
must reach); `fuzz.macho.assemble` turns them into fields and relocation entries.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from ..encode_x86 import Insn, Sym
from ..encode_x86 import encode as encode_elf
from ..lower_x86 import AsmObject, AsmSection, Item, Lowerer
from ..model import AddrVia, Binding, IfOdd, Program, SectionKind, Step, Store

START = "start"
START_SECTION = ".text"  # the entry must lie in __TEXT,__text (oracle.check)
DARWIN_EXIT = 0x2000001
# encode_x86 ops whose one fixup becomes this Mach-O kind
_KIND = {"call": "BRANCH", "call_got": "GOT", "mov_rax_got": "GOT_LOAD", "load_rip": "SIGNED",
         "store_rip": "SIGNED", "add_rip_ebx": "SIGNED"}
# rip-relative stores of an immediate of N bytes: opcode bytes before the displacement
_STORE_IMM = {1: b"\xc6\x05", 2: b"\x66\xc7\x05", 4: b"\xc7\x05"}


@dataclass(frozen=True)
class MachoFixup:
    """A 4-byte pc-relative field at `offset`: `kind` against `name`; the instruction
    must reach name + addend.  `trailing` bytes of immediate follow the field."""

    offset: int
    kind: str
    name: str
    addend: int
    trailing: int = 0


def encode(insn: Insn) -> tuple[bytes, list[MachoFixup]]:
    """Machine bytes of `insn` (fuzz.encode_x86's, plus the stores with immediates) and
    its Mach-O fixups."""
    if insn.op == "skip_if_even":
        code = b""
        fixups: list[MachoFixup] = []
        head = 5  # test $1,%bl; jz rel8
        for inner in insn.body:
            c, fs = encode(inner)
            fixups += [MachoFixup(head + len(code) + f.offset, f.kind, f.name, f.addend,
                                  f.trailing) for f in fs]
            code += c
        assert len(code) < 128, "an IfOdd body must fit a rel8 jump"
        return b"\xf6\xc3\x01\x74" + bytes([len(code)]) + code, fixups
    if insn.op == "store_imm_rip":
        assert insn.sym is not None
        n = insn.width
        code = _STORE_IMM[n] + bytes(4) + bytes(n)
        return code, [MachoFixup(len(_STORE_IMM[n]), f"SIGNED_{n}", insn.sym.name,
                                 insn.sym.addend, n)]
    if insn.op == "add_rip_ebx":
        assert insn.sym is not None
        return b"\x01\x1d" + bytes(4), [MachoFixup(2, "SIGNED", insn.sym.name, insn.sym.addend)]
    if insn.op == "exit_darwin":
        return b"\xb8" + struct.pack("<I", DARWIN_EXIT) + b"\x0f\x05", []
    code, elf_fixups = encode_elf(insn)
    out = []
    for f in elf_fixups:
        kind = _KIND.get(insn.op)
        if kind is None:
            raise ValueError(f"{insn.op} has no Mach-O form")
        out.append(MachoFixup(f.offset, kind, f.name, f.addend + 4))
    return code, out


def store_with_immediates(name: str, offset: int, n: int) -> list[Insn]:
    """Store ebx at name+offset: zero the 4 bytes with n-byte immediate stores (SIGNED_n),
    then add ebx into them (SIGNED).  A misplaced zeroing shows up in what is loaded later."""
    zero = [Insn("store_imm_rip", Sym(name, offset + k), width=n) for k in range(0, 4, n)]
    return [*zero, Insn("add_rip_ebx", Sym(name, offset))]


class MachoLowerer(Lowerer):
    """fuzz.lower_x86's lowering with Darwin's entry and the stores with immediates.
    `store_form(item, index)` says how a pc-relative store is spelled: 0 plain, else n."""

    GOT_JUMPS = False  # the Mach-O encoder knows `call *f@GOTPCREL(%rip)` only

    def __init__(self, program: Program, store_form: dict[tuple[str, int], int]) -> None:
        super().__init__(program)
        self.store_form = store_form

    def step(self, owner: int, step: Step) -> list[Insn]:
        if isinstance(step, IfOdd):
            return [Insn("skip_if_even", body=tuple(self.step(owner, step.step)))]
        if isinstance(step, Store) and step.via is AddrVia.PC_REL:
            n = self.store_form.get((step.item, step.index), 0)
            if n:
                offset, _ = self.field_at(owner, step.item, step.index)
                return store_with_immediates(step.item, offset, n)
        return super().step(owner, step)

    def start(self) -> AsmSection:
        code = (Insn("and_rsp_16"), Insn("call", Sym(self.program.main), reloc="R_X86_64_PC32"),
                Insn("mov_edi_eax"), Insn("and_edi_255"), Insn("exit_darwin"))
        item = Item(START, Binding.GLOBAL, 16, code=code, is_function=True)
        return AsmSection(START_SECTION, SectionKind.TEXT, 16, None, (item,))

    def object(self, owner: int) -> AsmObject:
        """As fuzz.lower_x86's, with the entry merged into the object's own .text (one
        Mach-O section per name)."""
        obj = super().object(owner)
        if owner != 0:
            return obj
        start, *rest = obj.sections
        text = next((s for s in rest if s.name == START_SECTION), None)
        if text is None:
            return obj
        merged = replace(text, align=max(text.align, start.align),
                         items=(*start.items, *text.items))
        return replace(obj, sections=tuple(merged if s is text else s for s in rest))
