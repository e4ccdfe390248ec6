"""The IBT PLT (`-z ibtplt`, or `-z ibt` / every input marked IBT) as synthetic sections.

`.plt` holds PLT0 and one lazy entry per import, `.plt.sec` the entries code calls (each
import's canonical PLT address); the templates and their layout are in `arch/ibt.py`.  As
with the ordinary PLT every displacement and address is an ordinary relocation of the
synthetic object, patched by the one relocation pass.
"""

from __future__ import annotations

from ..arch.ibt import ENTRY_SIZE, ibt_template, lazy_bytes
from ..arch.plt import PltField
from ..model import InputSection, SectionFlags
from ..synth import HOWTO_GOTOFF32, HOWTO_PCREL32, HOWTO_WORD, SyntheticBuilder
from ..targets import ArchTraits


def build_ibt_plt(b: SyntheticBuilder, arch: ArchTraits, imports: list[int],
                  got_plt: InputSection, pic: bool, plt_entry: dict[int, int],
                  jump_slot: dict[int, int]) -> InputSection:
    """Add .plt and .plt.sec for `imports` (global ids, in .rela.plt order); fill
    `plt_entry` (offsets in .plt.sec) and `jump_slot` (offsets in .got.plt); return
    .plt.sec, the section whose entries are the imports' PLT addresses."""
    template = ibt_template(arch.name, pic)
    word = arch.word
    count = len(imports)
    lazy = b.add_section(".plt", SectionFlags.EXEC, len(template.plt0) + count * ENTRY_SIZE,
                         16, lazy_bytes(template, count))
    sec = b.add_section(".plt.sec", SectionFlags.EXEC, count * ENTRY_SIZE, 16,
                        template.sec_entry * count)
    targets = {"got.plt": b.symbol_for_section(got_plt), "plt": b.symbol_for_section(lazy)}

    def field(where: InputSection, f: PltField, at: int) -> None:
        howto = HOWTO_PCREL32 if f.pc_relative else (
            HOWTO_GOTOFF32 if f.got_relative else HOWTO_WORD[4])
        b.reloc(where, at + f.offset, howto, targets[f.target], f.addend)

    for f in template.plt0_fields:
        field(lazy, f, 0)
    for n, gid in enumerate(imports):
        lazy_at = len(template.plt0) + n * ENTRY_SIZE
        slot = (arch.got_plt_reserved + n) * word
        plt_entry[gid], jump_slot[gid] = n * ENTRY_SIZE, slot
        for f in template.lazy_fields:
            field(lazy, f, lazy_at)
        for f in template.sec_fields(slot):
            field(sec, f, n * ENTRY_SIZE)
        # The unbound slot points at the lazy entry's endbr: an indirect jump must land on one.
        b.reloc(got_plt, slot, HOWTO_WORD[word], targets["plt"], lazy_at)
    return sec
