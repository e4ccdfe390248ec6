"""The Mach-O subset mapping: what it removes from a model, and that the result is still a
model the interpreter predicts."""

from __future__ import annotations

from fuzz import libtrace
from fuzz.macho.subset import has_import_pointers, macho_subset
from fuzz.model import (
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    Function,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    SelfRel,
    Store,
    walk_steps,
)
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome


def test_only_mach_o_forms_remain() -> None:
    mapped = macho_subset(SAMPLE)
    for obj in mapped.objects:
        assert all(s.group is None for s in obj.sections)
        for fn in obj.functions:
            for step in walk_steps(fn.steps):
                if isinstance(step, Load | Store | CallTable):
                    assert step.via in (AddrVia.PC_REL, AddrVia.GOT)
                if isinstance(step, Load | Store) and step.item in libtrace.IMPORTS:
                    assert step.via is AddrVia.GOT
        for d in obj.data:
            for f in d.fields:
                assert not isinstance(f, Ref) or f.width == 8
                assert not isinstance(f, SelfRel) or f.width in (4, 8)


def test_comdat_copies_become_weak_definitions() -> None:
    sec = Section(".text.lh_f1", SectionKind.TEXT, 16, group="lh_f1")
    copy = Function("lh_f1", Binding.GLOBAL, sec.name, 16, 5, ())
    main = Function("lh_main", Binding.GLOBAL, ".text", 1, 1, (Call("lh_f1", CallVia.DIRECT),))
    text = Section(".text", SectionKind.TEXT, 1)
    program = Program((ObjectModel("o0", (text, sec), (main, copy)),
                       ObjectModel("o1", (sec,), (copy,))), (1,))
    mapped = macho_subset(program)
    assert [f.binding for o in mapped.objects for f in o.functions] == [
        Binding.GLOBAL, Binding.WEAK, Binding.WEAK]
    assert outcome(mapped) == outcome(program)


def test_the_mapped_sample_is_predicted_and_has_import_pointers() -> None:
    mapped = macho_subset(SAMPLE)
    assert outcome(mapped).trace
    assert has_import_pointers(mapped)
