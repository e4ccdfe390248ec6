"""Lowering a Mach-O i386 subset model (fuzz.macho.subset_i386) to i386 Darwin code.

fuzz.lower_i386's instruction selection (acc in esi:edi, the MIX step, cdecl arguments
with esp 16-aligned at every call, 8-byte fields as two words, the same AsmObject records)
with Darwin's addressing instead of the GOT (fuzz.macho.encode_i386 has the forms):

| model | i386 Darwin form | object relocation |
|---|---|---|
| CallVia.DIRECT / PLT | `calll _f` | VANILLA pc-relative (extern, non-extern, or none in one section) |
| CallVia.GOT_INDIRECT | `calll *L_f$non_lazy_ptr-L$pb(%ebx)` | LOCAL_SECTDIFF + PAIR to the slot |
| CallVia.GOT_LOAD(_STRICT) | `movl L_f$non_lazy_ptr-L$pb(%ebx), %eax; calll *%eax` | the same |
| AddrVia.PC_REL / GOT_BASE | `leal _x+off-L$pb(%ebx), %eax` | SECTDIFF (global _x) or LOCAL_SECTDIFF + PAIR |
| AddrVia.GOT / GOT_OFFSET | `movl L_x$non_lazy_ptr-L$pb(%ebx), %eax`, then +off | LOCAL_SECTDIFF + PAIR to the slot |
| AddrVia.ABS_S32 / ABS_U32 | `movl _x+off, %eax` / `movl $_x+off, %eax` | VANILLA absolute (extern, non-extern or scattered) |

A difference needs both ends in this object, so a pc-relative reference to a symbol the
object does not define in a section (another object's, a COMMON) goes through a non-lazy
pointer; and a non-lazy pointer is made only for external symbols (clang never makes one
for a static), so GOT references and GOT calls to a static of the object become the
pc-relative / direct forms.  None of this changes what the program does.  The entry
`start` exits through `int $0x80` with eax = 1 (SYS_exit) and the status on the stack
above a dummy return address, as libSystem's syscall stubs leave it, or (a drawn choice) by
calling libSystem's `_exit` through a stub with esp 16-aligned, which the emulated
libSystem checks.
"""

from __future__ import annotations

from dataclasses import replace

from ..encode_i386 import MIX
from ..encode_x86 import Insn, Sym
from ..lower_i386 import Lowerer386, _word_fields
from ..lower_x86 import AsmObject, AsmSection, Item
from ..model import (
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    DataItem,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    SectionKind,
    Step,
    Store,
)

START = "start"
LIBSYSTEM_EXIT = "exit"  # C name of libSystem's exit(3)
START_SECTION = ".text"  # the entry must lie in __TEXT,__text (oracle.check)
_PC_REL_VIAS = (AddrVia.PC_REL, AddrVia.GOT_BASE)
_SLOT_VIAS = (AddrVia.GOT, AddrVia.GOT_OFFSET)


def _in_sections(obj: ObjectModel) -> set[str]:
    """Names the object defines in one of its sections (functions and non-COMMON data)."""
    return {f.name for f in obj.functions} | {d.name for d in obj.data if d.section is not None}


def _statics(obj: ObjectModel) -> set[str]:
    return {f.name for f in obj.functions if f.binding is Binding.LOCAL} | {
        d.name for d in obj.data if d.binding is Binding.LOCAL}


