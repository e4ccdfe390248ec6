"""The Mach-O i386 every-flavour sample: the i386 sample (fuzz.samples_i386: SAMPLE plus
R_386_16/8 fields at their unsigned edges, a negative 1-byte pc-relative datum, weak code
and data, a merged COMMON, absolute loads of imported data, a pointer table holding an
import), the Mach-O sample's object of dynamic-table cases (pointers to imported data and to
local data with addends, three pages of __bss), and an object of what only Mach-O i386 has
choices for: pc-relative data of 1, 2 and 4 bytes in a static item (LOCAL_SECTDIFF pairs or
pc-relative VANILLA entries), absolute loads at an offset into this object's own data
(scattered entries), pointers with addends to its own data, a call to a static function of
the same section (resolved by the assembler, or an entry), all mapped into the Mach-O i386
subset.

With the variants `SAMPLE_VARIANTS` (assembler choices that together use every form:
extern, plain non-extern and scattered VANILLA, pc-relative VANILLA of 1, 2 and 4 bytes,
calls resolved in the section, SECTDIFF and LOCAL_SECTDIFF pairs of 1, 2 and 4 bytes,
non-lazy pointer slots, jump-table entries, private externs, weak references) it is every Mach-O i386
property's fixed example and the input of tests/test_harness_power_macho_i386.py."""

from __future__ import annotations

from dataclasses import replace

from ..model import (
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Ref,
    Section,
    SectionKind,
    SelfRel,
    Store,
)
from ..samples_i386 import SAMPLE_I386
from .samples import _DYNAMIC_TABLES
from .subset_i386 import macho_i386_subset

_OWN_DATA = ObjectModel(
    "o4",
    (Section(".text", SectionKind.TEXT, 16), Section(".data", SectionKind.DATA, 4)),
    functions=(
        Function("lh_f9", Binding.GLOBAL, ".text", 16, 21, (
            Load("lh_q7", 1, AddrVia.PC_REL),
            Load("lh_q7", 2, AddrVia.ABS_S32),
            Load("lh_q7", 3, AddrVia.GOT),
            Load("lh_q8", 2, AddrVia.ABS_S32),
            Store("lh_q8", 1, AddrVia.ABS_U32),
            Load("lh_q8", 1, AddrVia.PC_REL),
            Call("lh_s10", CallVia.DIRECT),
            Load("lh_q8", 4, AddrVia.GOT_OFFSET),
        )),
        Function("lh_s10", Binding.LOCAL, ".text", 1, 22, (
            Load("lh_q7", 4, AddrVia.ABS_U32),
            Load("lh_q8", 0, AddrVia.GOT),
        )),
    ),
    data=(
        DataItem("lh_q7", Binding.LOCAL, ".data", 4, (
            Const(4, 5), SelfRel(2, 2), SelfRel(1, 1), SelfRel(4, -3), Const(2, 0x1234),
            Ref(4, "lh_q8", 4), Ref(4, "lh_q8", 8))),
        DataItem("lh_q8", Binding.GLOBAL, ".data", 4, (
            Const(4, 0x51), Const(4, 0x52), Const(4, 0x53), Ref(4, "lh_q7", 6),
            SelfRel(2, -1))),
    ),
)


def _sample() -> tuple[ObjectModel, ...]:
    o0 = SAMPLE_I386.objects[0]
    main = o0.functions[0]
    assert main.name == "lh_main"
    main = replace(main, steps=(*main.steps, Call("lh_f9", CallVia.PLT)))
    o0 = replace(o0, functions=(main, *o0.functions[1:]))
    return (o0, *SAMPLE_I386.objects[1:], replace(_DYNAMIC_TABLES, name="o3"), _OWN_DATA)


MACHO_I386_SAMPLE = macho_i386_subset(replace(SAMPLE_I386, objects=_sample()))
SAMPLE_VARIANTS = (0, 1, 2)
