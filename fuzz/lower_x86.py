"""Lowering a program model to x86-64 instructions and data directives, object by object.

The result (`AsmObject`) is what an assembler's input says: sections holding labelled items
(code as `Insn`s, data as fields), symbol bindings, absolute and COMMON symbols.  Two back
ends consume it: `fuzz.assemble_x86` + `fuzz.emit_elf` (our own object writer) and
`fuzz.emit_asm` (text for GNU as and llvm-mc).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from . import libtrace
from .encode_x86 import Insn, Sym
from .model import (
    AbsSymbol,
    AddrMask,
    AddrNonNull,
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    DataItem,
    Field,
    Function,
    IfOdd,
    Load,
    LoadThrough,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    Step,
    Store,
)
from .semantics import resolver_of

START_SECTION = ".text.lh_start"


@dataclass(frozen=True)
class Item:
    """One labelled thing in a section: code (`code`) or data (`fields`)."""

    name: str
    binding: Binding
    align: int
    code: tuple[Insn, ...] = ()
    fields: tuple[Field, ...] = ()
    is_function: bool = False

    @property
    def data_size(self) -> int:
        return sum(f.width for f in self.fields)


@dataclass(frozen=True)
class AsmSection:
    name: str
    kind: SectionKind
    align: int
    group: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class AsmObject:
    name: str
    sections: tuple[AsmSection, ...]
    absolutes: tuple[AbsSymbol, ...]
    commons: tuple[DataItem, ...]
    weak_refs: tuple[str, ...] = ()  # undefined names referenced weakly (STB_WEAK)


_CALL_INSNS = {
    CallVia.DIRECT: (Insn("call", reloc="R_X86_64_PC32"),),
    CallVia.PLT: (Insn("call", reloc="R_X86_64_PLT32"),),
    CallVia.GOT_INDIRECT: (Insn("call_got"),),
    CallVia.GOT_LOAD: (Insn("mov_rax_got", reloc="R_X86_64_REX_GOTPCRELX"), Insn("call_rax")),
    CallVia.GOT_LOAD_STRICT: (Insn("mov_rax_got", reloc="R_X86_64_GOTPCREL"), Insn("call_rax")),
}
MIX = (Insn("imul_rbx_31"), Insn("add_rbx_rax"))
# Instructions without operands, made once (a model's lowering makes a hundred-odd
# instructions, and an immutable record costs a microsecond to make)
MOV_EDI_EBX, CALL_RAX = Insn("mov_edi_ebx"), Insn("call_rax")
LEA_R11_GOT_BASE, ADD_RAX_R11 = Insn("lea_r11_got_base"), Insn("add_rax_r11")
STORE_RAX, NONNULL_RAX = Insn("store_rax"), Insn("nonnull_rax")
PROLOGUE, EPILOGUE = (Insn("push_rbx"),), (Insn("mov_rax_rbx"), Insn("pop_rbx"), Insn("ret"))


def _with_sym(insn: Insn, sym: Sym) -> Insn:
    return replace(insn, sym=sym)


@functools.lru_cache(maxsize=1024)
def _calls_to(via: CallVia, target: str) -> tuple[Insn, ...]:
    """The instructions of a call to `target` made `via`: made once per pair (instructions
    are immutable), not with a dataclasses.replace per call site of every model."""
    return tuple(_with_sym(i, Sym(target)) if i.op != "call_rax" else i
                 for i in _CALL_INSNS[via])


def _args(target: str, consts: tuple[int, ...]) -> list[Insn]:
    """Argument set-up for a call to `target`: acc first, then the step's constants."""
    imp = libtrace.IMPORTS.get(target)
    arity = libtrace.arity_of(target) if imp is not None and imp.is_function else 0
    out = [MOV_EDI_EBX] if arity else []
    out += [Insn("mov_arg_imm", imm=consts[i - 1], reg=i) for i in range(1, arity)]
    return out


