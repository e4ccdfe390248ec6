"""A hand-made program that exercises every flavour the model has: the fixed example of the
harness-power test and a quick smoke input (its outcome is checked in tests/fuzz)."""

from __future__ import annotations

from .model import (
    AbsSymbol,
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
    SelfRel,
    Store,
)

_MAIN_STEPS = (
    Call("lt1_f2_a2", CallVia.PLT, (5,)),
    Call("lh_s1", CallVia.DIRECT),
    Call("lh_f2", CallVia.GOT_INDIRECT),
    IfOdd(Call("lt2_f3_a3", CallVia.GOT_LOAD, (1, 2))),
    CallTable("lh_v0", 1, AddrVia.PC_REL),
    CallTable("lh_w1", 0, AddrVia.ABS_S32),
    Load("lt1_d1", 2, AddrVia.PC_REL),
    Store("lh_w2", 1, AddrVia.ABS_U32),
    Load("lh_w2", 1, AddrVia.GOT),
    Load("lh_v3", 0, AddrVia.ABS_S32),
    Load("lh_v3", 1, AddrVia.PC_REL),
    Load("lh_v3", 2, AddrVia.PC_REL),
    Load("lh_v4", 0, AddrVia.PC_REL),
    Call("lt3_f1_a1", CallVia.PLT),
    Load("lt2_d0", 1, AddrVia.GOT),
    Load("lh_v3", 3, AddrVia.PC_REL),
    Load("lh_v3", 4, AddrVia.ABS_S32),
    Load("lh_v3", 5, AddrVia.GOT),
    Load("lh_v3", 6, AddrVia.ABS_U32),
    Load("lh_v3", 0, AddrVia.GOT_BASE),
    Store("lh_w2", 0, AddrVia.GOT_OFFSET),
    Load("lh_w2", 0, AddrVia.GOT_BASE),
    Load("lt1_d1", 3, AddrVia.GOT_OFFSET),
    CallTable("lh_v0", 0, AddrVia.GOT_BASE),
)

SAMPLE = Program((
    ObjectModel("o0", (Section(".text", SectionKind.TEXT, 16),
                       Section(".data", SectionKind.DATA, 8),
                       Section(".rodata", SectionKind.RODATA, 8),
                       Section(".bss", SectionKind.BSS, 64)),
                functions=(
                    Function("lh_main", Binding.GLOBAL, ".text", 1, 7, _MAIN_STEPS),
                    Function("lh_s1", Binding.LOCAL, ".text", 16, 3,
                             (Call("lt2_f1_a1", CallVia.GOT_LOAD_STRICT),))),
                data=(DataItem("lh_v0", Binding.GLOBAL, ".data", 8,
                               (Ref(8, "lh_s1"), Ref(8, "lt1_f0_a0"))),
                      DataItem("lh_w1", Binding.LOCAL, ".rodata", 8, (Ref(8, "lh_s1"),)),
                      DataItem("lh_w2", Binding.LOCAL, ".bss", 4, (Const(4, 0), Const(4, 0))),
                      # COMMON, 8 KB: zero-fill more than a page, which must take no file
                      # space (a linker writing it out is caught by ELF-ZERO-FILL)
                      DataItem("lh_v4", Binding.GLOBAL, None, 8, (Const(4, 0),) * 2048))),
    ObjectModel("o1", (Section(".text.lh_f2", SectionKind.TEXT, 64),
                       # aligned past the page: its segment must start on 8192 too
                       Section("lh_data", SectionKind.DATA, 8192)),
                # GOT_INDIRECT calls, to an import and to a definition: `call *f@GOTPCREL`
                # from lh_f2 (odd seed), `jmp *f@GOTPCREL` from lh_f3 (even: fuzz.lower_x86)
                functions=(Function("lh_f2", Binding.GLOBAL, ".text.lh_f2", 1, 11,
                                    (Call("lt3_f6_a6", CallVia.PLT, (1, 2, 3, 4, 5)),
                                     Call("lt1_f1_a1", CallVia.GOT_INDIRECT),
                                     Call("lh_f3", CallVia.GOT_INDIRECT))),
                           Function("lh_f3", Binding.GLOBAL, ".text.lh_f2", 1, 12,
                                    (Call("lt2_f1_a1", CallVia.GOT_INDIRECT),
                                     Call("lh_f4", CallVia.GOT_INDIRECT))),
                           Function("lh_f4", Binding.GLOBAL, ".text.lh_f2", 1, 13, ())),
                data=(DataItem("lh_v3", Binding.GLOBAL, "lh_data", 4,
                               (Const(4, 0x1234), Ref(1, "lh_k0", 3), Ref(2, "lh_k0", 100),
                                SelfRel(1, 5), SelfRel(2, -3), SelfRel(8, 20),
                                SelfRel(4, 2))),),
                absolutes=(AbsSymbol("lh_k0", 0x50),)),
), (1, 2, 3))
