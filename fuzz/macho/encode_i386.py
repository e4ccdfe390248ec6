"""The i386 Darwin instruction forms the Mach-O i386 lowering adds to fuzz.encode_i386's,
each as machine bytes with Mach-O fixups and as `llvm-mc -triple i386-apple-macosx10.6` text.

Darwin i386 has no GOT and no PC thunk functions: a function finds its own address with
`calll L$pb; L$pb: popl %ebx` (the "pic base"), and reaches data as a difference from it,
`leal _x+off-L$pb(%ebx), %eax` (a SECTDIFF or LOCAL_SECTDIFF pair), or through a slot of
the object's own non-lazy pointer section, `movl L_x$non_lazy_ptr-L$pb(%ebx), %eax` (a
LOCAL_SECTDIFF pair to the slot, which the indirect symbol table names).  Calls are
`calll _f` (a pc-relative VANILLA entry; the linker sends calls to imports to a stub).

Fixup kinds: "BRANCH" (rel32 of a call), "ABS" (an absolute 32-bit field), "PICREL" (the
difference name+addend - pic base), "NLP" (the difference slot(name) - pic base).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..encode_i386 import assembly as elf_assembly
from ..encode_i386 import encode as elf_encode
from ..encode_x86 import Insn

PIC_BASE_CALL = b"\xe8\x00\x00\x00\x00"  # calll L$pb (the next instruction)
POP_EBX = b"\x5b"

# op -> (opcode bytes before the 32-bit field, fixup kind)
_FIELD_OPS: dict[str, tuple[bytes, str]] = {
    "call": (b"\xe8", "BRANCH"),
    "lea_eax_picrel": (b"\x8d\x83", "PICREL"),  # leal x-L$pb(%ebx), %eax
    "mov_eax_nlp": (b"\x8b\x83", "NLP"),  # movl L_x$non_lazy_ptr-L$pb(%ebx), %eax
    "call_nlp": (b"\xff\x93", "NLP"),  # calll *L_x$non_lazy_ptr-L$pb(%ebx)
    "mov_eax_sym": (b"\xb8", "ABS"),  # movl $x, %eax
    "store_abs": (b"\x89\x35", "ABS"),  # movl %esi, x
}
# the entry's exit: status = al, pushed as the argument above a dummy return address
DARWIN_FIXED: dict[str, tuple[bytes, str]] = {
    "movzbl_eax_al": (b"\x0f\xb6\xc0", "movzbl %al, %eax"),
    "mov_eax_1": (b"\xb8\x01\x00\x00\x00", "movl $1, %eax"),
}
_LOAD_ABS = {1: b"\x0f\xb6\x05", 2: b"\x0f\xb7\x05", 4: b"\xa1"}
_LOAD_MNEMONIC = {1: "movzbl", 2: "movzwl", 4: "movl"}


@dataclass(frozen=True)
class Fixup:
    """A 4-byte field at `offset` of the instruction bytes: `kind` against `name` + `addend`
    (the address the instruction means; for NLP, the slot of `name`)."""

    offset: int
    kind: str
    name: str
    addend: int


def encode(insn: Insn) -> tuple[bytes, list[Fixup]]:
    """Machine bytes of `insn` and its fixups.  "pic_base" is the call/pop pair; the pic
    base itself is the address of its popl (5 bytes in)."""
    op, sym = insn.op, insn.sym
    if op == "pic_base":
        return PIC_BASE_CALL + POP_EBX, []
    if op in DARWIN_FIXED:
        return DARWIN_FIXED[op][0], []
    if op == "skip_if_even":
        code = b""
        fixups: list[Fixup] = []
        head = 8  # testl $1, %esi; jz rel8
        for inner in insn.body:
            c, fs = encode(inner)
            fixups += [Fixup(head + len(code) + f.offset, f.kind, f.name, f.addend) for f in fs]
            code += c
        assert len(code) < 128, "an IfOdd body must fit a rel8 jump"
        return b"\xf7\xc6\x01\x00\x00\x00\x74" + bytes([len(code)]) + code, fixups
    if op in _FIELD_OPS:
        assert sym is not None, op
        prefix, kind = _FIELD_OPS[op]
        return prefix + bytes(4), [Fixup(len(prefix), kind, sym.name, sym.addend)]
    if op == "load_abs":
        assert sym is not None
        if insn.width == 8:  # edx first (the high word), then eax
            return (b"\x8b\x15" + bytes(4) + _LOAD_ABS[4] + bytes(4),
                    [Fixup(2, "ABS", sym.name, sym.addend + 4),
                     Fixup(7, "ABS", sym.name, sym.addend)])
        prefix = _LOAD_ABS[insn.width]
        return prefix + bytes(4), [Fixup(len(prefix), "ABS", sym.name, sym.addend)]
    code, elf_fixups = elf_encode(insn)
    if elf_fixups:
        raise ValueError(f"{op} has no Mach-O i386 form")
    return code, []


def symbol_text(name: str, addend: int) -> str:
    return f"{name}{addend:+d}" if addend else name


def stub_label(name: str) -> str:
    """The label of `name`'s jump-table entry (old Apple gcc's spelling)."""
    return f'"L_{name}$stub"'


def slot_label(name: str) -> str:
    """The label of `name`'s non-lazy pointer (clang's spelling)."""
    return f'"L_{name}$non_lazy_ptr"'


def assembly(insn: Insn, pic_base: str, labels: list[int]) -> list[str]:
    """llvm-mc lines of `insn`: `pic_base` is the label of the function's pic base,
    `labels[0]` numbers the local jump labels of the object.  Symbols get Darwin's leading
    underscore."""
    op, sym = insn.op, insn.sym
    if op == "pic_base":
        return [f"calll {pic_base}", f"{pic_base}:", "popl %ebx"]
    if op in DARWIN_FIXED:
        return [DARWIN_FIXED[op][1]]
    if op == "skip_if_even":
        labels[0] += 1
        label = f"Lskip{labels[0]}"
        inner = [line for i in insn.body for line in assembly(i, pic_base, labels)]
        return ["testl $1, %esi", f"jz {label}", *inner, f"{label}:"]
    if sym is None:
        return elf_assembly(insn)
    target = symbol_text("_" + sym.name, sym.addend)
    slot = slot_label(sym.name)
    if op == "call":
        return [f"calll {target}"]
    if op == "call_stub":  # only in text: our assembler pass decides this itself
        return [f"calll {stub_label(sym.name)}"]
    if op == "lea_eax_picrel":
        return [f"leal {target}-{pic_base}(%ebx), %eax"]
    if op == "mov_eax_nlp":
        return [f"movl {slot}-{pic_base}(%ebx), %eax"]
    if op == "call_nlp":
        return [f"calll *{slot}-{pic_base}(%ebx)"]
    if op == "mov_eax_sym":
        return [f"movl ${target}, %eax"]
    if op == "store_abs":
        return [f"movl %esi, {target}"]
    if op == "load_abs":
        if insn.width == 8:
            return [f"movl {symbol_text('_' + sym.name, sym.addend + 4)}, %edx",
                    f"movl {target}, %eax"]
        return [f"{_LOAD_MNEMONIC[insn.width]} {target}, %eax"]
    raise ValueError(f"no Darwin i386 spelling for {op}")