class MachoLowerer386(Lowerer386):
    def _via(self, owner: int, name: str, via: AddrVia) -> AddrVia:
        """The addressing a reference from `owner` really uses (see the module docstring)."""
        obj = self.program.objects[owner]
        if via in _SLOT_VIAS and name in _statics(obj):
            return AddrVia.PC_REL
        if via in _PC_REL_VIAS and name not in _in_sections(obj):
            return AddrVia.GOT
        return via

    def _address(self, owner: int, name: str, offset: int, via: AddrVia
                 ) -> tuple[list[Insn], int]:
        """Instructions leaving an address in eax, and the displacement still to add."""
        via = self._via(owner, name, via)
        if via in _PC_REL_VIAS:
            return [Insn("lea_eax_picrel", Sym(name, offset))], 0
        if via in _SLOT_VIAS:
            return [Insn("mov_eax_nlp", Sym(name))], offset
        return [Insn("mov_eax_sym", Sym(name, offset))], 0

    def _load(self, owner: int, name: str, offset: int, width: int, via: AddrVia,
              value: bool = True) -> list[Insn]:
        if self._via(owner, name, via) is AddrVia.ABS_S32:
            code = [Insn("load_abs", Sym(name, offset), width=width)]
        else:
            code, disp = self._address(owner, name, offset, via)
            code.append(Insn("load_eax", imm=disp, width=width))
        return [*code, Insn("xor_edx_edx")] if value and width < 8 else code

    def _call(self, owner: int, target: str, via: CallVia) -> list[Insn]:
        if via in (CallVia.DIRECT, CallVia.PLT) or target in _statics(
                self.program.objects[owner]):
            return [Insn("call", Sym(target))]
        if via is CallVia.GOT_INDIRECT:
            return [Insn("call_nlp", Sym(target))]
        return [Insn("mov_eax_nlp", Sym(target)), Insn("call_eax")]

    def step(self, owner: int, step: Step, based: bool = True) -> list[Insn]:
        if isinstance(step, IfOdd):
            return [Insn("skip_if_even", body=tuple(self.step(owner, step.step)))]
        if isinstance(step, Call):
            return self.call_with_args(step.target, step.args,
                                       self._call(owner, step.target, step.via))
        if isinstance(step, CallTable):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            entry = table.definition.fields[step.index]
            assert isinstance(entry, Ref)
            offset = table.definition.offset_of(step.index)
            load = self._load(owner, step.table, offset, 4, step.via, value=False)
            return self.call_with_args(entry.target, step.args, [*load, Insn("call_eax")])
        if isinstance(step, Load):
            offset, width = self.field_at(owner, step.item, step.index)
            return [*self._load(owner, step.item, offset, width, step.via), *MIX]
        assert isinstance(step, Store)
        offset, _ = self.field_at(owner, step.item, step.index)
        if self._via(owner, step.item, step.via) is AddrVia.ABS_S32:
            return [Insn("store_abs", Sym(step.item, offset))]
        code, disp = self._address(owner, step.item, offset, step.via)
        return [*code, Insn("store_eax", imm=disp)]

    def function(self, owner: int, fn: Function, comdat: bool) -> Item:
        code = [Insn("push_ebx"), Insn("push_esi"), Insn("push_edi"), Insn("pic_base"),
                Insn("mov_esi_imm", imm=fn.seed), Insn("xor_edi_edi")]
        for s in fn.steps:
            code += self.step(owner, s)
        code += [Insn("mov_eax_esi"), Insn("mov_edx_edi"), Insn("pop_edi"), Insn("pop_esi"),
                 Insn("pop_ebx"), Insn("ret")]
        return Item(fn.name, fn.binding, fn.align, code=tuple(code), is_function=True)

    def __init__(self, program: Program, exit_call: bool = False) -> None:
        super().__init__(program)
        self.exit_call = exit_call

    def start(self) -> AsmSection:
        """`start`: realign the stack, call main, exit with its low byte: through the system
        call, or (`exit_call`) by calling libSystem's `_exit` through a stub, esp 16-aligned
        at the call as the emulated libSystem checks (12 bytes of padding and the status)."""
        leave: tuple[Insn, ...]
        if self.exit_call:
            leave = (Insn("sub_esp", imm=12), Insn("push_eax"), Insn("call", Sym(LIBSYSTEM_EXIT)))
        else:
            leave = (Insn("push_eax"), Insn("push_eax"), Insn("mov_eax_1"), Insn("int_80"))
        code = (Insn("and_esp_16"), Insn("call", Sym(self.program.main)),
                Insn("movzbl_eax_al"), *leave)
        item = Item(START, Binding.GLOBAL, 16, code=code, is_function=True)
        return AsmSection(START_SECTION, SectionKind.TEXT, 16, None, (item,))

    def object(self, owner: int) -> AsmObject:
        """The object's sections (the entry first in o0's .text, one Mach-O section per
        name), its absolute symbols and COMMONs; no PC thunks."""
        obj: ObjectModel = self.program.objects[owner]
        sections: list[AsmSection] = []
        for sec in obj.sections:
            items = [self.function(owner, f, False) for f in obj.functions
                     if f.section == sec.name]
            items += [Item(d.name, d.binding, d.align, fields=_word_fields(d.fields))
                      for d in obj.data if d.section == sec.name]
            sections.append(AsmSection(sec.name, sec.kind, sec.align, None, tuple(items)))
        if owner == 0:
            start = self.start()
            text = next((s for s in sections if s.name == START_SECTION), None)
            if text is None:
                sections.insert(0, start)
            else:
                merged = replace(text, align=max(text.align, start.align),
                                 items=(*start.items, *text.items))
                sections = [merged if s is text else s for s in sections]
        commons = tuple(DataItem(d.name, d.binding, None, d.align, _word_fields(d.fields))
                        for d in obj.data if d.section is None)
        return AsmObject(obj.name, tuple(sections), obj.absolutes, commons)