@functools.lru_cache(maxsize=4096)
def _load(name: str, offset: int, width: int, via: AddrVia) -> tuple[Insn, ...]:
    """Load `width` bytes at `name`+`offset` into eax/rax (zero-extended)."""
    if via is AddrVia.PC_REL:
        return (Insn("load_rip", Sym(name, offset), width=width),)
    if via is AddrVia.ABS_S32:
        return (Insn("load_abs", Sym(name, offset), width=width),)
    if via is AddrVia.ABS_U32:
        return (Insn("mov_eax_sym", Sym(name, offset)), Insn("load_rax", width=width))
    if via is AddrVia.GOT_BASE:
        return (*_got_base_address(name, offset), Insn("load_rax", width=width))
    if via is AddrVia.GOT_OFFSET:
        return (LEA_R11_GOT_BASE, Insn("mov_rax_got_r11", Sym(name)),
                Insn("load_rax", imm=offset, width=width))
    got = Insn("mov_rax_got", Sym(name), reloc="R_X86_64_REX_GOTPCRELX")
    return (got, Insn("load_rax", imm=offset, width=width))


def _got_base_address(name: str, offset: int) -> tuple[Insn, ...]:
    """rax = the address of name+offset, as GOT base + (name+offset - GOT base)."""
    return (LEA_R11_GOT_BASE, Insn("movabs_rax_gotoff", Sym(name, offset)), ADD_RAX_R11)


@functools.lru_cache(maxsize=4096)
def _address(name: str, via: AddrVia) -> tuple[Insn, ...]:
    """rax = the address of `name` (0 for an undefined weak symbol), made as `via` says."""
    if via is AddrVia.PC_REL:
        return (Insn("lea_rax_rip", Sym(name)),)
    if via is AddrVia.ABS_S32:
        return (Insn("mov_rax_sym_s32", Sym(name)),)
    if via is AddrVia.ABS_U32:
        return (Insn("mov_eax_sym", Sym(name)),)
    if via is AddrVia.GOT_BASE:
        return _got_base_address(name, 0)
    if via is AddrVia.GOT_OFFSET:
        return (LEA_R11_GOT_BASE, Insn("mov_rax_got_r11", Sym(name)))
    return (Insn("mov_rax_got", Sym(name), reloc="R_X86_64_REX_GOTPCRELX"),)


@functools.lru_cache(maxsize=4096)
def _store(name: str, offset: int, via: AddrVia) -> tuple[Insn, ...]:
    """Store ebx (the low half of acc) at `name`+`offset`."""
    if via is AddrVia.PC_REL:
        return (Insn("store_rip", Sym(name, offset)),)
    if via is AddrVia.ABS_S32:
        return (Insn("store_abs", Sym(name, offset)),)
    if via is AddrVia.ABS_U32:
        return (Insn("mov_eax_sym", Sym(name, offset)), STORE_RAX)
    if via is AddrVia.GOT_BASE:
        return (*_got_base_address(name, offset), STORE_RAX)
    if via is AddrVia.GOT_OFFSET:
        return (LEA_R11_GOT_BASE, Insn("mov_rax_got_r11", Sym(name)),
                Insn("store_rax", imm=offset))
    got = Insn("mov_rax_got", Sym(name), reloc="R_X86_64_REX_GOTPCRELX")
    return (got, Insn("store_rax", imm=offset))


@functools.lru_cache(maxsize=16)
def _start_section(main: str) -> AsmSection:
    """`_start`: call `main`, exit with its result's low byte (the same for every program
    with that main, and immutable, so made once)."""
    code = (Insn("and_rsp_16"), Insn("call", Sym(main), reloc="R_X86_64_PC32"),
            Insn("mov_edi_eax"), Insn("and_edi_255"), Insn("mov_eax_231"), Insn("syscall"))
    item = Item("_start", Binding.GLOBAL, 16, code=code, is_function=True)
    return AsmSection(START_SECTION, SectionKind.TEXT, 16, None, (item,))


