"""The model's interpreter on hand-made programs whose outcome is worked out here step by
step: resolution (locals, strong over weak, COMMON, imports), tables, stores, IfOdd."""

from __future__ import annotations

import pytest

from fuzz.libtrace import data_word, function_result
from fuzz.model import (
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    Const,
    DataItem,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    Store,
)
from fuzz.semantics import MASK64, TooBusy, TraceEntry, outcome

TEXT = (Section(".text", SectionKind.TEXT, 16), Section(".data", SectionKind.DATA, 8))


def mix(acc: int, v: int) -> int:
    return (acc * 31 + v) & MASK64


def test_strong_definition_wins_and_locals_shadow_globals() -> None:
    program = Program((
        ObjectModel("o0", TEXT, functions=(
            Function("lh_main", Binding.GLOBAL, ".text", 1, 5,
                     (Call("lh_f1", CallVia.PLT), Call("lh_f2", CallVia.DIRECT))),
            Function("lh_f1", Binding.WEAK, ".text", 1, 100, ()),
            Function("lh_f2", Binding.LOCAL, ".text", 1, 7, ()))),
        ObjectModel("o1", TEXT, functions=(
            Function("lh_f1", Binding.GLOBAL, ".text", 1, 9, ()),
            Function("lh_f2", Binding.GLOBAL, ".text", 1, 1000, ()))),
    ), (1,))
    assert outcome(program).status == mix(mix(5, 9), 7) & 0xFF


def test_imports_tables_stores_and_conditions() -> None:
    args = (0x11, 0x22, 0x33, 0x44, 0x55)
    table = DataItem("lh_v0", Binding.GLOBAL, ".data", 8,
                     (Ref(8, "lh_f1"), Ref(8, "lt2_f2_a2")))
    cells = DataItem("lh_c", Binding.GLOBAL, None, 4, (Const(4, 0), Const(4, 0)))
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 3, (
        CallTable("lh_v0", 1, AddrVia.PC_REL, args),      # lt2_f2_a2(3, 0x11)
        Store("lh_c", 1, AddrVia.GOT),
        Load("lh_c", 1, AddrVia.ABS_S32),
        Load("lt1_d1", 2, AddrVia.PC_REL),
        IfOdd(Call("lt1_f1_a1", CallVia.GOT_LOAD)),
        CallTable("lh_v0", 0, AddrVia.ABS_U32),
    ))
    f1 = Function("lh_f1", Binding.LOCAL, ".text", 1, 77, ())
    program = Program((ObjectModel("o0", TEXT, functions=(main, f1), data=(table, cells)),),
                      (1, 2))
    r1 = function_result("lt2_f2_a2", (3, 0x11))
    acc = mix(3, r1)
    acc = mix(acc, acc & 0xFFFFFFFF)  # the stored low half, loaded back
    acc = mix(acc, data_word("lt1_d1", 2))
    trace = [TraceEntry("libtrace2.so", "lt2_f2_a2", (3, 0x11))]
    if acc & 1:
        low = acc & 0xFFFFFFFF  # calls pass acc's low 32 bits
        trace.append(TraceEntry("libtrace1.so", "lt1_f1_a1", (low,)))
        acc = mix(acc, function_result("lt1_f1_a1", (low,)))
    acc = mix(acc, 77)
    got = outcome(program)
    assert got.trace == tuple(trace)
    assert got.status == acc & 0xFF


def test_absolute_symbol_fields_are_known_values() -> None:
    from fuzz.model import AbsSymbol

    item = DataItem("lh_w0", Binding.LOCAL, ".data", 1, (Ref(1, "lh_k0", 3), Ref(2, "lh_k0")))
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 0,
                    (Load("lh_w0", 0, AddrVia.PC_REL), Load("lh_w0", 1, AddrVia.GOT)))
    program = Program((ObjectModel("o0", TEXT, functions=(main,), data=(item,),
                                   absolutes=(AbsSymbol("lh_k0", 0x40),)),), (1,))
    assert outcome(program).status == mix(mix(0, 0x43), 0x40) & 0xFF


def test_runaway_programs_are_refused() -> None:
    # each level calls the next twice: 2**10 calls
    fns = tuple(Function(f"lh_f{i}", Binding.GLOBAL, ".text", 1, 0,
                         (Call(f"lh_f{i + 1}", CallVia.PLT),) * 2 if i < 10 else ())
                for i in range(11))
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 0, (Call("lh_f0", CallVia.PLT),))
    with pytest.raises(TooBusy):
        outcome(Program((ObjectModel("o0", TEXT, functions=(main, *fns)),), (1,)))
