"""A hand-made program for i386 that exercises every i386 flavour: fuzz.samples.SAMPLE (every
model form) plus an object with what i386 adds or puts at an edge — an R_386_16 field at
0xffc0 and an R_386_8 field at 0xff (unsigned edges, above the signed limits), a negative
R_386_PC8, a 64-bit constant loaded as two words, a weak function and weak data reached
through %ebx-based GOT32X while o0 uses the no-base `f@GOT` forms (`SAMPLE_I386_CHOICES`),
a COMMON merged with a larger declaration, imported data by COPY (absolute load) and a
pointer table with an import.  The i386 properties and the i386 harness-power test always
run it, so what they catch does not hinge on what Hypothesis draws."""

from __future__ import annotations

from dataclasses import replace

from .lower_i386 import I386Choices
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
from .samples import SAMPLE

_EXTRA_MAIN_STEPS = (
    Call("lh_f3", CallVia.PLT),
    Load("lh_v5", 1, AddrVia.GOT),
    Load("lh_v5", 2, AddrVia.ABS_S32),
    CallTable("lh_v6", 1, AddrVia.GOT, (9, 0, 0, 0, 0)),
)

_O2 = ObjectModel(
    "o2",
    (Section(".text", SectionKind.TEXT, 16), Section(".data", SectionKind.DATA, 4)),
    functions=(Function("lh_f3", Binding.WEAK, ".text", 16, 5, (
        Call("lt1_f1_a1", CallVia.GOT_INDIRECT),
        Load("lh_v5", 1, AddrVia.GOT_OFFSET),
        Load("lh_v5", 3, AddrVia.PC_REL),
        Load("lh_v5", 4, AddrVia.ABS_S32),
        Load("lh_v5", 4, AddrVia.GOT),
        Load("lt3_d2", 5, AddrVia.ABS_S32),
        Store("lh_v4", 1, AddrVia.GOT_BASE),
        IfOdd(Load("lh_v4", 1, AddrVia.ABS_U32)),
        CallTable("lh_v6", 0, AddrVia.GOT_BASE),
    )),),
    data=(
        DataItem("lh_v5", Binding.WEAK, ".data", 4,
                 (Const(4, 0x11), Ref(2, "lh_k1", 0x40), Ref(1, "lh_k2", 0x0F), SelfRel(1, -20),
                  Const(8, 0x1122334455667788))),
        DataItem("lh_v6", Binding.GLOBAL, ".data", 8, (Ref(4, "lh_s2"), Ref(8, "lt2_f2_a2"))),
        DataItem("lh_v4", Binding.GLOBAL, None, 4, (Const(4, 0), Const(4, 0))),
    ),
    absolutes=(AbsSymbol("lh_k1", 0xFF80), AbsSymbol("lh_k2", 0xF0)),
)
_O2 = replace(_O2, functions=(*_O2.functions, Function("lh_s2", Binding.LOCAL, ".text", 1, 13, (
    Load("lh_v5", 0, AddrVia.GOT_BASE),))))


def _sample() -> Program:
    o0 = SAMPLE.objects[0]
    main = o0.functions[0]
    assert main.name == "lh_main"
    main = replace(main, steps=(*main.steps, *_EXTRA_MAIN_STEPS))
    o0 = replace(o0, functions=(main, *o0.functions[1:]))
    return replace(SAMPLE, objects=(o0, *SAMPLE.objects[1:], _O2))


SAMPLE_I386 = _sample()
SAMPLE_I386_CHOICES = I386Choices(no_base_objects=frozenset({0}))
