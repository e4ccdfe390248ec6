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
from ..lower_x86 import AsmObject, Item
from .assemble import cname, section_names
from .assemble_i386 import Choices32
from .emit_asm import section_lines, walk
from .encode_i386 import assembly, slot_label, stub_label


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
    for insn in (i for s in obj.sections for it in s.items for i in walk(it.code)):
        if insn.op == "call" and insn.sym is not None and insn.sym.name not in defined \
                and choices.jump_table(insn.sym.name) and insn.sym.name not in names:
            names.append(insn.sym.name)
    return names


def write_asm_i386(obj: AsmObject, choices: Choices32) -> str:
    """The object as llvm-mc input."""
    lines: list[str] = []
    labels = [0]
    stubbed = _stubbed(obj, choices)

    def item_code(item: Item) -> list[str]:
        pic_base = f'"L{item.name}$pb"'
        return [line for insn in _via_stubs(item.code, set(stubbed))
                for line in assembly(insn, pic_base, labels)]

    def self_label(item: str, k: int) -> str:
        return f'"L{item}.self.{k}"'

    for sec, (segment, name) in zip(obj.sections, section_names(obj.sections)):
        lines += section_lines(sec, segment, name, choices.private_extern, item_code,
                               self_label)
    code = [i for s in obj.sections for it in s.items for i in walk(it.code)]
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
