"""The dylib property's fixed example: the Mach-O every-flavour sample plus an object that
only a dylib makes interesting, split so that o1 (functions calling libtrace lazily, data
with pc-relative self-references and absolute-symbol fields) and o3 go into the dylib:

- o3's `lh_t7` is a table of pointers to the dylib's own functions (rebases in the dylib's
  __data, after its lazy pointers), called by the executable through the GOT;
- o3's `lh_f7` calls libtrace lazily through the dylib's own stubs, loads the executable's
  COMMON `lh_v4` (flat lookup back into the executable) and calls o1's `lh_f2`;
- the executable calls `lh_f7` through a stub bound to the dylib, and o2's pointers to
  o1's `lh_v3` (with an addend) are binds to the dylib."""

from __future__ import annotations

from dataclasses import replace

from ..model import (
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Ref,
    Section,
    SectionKind,
)
from .samples import MACHO_SAMPLE
from .subset import macho_subset

_DYLIB_ONLY = ObjectModel(
    "o3",
    (Section(".text", SectionKind.TEXT, 16), Section(".data", SectionKind.DATA, 8)),
    functions=(
        Function("lh_f7", Binding.GLOBAL, ".text", 16, 21,
                 (Call("lt1_f1_a1", CallVia.PLT), Load("lh_v4", 3, AddrVia.PC_REL),
                  Call("lh_f2", CallVia.PLT))),
        Function("lh_f8", Binding.LOCAL, ".text", 16, 22,
                 (Call("lt2_f3_a3", CallVia.PLT, (7, 8)),)),
    ),
    data=(DataItem("lh_t7", Binding.GLOBAL, ".data", 8, (Ref(8, "lh_f7"), Ref(8, "lh_f8"))),),
)
_MAIN = MACHO_SAMPLE.objects[0].functions[0]
_EXTRA_MAIN_STEPS = (CallTable("lh_t7", 1, AddrVia.PC_REL), Call("lh_f7", CallVia.PLT),
                     CallTable("lh_t7", 0, AddrVia.PC_REL))
_O0 = replace(MACHO_SAMPLE.objects[0], functions=(
    replace(_MAIN, steps=(*_MAIN.steps, *_EXTRA_MAIN_STEPS)),
    *MACHO_SAMPLE.objects[0].functions[1:]))
DYLIB_SAMPLE = macho_subset(replace(MACHO_SAMPLE, objects=(
    _O0, *MACHO_SAMPLE.objects[1:], _DYLIB_ONLY)))
DYLIB_SAMPLE_OBJECTS = frozenset({1, 3})