class Lowerer:
    # GOT_INDIRECT calls in functions of even seed are made as `jmp *f@GOTPCREL(%rip)`, the
    # -fno-plt tail call, from a local trampoline: the same call in another relaxable form.
    # Chosen by the function, not the object, so that COMDAT copies stay byte-identical.
    GOT_JUMPS = True

    def __init__(self, program: Program) -> None:
        self.jumps = False  # GOT_JUMPS applies to the function being lowered
        self.program = program
        self.resolver = resolver_of(program)

    def field_at(self, owner: int, item: str, index: int) -> tuple[int, int]:
        """(offset, width) of field `index` of data item `item` as seen from object `owner`."""
        d = self.resolver.resolve(owner, item).definition
        if isinstance(d, DataItem):
            return d.offset_of(index), d.fields[index].width
        return 4 * index, 4  # a libtrace data object: 4-byte words

    def step(self, owner: int, step: Step) -> list[Insn]:
        if isinstance(step, IfOdd):
            return [Insn("skip_if_even", body=tuple(self.step(owner, step.step)))]
        if isinstance(step, Call):
            calls: tuple[Insn, ...] = _calls_to(step.via, step.target)
            if step.via is CallVia.GOT_INDIRECT and self.GOT_JUMPS and self.jumps:
                calls = (Insn("call_got_jump", Sym(step.target)),)
            return [*_args(step.target, step.args), *calls, *MIX]
        if isinstance(step, CallTable):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            entry = table.definition.fields[step.index]
            assert isinstance(entry, Ref)
            offset = table.definition.offset_of(step.index)
            return [*_args(entry.target, step.args),
                    *_load(step.table, offset, entry.width, step.via), CALL_RAX, *MIX]
        if isinstance(step, LoadThrough):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            offset = table.definition.offset_of(step.index)
            return [*_load(step.table, offset, 8, step.via), Insn("load_rax", width=4), *MIX]
        if isinstance(step, AddrMask):
            return [*_address(step.target, step.via), Insn("and_rax_imm", imm=step.mask),
                    *MIX]
        if isinstance(step, AddrNonNull):
            return [*_address(step.target, step.via), NONNULL_RAX, *MIX]
        if isinstance(step, Load):
            offset, width = self.field_at(owner, step.item, step.index)
            return [*_load(step.item, offset, width, step.via), *MIX]
        assert isinstance(step, Store)
        offset, _ = self.field_at(owner, step.item, step.index)
        return list(_store(step.item, offset, step.via))

    def function(self, owner: int, fn: Function) -> Item:
        self.jumps = fn.seed % 2 == 0
        code = [*PROLOGUE, Insn("mov_ebx_imm", imm=fn.seed)]
        for s in fn.steps:
            code += self.step(owner, s)
        code += EPILOGUE
        return Item(fn.name, fn.binding, fn.align, code=tuple(code), is_function=True)

    def start(self) -> AsmSection:
        return _start_section(self.program.main)

    def section(self, owner: int, obj: ObjectModel, sec: Section) -> AsmSection:
        items: list[Item] = [self.function(owner, f) for f in obj.functions
                             if f.section == sec.name]
        items += [Item(d.name, d.binding, d.align, fields=d.fields)
                  for d in obj.data if d.section == sec.name]
        return AsmSection(sec.name, sec.kind, sec.align, sec.group, tuple(items))

    def object(self, owner: int) -> AsmObject:
        obj = self.program.objects[owner]
        sections = [self.section(owner, obj, s) for s in obj.sections]
        if owner == 0:
            sections.insert(0, self.start())
        commons = tuple(d for d in obj.data if d.section is None)
        return AsmObject(obj.name, tuple(sections), obj.absolutes, commons, obj.weak_refs)


def lower(program: Program) -> list[AsmObject]:
    lowerer = Lowerer(program)
    return [lowerer.object(i) for i in range(len(program.objects))]
