"""The Mach-O every-flavour sample: the fuzzers' hand-made SAMPLE mapped into the Mach-O
subset, plus one object with what the Mach-O dynamic tables must carry and SAMPLE leaves to
chance: pointers to imported data with addends (binds with an addend in modern mode,
external relocations with the addend in the word in classic mode), a pointer to local data
with an addend (a rebase, or a classic local relocation), and more than a page of
zero-fill (__bss, which must take no file space)."""

from __future__ import annotations

from dataclasses import replace

from ..model import Binding, Const, DataItem, ObjectModel, Ref, Section, SectionKind
from ..samples import SAMPLE
from .subset import macho_subset

ZERO_FILL_WORDS = 3000  # 12 KB: three pages of __bss

_DYNAMIC_TABLES = ObjectModel(
    "o2",
    (Section(".data", SectionKind.DATA, 8), Section(".bss", SectionKind.BSS, 16)),
    data=(
        DataItem("lh_p5", Binding.GLOBAL, ".data", 8,
                 (Ref(8, "lt1_d1", 4), Ref(8, "lh_v3", 8), Ref(8, "lt2_d2", 12))),
        DataItem("lh_z6", Binding.LOCAL, ".bss", 16, (Const(4, 0),) * ZERO_FILL_WORDS),
    ),
)

MACHO_SAMPLE = macho_subset(replace(SAMPLE, objects=(*SAMPLE.objects, _DYNAMIC_TABLES)))
