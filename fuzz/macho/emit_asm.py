"""The same lowered object (fuzz.macho.lower) as Darwin assembly text for
`llvm-mc-14 -triple x86_64-apple-macosx10.9`: linked and run, llvm-mc's object must behave
as ours, which keeps our writer and assembler pass honest.  llvm-mc makes its own choices
(extern entries against static symbols, SIGNED_n from the final field value), so the
objects differ in form, never in meaning."""

from __future__ import annotations

from .. import libtrace
from ..encode_x86 import FIXED, LOAD_MNEMONIC, Insn
from ..encode_x86 import assembly as elf_assembly
from ..lower_x86 import AsmObject, AsmSection
from ..model import Binding, Const, Ref, SectionKind, SelfRel
from .assemble import Choices, cname, section_names
from .lower import DARWIN_EXIT

_DIRECTIVE = {1: ".byte", 2: ".short", 4: ".long", 8: ".quad"}
_IMM_STORE = {1: "movb", 2: "movw", 4: "movl"}


def _operand(insn: Insn) -> str:
    assert insn.sym is not None
    name = cname(insn.sym.name)
    return f"{name}{insn.sym.addend:+d}" if insn.sym.addend else name


def _lines(insn: Insn, labels: list[int]) -> list[str]:
    op = insn.op
    if op in FIXED or op in ("mov_ebx_imm", "mov_arg_imm", "load_rax", "store_rax"):
        return elf_assembly(insn)
    if op == "skip_if_even":
        labels[0] += 1
        label = f"Lskip{labels[0]}"
        inner = [line for i in insn.body for line in _lines(i, labels)]
        return ["testb $1, %bl", f"jz {label}", *inner, f"{label}:"]
    if op == "exit_darwin":
        return [f"movl ${DARWIN_EXIT:#x}, %eax", "syscall"]
    sym = _operand(insn)
    if op == "call":
        return [f"call {sym}"]
    if op == "call_got":
        return [f"call *{sym}@GOTPCREL(%rip)"]
    if op == "mov_rax_got":
        return [f"movq {sym}@GOTPCREL(%rip), %rax"]
    if op == "load_rip":
        dest = "%rax" if insn.width == 8 else "%eax"
        return [f"{LOAD_MNEMONIC[insn.width]} {sym}(%rip), {dest}"]
    if op == "store_rip":
        return [f"movl %ebx, {sym}(%rip)"]
    if op == "store_imm_rip":
        return [f"{_IMM_STORE[insn.width]} $0, {sym}(%rip)"]
    if op == "add_rip_ebx":
        return [f"addl %ebx, {sym}(%rip)"]
    raise ValueError(f"no Darwin spelling for {op}")


def _binding(name: str, binding: Binding, choices: Choices) -> list[str]:
    if binding is Binding.LOCAL:
        return []
    out = [f".globl {name}"]
    if binding is Binding.WEAK:
        out.append(f".weak_definition {name}")
    elif choices.private_extern(name[1:]):
        out.append(f".private_extern {name}")
    return out


def _section(sec: AsmSection, segment: str, name: str, choices: Choices,
             labels: list[int]) -> list[str]:
    if sec.kind is SectionKind.BSS:
        out = []
        for item in sec.items:
            size = max(item.data_size, 1)
            out += _binding(cname(item.name), item.binding, choices)
            out.append(f".zerofill {segment},{name},{cname(item.name)},{size},"
                       f"{item.align.bit_length() - 1}")
        return out
    attrs = ",regular,pure_instructions" if sec.kind is SectionKind.TEXT else ""
    out = [f".section {segment},{name}{attrs}", f".p2align {sec.align.bit_length() - 1}"]
    for item in sec.items:
        label = cname(item.name)
        out += _binding(label, item.binding, choices)
        out += [f".p2align {item.align.bit_length() - 1}", f"{label}:"]
        for insn in item.code:
            out += _lines(insn, labels)
        for k, f in enumerate(item.fields):
            if isinstance(f, Const):
                out.append(f"{_DIRECTIVE[f.width]} {f.value & ((1 << (8 * f.width)) - 1)}")
            elif isinstance(f, SelfRel):
                at = f'"{cname(f"lh.self.{item.name}.{k}")}"'
                out += [f"{at}:", f"{_DIRECTIVE[f.width]} {label}{f.addend:+d} - {at}"]
            else:
                assert isinstance(f, Ref)
                out.append(f"{_DIRECTIVE[f.width]} {cname(f.target)}{f.addend:+d}")
    return out


def write_asm(obj: AsmObject, choices: Choices) -> str:
    """The object as llvm-mc input."""
    lines: list[str] = []
    labels = [0]  # numbering of local jump labels, unique in the object
    for sec, (segment, name) in zip(obj.sections, section_names(obj.sections)):
        lines += _section(sec, segment, name, choices, labels)
    for a in obj.absolutes:
        lines += [f".globl {cname(a.name)}", f"{cname(a.name)} = {a.value}"]
    for c in obj.commons:
        lines.append(f".comm {cname(c.name)},{c.size},{c.align.bit_length() - 1}")
    referenced = {i.sym.name for s in obj.sections for it in s.items for i in _walk(it.code)
                  if i.sym is not None}
    lines += [f".weak_reference {cname(n)}" for n in sorted(referenced) if n in libtrace.IMPORTS
              and choices.weak_ref(n)]
    return "\n".join(lines) + "\n"


def _walk(code: tuple[Insn, ...]) -> list[Insn]:
    return [j for i in code for j in ([i, *_walk(i.body)] if i.body else [i])]
