"""The same lowered object as GNU-as assembly text (also accepted by llvm-mc).

Assembling this text with GNU as and with llvm-mc gives two more objects for the same model;
all three must behave the same once linked, which checks our encoder and ELF writer against
two real assemblers.
"""

from __future__ import annotations

from collections.abc import Callable

from .encode_x86 import GOT_SYMBOL, Insn, assembly
from .lower_x86 import AsmObject
from .model import Binding, Const, Ref, SectionKind, SelfRel

DIRECTIVE = {1: ".byte", 2: ".short", 4: ".long", 8: ".quad"}
SECTION_FLAGS = {
    SectionKind.TEXT: ('"ax"', "@progbits"),
    SectionKind.DATA: ('"aw"', "@progbits"),
    SectionKind.RODATA: ('"a"', "@progbits"),
    SectionKind.BSS: ('"aw"', "@nobits"),
}


def _section_line(name: str, kind: SectionKind, group: str | None) -> str:
    flags, type_ = SECTION_FLAGS[kind]
    if group:
        return f".section {name},{flags[:-1]}G\",{type_},{group},comdat"
    return f".section {name},{flags},{type_}"


def _undefined(obj: AsmObject) -> list[str]:
    """Names the object references but does not define."""
    defined = {i.name for s in obj.sections for i in s.items}
    defined |= {a.name for a in obj.absolutes} | {c.name for c in obj.commons}
    used: set[str] = set()

    def walk(insns: tuple[Insn, ...]) -> None:
        for insn in insns:
            if insn.sym is not None:
                used.add(insn.sym.name)
            walk(insn.body)

    for sec in obj.sections:
        for item in sec.items:
            walk(item.code)
            used |= {f.target for f in item.fields if isinstance(f, Ref)}
    return sorted(used - defined - {GOT_SYMBOL})


Spelling = Callable[[Insn, str, frozenset[str]], list[str]]


def write_asm(obj: AsmObject, spell: Spelling = assembly,
              hidden: frozenset[str] = frozenset()) -> str:
    """The object as text; `spell` gives an instruction's lines (fuzz.encode_x86's or
    fuzz.encode_i386's), `hidden` names global symbols of hidden visibility."""
    lines = [f'.file "{obj.name}.s"', *(
        f".weak {name}" if name in obj.weak_refs else f".globl {name}"
        for name in _undefined(obj))]
    local = frozenset(i.name for s in obj.sections for i in s.items
                      if i.binding is Binding.LOCAL)
    for sec in obj.sections:
        lines += [_section_line(sec.name, sec.kind, sec.group), f".balign {sec.align}"]
        for item in sec.items:
            if item.binding is Binding.GLOBAL:
                lines.append(f".globl {item.name}")
                if item.name in hidden:
                    lines.append(f".hidden {item.name}")
            elif item.binding is Binding.WEAK:
                lines.append(f".weak {item.name}")
            kind = "@function" if item.is_function else "@object"
            lines += [f".type {item.name}, {kind}", f".balign {item.align}", f"{item.name}:"]
            for insn in item.code:  # local label "1": IfOdd bodies never nest
                lines += [x if x.endswith(":") else "    " + x
                          for x in spell(insn, "1", local)]
            for f in item.fields:
                if isinstance(f, Const):
                    mask = (1 << (8 * f.width)) - 1
                    lines.append(f"{DIRECTIVE[f.width]} {f.value & mask:#x}")
                elif isinstance(f, SelfRel):
                    lines.append(f"{DIRECTIVE[f.width]} {item.name}{f.addend:+d}-.")
                elif f.signed:  # no directive spells R_X86_64_32S
                    lines += [f".reloc ., R_X86_64_32S, {f.target}{f.addend:+d}", ".long 0"]
                else:
                    addend = f"{f.addend:+d}" if f.addend else ""
                    lines.append(f"{DIRECTIVE[f.width]} {f.target}{addend}")
            lines.append(f".size {item.name}, .-{item.name}")
    for a in obj.absolutes:
        lines += [f".globl {a.name}", f".set {a.name}, {a.value:#x}"]
    for c in obj.commons:
        lines.append(f".comm {c.name}, {c.size}, {c.align}")
    lines.append('.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"
