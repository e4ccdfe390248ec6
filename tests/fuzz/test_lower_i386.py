"""The i386 lowering: each model form gets the relocation fuzz.lower_i386's table names,
wide fields become words, COMDAT code keeps the based GOT form, and arity-0 calls push
nothing."""

from __future__ import annotations

import pytest

from fuzz.assemble_i386 import assemble_i386
from fuzz.encode_i386 import EBX
from fuzz.lower_i386 import I386Choices, _word_fields, lower_i386
from fuzz.model import (
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    SelfRel,
)

SECTIONS = (Section(".text", SectionKind.TEXT, 16), Section(".data", SectionKind.DATA, 4))
CELL = DataItem("lh_v0", Binding.GLOBAL, ".data", 4, (Const(4, 1), Const(4, 2)))


def _relocs(step: Call | Load, no_base: bool = False) -> list[str]:
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 0, (step,))
    program = Program((ObjectModel("o0", SECTIONS, functions=(main,), data=(CELL,)),), (1,))
    (obj,) = lower_i386(program, I386Choices(frozenset({0}) if no_base else frozenset()))
    image = assemble_i386(obj)
    text = next(s for s in image.sections if s.name == ".text")
    # drop the prologue's thunk call and GOTPC
    return [r.type for r in text.relocs][2:]


@pytest.mark.parametrize(("via", "want"), [
    (CallVia.DIRECT, ["R_386_PC32"]), (CallVia.PLT, ["R_386_PLT32"]),
    (CallVia.GOT_INDIRECT, ["R_386_GOT32X"]), (CallVia.GOT_LOAD, ["R_386_GOT32X"]),
    (CallVia.GOT_LOAD_STRICT, ["R_386_GOT32"]),
])
def test_calls(via: CallVia, want: list[str]) -> None:
    assert _relocs(Call("lt1_f2_a2", via, (7,))) == want


@pytest.mark.parametrize(("via", "want"), [
    (AddrVia.PC_REL, ["R_386_PC32", "R_386_PC32"]),  # the thunk call, then the operand
    (AddrVia.ABS_S32, ["R_386_32"]), (AddrVia.ABS_U32, ["R_386_32"]),
    (AddrVia.GOT, ["R_386_GOT32X"]), (AddrVia.GOT_BASE, ["R_386_GOTOFF"]),
    (AddrVia.GOT_OFFSET, ["R_386_GOT32"]),
])
def test_addressing(via: AddrVia, want: list[str]) -> None:
    assert _relocs(Load("lh_v0", 1, via)) == want


def test_wide_fields_become_words() -> None:
    fields = (Const(4, 9), SelfRel(8, 2), SelfRel(8, 40), Ref(8, "f", 3),
              Const(8, 0x1122334455667788))
    assert _word_fields(fields) == (
        Const(4, 9), SelfRel(4, 2), Const(4, 0xFFFFFFFF),  # 2 - 4 < 0: negative
        SelfRel(4, 40), Const(4, 0),  # 40 - 12 >= 0
        Ref(4, "f", 3), Const(4, 0),
        Const(4, 0x55667788), Const(4, 0x11223344))


def test_no_base_choice_spares_comdat_code() -> None:
    def got_regs(group: str | None) -> list[int]:
        sec = Section(".text.lh_f1", SectionKind.TEXT, 16, group)
        fn = Function("lh_f1", Binding.GLOBAL, sec.name, 1, 0,
                      (Call("lt1_f0_a0", CallVia.GOT_INDIRECT),))
        main = Function("lh_main", Binding.GLOBAL, ".text", 1, 0, ())
        program = Program((ObjectModel("o0", (SECTIONS[0], sec), functions=(main, fn)),), (1,))
        (obj,) = lower_i386(program, I386Choices(frozenset({0})))
        return [i.reg for s in obj.sections for item in s.items for i in item.code
                if i.op == "call_got"]

    assert got_regs(None) == [0]
    assert got_regs("lh_f1") == [EBX]


def test_arity_zero_import_pushes_nothing() -> None:
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 0,
                    (Call("lt1_f0_a0", CallVia.PLT, (1, 2, 3, 4, 5)),))
    program = Program((ObjectModel("o0", SECTIONS, functions=(main,)),), (1,))
    (obj,) = lower_i386(program)
    ops = [i.op for s in obj.sections for item in s.items if item.name == "lh_main"
           for i in item.code]
    assert "push_imm" not in ops and "sub_esp" not in ops and "add_esp" not in ops
