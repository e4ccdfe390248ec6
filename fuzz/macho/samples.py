"""The Mach-O every-flavour sample: the fuzzers' hand-made SAMPLE mapped into the Mach-O
subset, plus one object with what the Mach-O dynamic tables must carry and SAMPLE leaves to
chance: pointers to imported data with addends (binds with an addend in modern mode,
external relocations with the addend in the word in classic mode), a pointer to local data
with an addend (a rebase, or a classic local relocation), more of both a page further on
(so that chained fixups need a second page's chain start), and more than a page of
zero-fill (__bss, which must take no file space)."""

from __future__ import annotations

from dataclasses import replace

from ..model import Binding, Const, DataItem, ObjectModel, Ref, Section, SectionKind
from ..samples import SAMPLE
from .subset import macho_subset

ZERO_FILL_WORDS = 3000  # 12 KB: three pages of __bss
PAGE_GAP_WORDS = 512  # 4 KB of data between the two pointer tables: another page

_DYNAMIC_TABLES = ObjectModel(
    "o2",
    (Section(".data", SectionKind.DATA, 8), Section(".bss", SectionKind.BSS, 16)),
    data=(
        DataItem("lh_p5", Binding.GLOBAL, ".data", 8,
                 (Ref(8, "lt1_d1", 4), Ref(8, "lh_v3", 8), Ref(8, "lt2_d2", 12))),
        DataItem("lh_g7", Binding.LOCAL, ".data", 8, (Const(8, 0),) * PAGE_GAP_WORDS),
        DataItem("lh_p8", Binding.GLOBAL, ".data", 8, (Ref(8, "lh_v3", 4), Ref(8, "lt1_d1", 8))),
        DataItem("lh_z6", Binding.LOCAL, ".bss", 16, (Const(4, 0),) * ZERO_FILL_WORDS),
    ),
)

MACHO_SAMPLE = macho_subset(replace(SAMPLE, objects=(*SAMPLE.objects, _DYNAMIC_TABLES)))
