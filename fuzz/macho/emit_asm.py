"""The same lowered object (fuzz.macho.lower) as Darwin assembly text for
`llvm-mc-14 -triple x86_64-apple-macosx10.9`: linked and run, llvm-mc's object must behave
as ours, which keeps our writer and assembler pass honest.  llvm-mc makes its own choices
(extern entries against static symbols, SIGNED_n from the final field value), so the
objects differ in form, never in meaning."""

from __future__ import annotations

from collections.abc import Callable

from .. import libtrace
from ..encode_x86 import FIXED, LOAD_MNEMONIC, Insn
from ..encode_x86 import assembly as elf_assembly
from ..lower_x86 import AsmObject, AsmSection, Item
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


def binding_lines(name: str, binding: Binding, private_extern: Callable[[str], bool]
                  ) -> list[str]:
    """The directives giving `name` (a C name, `_` first) its binding."""
    if binding is Binding.LOCAL:
        return []
    out = [f".globl {name}"]
    if binding is Binding.WEAK:
        out.append(f".weak_definition {name}")
    elif private_extern(name[1:]):
        out.append(f".private_extern {name}")
    return out


def section_lines(sec: AsmSection, segment: str, name: str,
                  private_extern: Callable[[str], bool], code: Callable[[Item], list[str]],
                  self_label: Callable[[str, int], str]) -> list[str]:
    """The section's text, either word size: zero-fill as `.zerofill` lines, else each item's
    label, its code (`code` spells it) and its data fields; a field holding its own address
    minus a symbol's is written against the label `self_label(item name, field number)`."""
    if sec.kind is SectionKind.BSS:
        out = []
        for item in sec.items:
            out += binding_lines(cname(item.name), item.binding, private_extern)
            out.append(f".zerofill {segment},{name},{cname(item.name)},"
                       f"{max(item.data_size, 1)},{item.align.bit_length() - 1}")
        return out
    attrs = ",regular,pure_instructions" if sec.kind is SectionKind.TEXT else ""
    out = [f".section {segment},{name}{attrs}", f".p2align {sec.align.bit_length() - 1}"]
    for item in sec.items:
        label = cname(item.name)
        out += binding_lines(label, item.binding, private_extern)
        out += [f".p2align {item.align.bit_length() - 1}", f"{label}:"]
        out += code(item)
        for k, f in enumerate(item.fields):
            if isinstance(f, Const):
                out.append(f"{_DIRECTIVE[f.width]} {f.value & ((1 << (8 * f.width)) - 1)}")
            elif isinstance(f, SelfRel):
                at = self_label(item.name, k)
                out += [f"{at}:", f"{_DIRECTIVE[f.width]} {label}{f.addend:+d} - {at}"]
            else:
                assert isinstance(f, Ref)
                out.append(f"{_DIRECTIVE[f.width]} {cname(f.target)}{f.addend:+d}")
    return out


def write_asm(obj: AsmObject, choices: Choices) -> str:
    """The object as llvm-mc input."""
    lines: list[str] = []
    labels = [0]  # numbering of local jump labels, unique in the object

    def item_code(item: Item) -> list[str]:
        return [line for insn in item.code for line in _lines(insn, labels)]

    def self_label(item: str, k: int) -> str:
        return f'"{cname(f"lh.self.{item}.{k}")}"'

    for sec, (segment, name) in zip(obj.sections, section_names(obj.sections)):
        lines += section_lines(sec, segment, name, choices.private_extern, item_code,
                               self_label)
    for a in obj.absolutes:
        lines += [f".globl {cname(a.name)}", f"{cname(a.name)} = {a.value}"]
    for c in obj.commons:
        lines.append(f".comm {cname(c.name)},{c.size},{c.align.bit_length() - 1}")
    referenced = {i.sym.name for s in obj.sections for it in s.items for i in walk(it.code)
                  if i.sym is not None}
    lines += [f".weak_reference {cname(n)}" for n in sorted(referenced) if n in libtrace.IMPORTS
              and choices.weak_ref(n)]
    return "\n".join(lines) + "\n"


def walk(code: tuple[Insn, ...]) -> list[Insn]:
    """Every instruction of `code`, those in bodies (skip_if_even's) after their owner."""
    return [j for i in code for j in ([i, *walk(i.body)] if i.body else [i])]
