"""The Mach-O i386 subset (fuzz.macho.subset_i386) and the lowering's per-reference choices
(fuzz.macho.lower_i386): what becomes what, and that the mapped model means the same."""

from __future__ import annotations

from fuzz.encode_x86 import Insn
from fuzz.macho.lower_i386 import MachoLowerer386
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.subset_i386 import macho_i386_subset
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
    Section,
    SectionKind,
    Store,
)
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome


def _program() -> Program:
    o0 = ObjectModel(
        "o0",
        (Section(".text", SectionKind.TEXT, 16),
         Section(".text.c", SectionKind.TEXT, 1, group="lh_c"),
         Section(".data", SectionKind.DATA, 4)),
        functions=(
            Function("lh_main", Binding.GLOBAL, ".text", 16, 1, (
                Load("lt1_d0", 0, AddrVia.ABS_S32),  # imported data: through a slot
                Load("lh_s", 0, AddrVia.GOT),  # a static: no slot, a difference
                Load("lh_g", 0, AddrVia.GOT_BASE),  # GOTOFF: a difference
                Store("lh_o", 0, AddrVia.PC_REL),  # another object's: through a slot
                Call("lh_f", CallVia.GOT_LOAD),  # a static function: a direct call
                Call("lh_c", CallVia.DIRECT),
            )),
            Function("lh_f", Binding.LOCAL, ".text", 1, 2, ()),
            Function("lh_c", Binding.GLOBAL, ".text.c", 1, 3, ()),
        ),
        data=(DataItem("lh_s", Binding.LOCAL, ".data", 4, (Const(4, 7),)),
              DataItem("lh_g", Binding.GLOBAL, ".data", 4, (Const(4, 8),))),
    )
    o1 = ObjectModel("o1", (Section(".data", SectionKind.DATA, 4),),
                     data=(DataItem("lh_o", Binding.GLOBAL, ".data", 4, (Const(4, 9),)),))
    return Program((o0, o1), (1,))


def _ops(code: tuple[Insn, ...]) -> list[tuple[str, str]]:
    return [(i.op, i.sym.name) for i in code if i.sym is not None]


def test_the_subset_maps_what_mach_o_i386_lacks() -> None:
    mapped = macho_i386_subset(_program())
    main, _, comdat = mapped.objects[0].functions
    assert comdat.binding is Binding.WEAK  # COMDAT: a weak definition
    vias = [s.via for s in main.steps[:4] if isinstance(s, Load | Store)]
    assert vias == [AddrVia.GOT, AddrVia.GOT, AddrVia.PC_REL, AddrVia.PC_REL]
    assert all(s.group is None for s in mapped.objects[0].sections)


def test_the_lowering_picks_slots_only_for_external_symbols() -> None:
    program = macho_i386_subset(_program())
    obj = MachoLowerer386(program).object(0)
    text = next(s for s in obj.sections if s.name == ".text")
    start, main = text.items[0], text.items[1]
    assert start.name == "start" and main.name == "lh_main"
    ops = _ops(main.code)
    assert ("mov_eax_nlp", "lt1_d0") in ops
    assert ("lea_eax_picrel", "lh_s") in ops
    assert ("lea_eax_picrel", "lh_g") in ops
    assert ("mov_eax_nlp", "lh_o") in ops
    assert ("call", "lh_f") in ops and ("call", "lh_c") in ops
    assert main.code[3].op == "pic_base"  # after the three pushes, before any reference


def test_mapping_keeps_the_meaning() -> None:
    assert outcome(macho_i386_subset(SAMPLE)) == outcome(SAMPLE)
    assert outcome(MACHO_I386_SAMPLE).trace
