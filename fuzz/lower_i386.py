"""Lowering a program model to i386 instructions and data directives, object by object.

The output records are fuzz.lower_x86's (`AsmObject` of `AsmSection`s of `Item`s), so the
text writer (fuzz.emit_asm) serves both; fuzz.assemble_i386 + fuzz.emit_elf32 are our own
ELF32 REL back end.  How each model form becomes i386 code:

| model | i386 form | relocation |
|---|---|---|
| CallVia.DIRECT | `call f` | R_386_PC32 |
| CallVia.PLT | `call f@PLT` | R_386_PLT32 |
| CallVia.GOT_INDIRECT | `call *f@GOT(%ebx)`, or `call *f@GOT` (no base, -fno-plt non-PIC) | R_386_GOT32X |
| CallVia.GOT_LOAD | `movl f@GOT(%ebx), %eax; call *%eax` | R_386_GOT32X |
| CallVia.GOT_LOAD_STRICT | the same load, not relaxable | R_386_GOT32 |
| AddrVia.PC_REL | `call __x86.get_pc_thunk.ax; addl $x-., %eax` | R_386_PC32 |
| AddrVia.ABS_S32 | `movl x, %eax` (absolute displacement) | R_386_32 |
| AddrVia.ABS_U32 | `movl $x, %eax` (immediate), then through eax | R_386_32 |
| AddrVia.GOT | `movl x@GOT(%ebx), %eax` (or no base) | R_386_GOT32X |
| AddrVia.GOT_BASE | `leal x@GOTOFF(%ebx), %eax` | R_386_GOTOFF |
| AddrVia.GOT_OFFSET | `movl x@GOT(%ebx), %eax`, not relaxable | R_386_GOT32 |

Every function sets %ebx to the GOT base with `call __x86.get_pc_thunk.bx; addl
$_GLOBAL_OFFSET_TABLE_, %ebx` (R_386_GOTPC), as -fPIC code does; the thunks are hidden
COMDAT functions, one copy kept.  Data fields wider than a word become words: an 8-byte
`Ref` is the address (R_386_32) and a zero high word (addresses are 32-bit), an 8-byte
`SelfRel` is a PC32 low word and its sign as the high word (the model knows the sign: the
field and its item are in one section).  So every model form has an i386 form and the
strategies need no i386 filter; the 32S/32 distinction of x86-64 is moot (both are R_386_32).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import libtrace
from .encode_i386 import EBX, MIX, PC_THUNK_AX, PC_THUNK_BX
from .encode_x86 import Insn, Sym
from .lower_x86 import START_SECTION, AsmObject, AsmSection, Item
from .model import (
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    Const,
    DataItem,
    Field,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    SectionKind,
    SelfRel,
    Step,
    Store,
)
from .semantics import resolver_of

THUNKS = (PC_THUNK_BX, PC_THUNK_AX)


@dataclass(frozen=True)
class I386Choices:
    """Lowering choices that do not change what a program does: the objects whose
    `AddrVia.GOT` and `CallVia.GOT_INDIRECT` references use no base register (the
    absolute `f@GOT` form, G + A, valid in a non-PIC executable).  COMDAT functions keep
    the based form everywhere: their copies must be identical in every object."""

    no_base_objects: frozenset[int] = frozenset()


def _got(name: str, based: bool, reloc: str = "R_386_GOT32X") -> Insn:
    return Insn("mov_eax_got", Sym(name), reg=EBX if based else 0, reloc=reloc)


def _address(name: str, offset: int, via: AddrVia, based: bool) -> tuple[list[Insn], int]:
    """Instructions leaving an address in eax, and the displacement still to add to it."""
    if via is AddrVia.PC_REL:
        return [Insn("call", Sym(PC_THUNK_AX), reloc="R_386_PC32"),
                Insn("add_eax_pcrel", Sym(name, offset))], 0
    if via is AddrVia.ABS_U32 or via is AddrVia.ABS_S32:
        return [Insn("mov_eax_sym", Sym(name, offset))], 0
    if via is AddrVia.GOT_BASE:
        return [Insn("lea_eax_gotoff", Sym(name, offset))], 0
    if via is AddrVia.GOT_OFFSET:
        return [_got(name, True, "R_386_GOT32")], offset
    return [_got(name, based)], offset


def _load(name: str, offset: int, width: int, via: AddrVia, based: bool,
          value: bool = True) -> list[Insn]:
    """edx:eax = the `width` bytes at name+offset, zero-extended (eax only, when the load is
    not a `value` but a pointer to call)."""
    if via is AddrVia.ABS_S32:  # an absolute displacement in the load itself
        code = [Insn("load_abs", Sym(name, offset), width=width)]
    else:
        code, disp = _address(name, offset, via, based)
        code.append(Insn("load_eax", imm=disp, width=width))
    return [*code, Insn("xor_edx_edx")] if value and width < 8 else code


def _store(name: str, offset: int, via: AddrVia, based: bool) -> list[Insn]:
    """Store esi (acc's low half) at name+offset."""
    if via is AddrVia.ABS_S32:
        return [Insn("store_abs", Sym(name, offset))]
    code, disp = _address(name, offset, via, based)
    return [*code, Insn("store_eax", imm=disp)]


def _word_fields(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """The item's fields with every 8-byte field split into two words (see the docstring)."""
    out: list[Field] = []
    offset = 0
    for f in fields:
        if f.width == 8 and isinstance(f, Ref):
            out += [Ref(4, f.target, f.addend), Const(4, 0)]
        elif f.width == 8 and isinstance(f, SelfRel):
            negative = f.addend - offset < 0
            out += [SelfRel(4, f.addend), Const(4, 0xFFFFFFFF if negative else 0)]
        elif f.width == 8 and isinstance(f, Const):
            out += [Const(4, f.value & 0xFFFFFFFF), Const(4, (f.value >> 32) & 0xFFFFFFFF)]
        else:
            out.append(f)
        offset += f.width
    return tuple(out)


def _thunk(name: str, register_op: str) -> AsmSection:
    item = Item(name, Binding.GLOBAL, 1, code=(Insn(register_op), Insn("ret")),
                is_function=True)
    return AsmSection(f".text.{name}", SectionKind.TEXT, 1, name, (item,))


class Lowerer386:
    def __init__(self, program: Program, choices: I386Choices = I386Choices()) -> None:
        self.program = program
        self.choices = choices
        self.resolver = resolver_of(program)

    def field_at(self, owner: int, item: str, index: int) -> tuple[int, int]:
        d = self.resolver.resolve(owner, item).definition
        if isinstance(d, DataItem):
            return d.offset_of(index), d.fields[index].width
        return 4 * index, 4  # a libtrace data object: 4-byte words

    def call_with_args(self, target: str, consts: tuple[int, ...], call: list[Insn]
                       ) -> list[Insn]:
        """cdecl: acc's low word then the constants on the stack, esp 16-aligned at the
        call; a libtrace function returns 32 bits in eax (edx is cleared), a function of
        the model returns acc in edx:eax."""
        imp = libtrace.IMPORTS.get(target)
        if imp is None or not imp.is_function:
            return [*call, *MIX]
        arity = libtrace.arity_of(target)
        pad = -4 * arity % 16
        code = [Insn("sub_esp", imm=pad)] if pad else []
        code += [Insn("push_imm", imm=c) for c in reversed(consts[:max(arity - 1, 0)])]
        code += [Insn("push_esi")] if arity else []
        code += call
        code += [Insn("add_esp", imm=pad + 4 * arity)] if pad + 4 * arity else []
        return [*code, Insn("xor_edx_edx"), *MIX]

    def step(self, owner: int, step: Step, based: bool) -> list[Insn]:
        if isinstance(step, IfOdd):
            return [Insn("skip_if_even", body=tuple(self.step(owner, step.step, based)))]
        if isinstance(step, Call):
            sym = Sym(step.target)
            call = {
                CallVia.DIRECT: [Insn("call", sym, reloc="R_386_PC32")],
                CallVia.PLT: [Insn("call", sym, reloc="R_386_PLT32")],
                CallVia.GOT_INDIRECT: [Insn("call_got", sym, reg=EBX if based else 0)],
                CallVia.GOT_LOAD: [_got(step.target, True), Insn("call_eax")],
                CallVia.GOT_LOAD_STRICT: [_got(step.target, True, "R_386_GOT32"),
                                          Insn("call_eax")],
            }[step.via]
            return self.call_with_args(step.target, step.args, call)
        if isinstance(step, CallTable):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            entry = table.definition.fields[step.index]
            assert isinstance(entry, Ref)
            offset = table.definition.offset_of(step.index)  # the low word: the address
            load = _load(step.table, offset, 4, step.via, based, value=False)
            return self.call_with_args(entry.target, step.args, [*load, Insn("call_eax")])
        if isinstance(step, Load):
            offset, width = self.field_at(owner, step.item, step.index)
            return [*_load(step.item, offset, width, step.via, based), *MIX]
        assert isinstance(step, Store)
        offset, _ = self.field_at(owner, step.item, step.index)
        return _store(step.item, offset, step.via, based)

    def function(self, owner: int, fn: Function, comdat: bool) -> Item:
        based = comdat or owner not in self.choices.no_base_objects
        code = [Insn("push_ebx"), Insn("push_esi"), Insn("push_edi"),
                Insn("call", Sym(PC_THUNK_BX), reloc="R_386_PC32"), Insn("add_ebx_got_base"),
                Insn("mov_esi_imm", imm=fn.seed), Insn("xor_edi_edi")]
        for s in fn.steps:
            code += self.step(owner, s, based)
        code += [Insn("mov_eax_esi"), Insn("mov_edx_edi"), Insn("pop_edi"), Insn("pop_esi"),
                 Insn("pop_ebx"), Insn("ret")]
        return Item(fn.name, fn.binding, fn.align, code=tuple(code), is_function=True)

    def start(self) -> AsmSection:
        code = (Insn("and_esp_16"), Insn("call", Sym(self.program.main), reloc="R_386_PC32"),
                Insn("movzbl_ebx_al"), Insn("mov_eax_252"), Insn("int_80"))
        item = Item("_start", Binding.GLOBAL, 16, code=code, is_function=True)
        return AsmSection(START_SECTION, SectionKind.TEXT, 16, None, (item,))

    def object(self, owner: int) -> AsmObject:
        obj: ObjectModel = self.program.objects[owner]
        sections = [self.start()] if owner == 0 else []
        for sec in obj.sections:
            items = [self.function(owner, f, sec.group is not None) for f in obj.functions
                     if f.section == sec.name]
            items += [Item(d.name, d.binding, d.align, fields=_word_fields(d.fields))
                      for d in obj.data if d.section == sec.name]
            sections.append(AsmSection(sec.name, sec.kind, sec.align, sec.group,
                                       tuple(items)))
        sections += [_thunk(PC_THUNK_BX, "mov_ebx_return_address"),
                     _thunk(PC_THUNK_AX, "mov_eax_return_address")]
        commons = tuple(DataItem(d.name, d.binding, None, d.align, _word_fields(d.fields))
                        for d in obj.data if d.section is None)
        return AsmObject(obj.name, tuple(sections), obj.absolutes, commons)


def lower_i386(program: Program, choices: I386Choices = I386Choices()) -> list[AsmObject]:
    lowerer = Lowerer386(program, choices)
    return [lowerer.object(i) for i in range(len(program.objects))]
