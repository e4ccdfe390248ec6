"""The same lowered object (fuzz.macho.lower_i386) as Darwin i386 assembly text for
`llvm-mc-14 -triple i386-apple-macosx10.6`: linked and run, llvm-mc's object must behave as
ours.  llvm-mc makes its own choices (non-extern or scattered entries against this object's
non-weak definitions, pc-relative data to its own item resolved), so the objects differ in
form, never in meaning.  The text says `.subsections_via_symbols`, as clang's does: without
it llvm-mc-14 resolves `calll _w` to a weak definition in the caller's section with no
relocation, so the call could not reach another object's winning definition.  Non-lazy pointers are clang's
`L_x$non_lazy_ptr` slots in `__IMPORT,__pointers` with `.indirect_symbol`; jump-table entries
are old Apple gcc's `L_f$stub` in `__IMPORT,__jump_table` (five `hlt`s each)."""

from __future__ import annotations

from dataclasses import replace

from .. import libtrace
from ..encode_x86 import Insn
from ..lower_x86 import AsmObject, AsmSection
from ..model import Binding, Const, Ref, SectionKind, SelfRel
from .assemble import cname, section_names
from .assemble_i386 import Choices32
from .encode_i386 import assembly, slot_label, stub_label

_DIRECTIVE = {1: ".byte", 2: ".short", 4: ".long"}


def _binding(name: str, binding: Binding, choices: Choices32) -> list[str]:
    if binding is Binding.LOCAL:
        return []
    out = [f".globl {name}"]
    if binding is Binding.WEAK:
        out.append(f".weak_definition {name}")
    elif choices.private_extern(name[1:]):
        out.append(f".private_extern {name}")
    return out


def _walk(code: tuple[Insn, ...]) -> list[Insn]:
    return [j for i in code for j in ([i, *_walk(i.body)] if i.body else [i])]


def _via_stubs(code: tuple[Insn, ...], stubbed: set[str]) -> tuple[Insn, ...]:
    """`code` with the calls to `stubbed` names made through their jump-table entries."""
    return tuple(
        replace(i, op="call_stub") if i.op == "call" and i.sym is not None
        and i.sym.name in stubbed else
        replace(i, body=_via_stubs(i.body, stubbed)) if i.body else i for i in code)


def _stubbed(obj: AsmObject, choices: Choices32) -> list[str]:
    """Names called through the object's jump table, in order of first call."""
    defined = {it.name for s in obj.sections for it in s.items}
    names: list[str] = []
    for insn in (i for s in obj.sections for it in s.items for i in _walk(it.code)):
        if insn.op == "call" and insn.sym is not None and insn.sym.name not in defined \
                and choices.jump_table(insn.sym.name) and insn.sym.name not in names:
            names.append(insn.sym.name)
    return names


def _section(sec: AsmSection, segment: str, name: str, choices: Choices32,
             labels: list[int], stubbed: set[str]) -> list[str]:
    if sec.kind is SectionKind.BSS:
        out = []
        for item in sec.items:
            out += _binding(cname(item.name), item.binding, choices)
            out.append(f".zerofill {segment},{name},{cname(item.name)},"
                       f"{max(item.data_size, 1)},{item.align.bit_length() - 1}")
        return out
    attrs = ",regular,pure_instructions" if sec.kind is SectionKind.TEXT else ""
    out = [f".section {segment},{name}{attrs}", f".p2align {sec.align.bit_length() - 1}"]
    for item in sec.items:
        label = cname(item.name)
        out += _binding(label, item.binding, choices)
        out += [f".p2align {item.align.bit_length() - 1}", f"{label}:"]
        pic_base = f'"L{item.name}$pb"'
        for insn in _via_stubs(item.code, stubbed):
            out += assembly(insn, pic_base, labels)
        for k, f in enumerate(item.fields):
            if isinstance(f, Const):
                out.append(f"{_DIRECTIVE[f.width]} {f.value & ((1 << (8 * f.width)) - 1)}")
            elif isinstance(f, SelfRel):
                at = f'"L{item.name}.self.{k}"'
                out += [f"{at}:", f"{_DIRECTIVE[f.width]} {label}{f.addend:+d} - {at}"]
            else:
                assert isinstance(f, Ref)
                out.append(f"{_DIRECTIVE[f.width]} {cname(f.target)}{f.addend:+d}")
    return out


def write_asm_i386(obj: AsmObject, choices: Choices32) -> str:
    """The object as llvm-mc input."""
    lines: list[str] = []
    labels = [0]
    stubbed = _stubbed(obj, choices)
    for sec, (segment, name) in zip(obj.sections, section_names(obj.sections)):
        lines += _section(sec, segment, name, choices, labels, set(stubbed))
    code = [i for s in obj.sections for it in s.items for i in _walk(it.code)]
    slots: list[str] = []
    for insn in code:
        if insn.op in ("mov_eax_nlp", "call_nlp") and insn.sym is not None \
                and insn.sym.name not in slots:
            slots.append(insn.sym.name)
    if slots:
        lines += [".section __IMPORT,__pointers,non_lazy_symbol_pointers", ".p2align 2"]
        for name in slots:
            lines += [f"{slot_label(name)}:", f".indirect_symbol {cname(name)}", ".long 0"]
    if stubbed:
        lines.append(".section __IMPORT,__jump_table,symbol_stubs,"
                     "self_modifying_code+pure_instructions,5")
        for name in stubbed:
            lines += [f"{stub_label(name)}:", f".indirect_symbol {cname(name)}", "hlt", "hlt",
                      "hlt", "hlt", "hlt"]
    for a in obj.absolutes:
        lines += [f".globl {cname(a.name)}", f"{cname(a.name)} = {a.value}"]
    for c in obj.commons:
        lines.append(f".comm {cname(c.name)},{c.size},{c.align.bit_length() - 1}")
    # as clang writes it: without it llvm-mc resolves a call to a weak definition in the
    # caller's section itself, binding it to this object's copy whatever the link decides
    lines.append(".subsections_via_symbols")
    referenced = {i.sym.name for i in code if i.sym is not None}
    lines += [f".weak_reference {cname(n)}" for n in sorted(referenced)
              if n in libtrace.IMPORTS and choices.weak_ref(n)]
    return "\n".join(lines) + "\n"
