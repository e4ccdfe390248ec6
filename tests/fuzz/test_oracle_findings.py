"""Findings of the fuzzers about the oracle, kept as regression tests.

The relocation-field oracle must place an input section correctly even when the only global
symbol defined in it is a weak definition that lost to a strong one in another object, and
the two definitions have the same bytes apart from their relocated fields.  Found by
`pytest fuzz --hypothesis-profile=fuzz` (shrunk by Hypothesis): every linker (bfd, gold,
lld, mold, linkharness) is right; the oracle reports the PC32 call inside the losing weak
function as wrong, because it anchors that section at the winning definition (o1's .text),
even when linkharness's link map says where the section went.  (Fixed in oracle.relocs,
d634fc2.)
"""

from __future__ import annotations

from pathlib import Path

from fuzz import judge
from fuzz.libtrace import build_libraries
from fuzz.model import (
    Binding,
    Call,
    CallVia,
    Function,
    ObjectModel,
    Program,
    Section,
    SectionKind,
)
from fuzz.pipeline import libraries, link_with, write_objects

TEXT = Section(".text", SectionKind.TEXT, 16)
HOT = Section(".text.lh_hot", SectionKind.TEXT, 16)
WEAK_LOSES_ITS_SECTION_ANCHOR = Program((
    ObjectModel("o0", (TEXT, HOT), functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 1, 2, (Call("lh_f4", CallVia.PLT),)),
        Function("lh_f5", Binding.GLOBAL, ".text", 1, 3, ()),
        Function("lh_f4", Binding.WEAK, ".text.lh_hot", 1, 5,
                 (Call("lh_f5", CallVia.DIRECT),)))),
    ObjectModel("o1", (TEXT,), functions=(  # the same bytes as the weak one, but for fields
        Function("lh_f4", Binding.GLOBAL, ".text", 1, 5, (Call("lt1_f0_a0", CallVia.DIRECT),)),)),
), (1,))


def test_fields_of_a_losing_weak_definition_are_placed_in_its_own_section(
        tmp_path: Path) -> None:
    build_libraries(tmp_path / "lt")
    objs = write_objects(WEAK_LOSES_ITS_SECTION_ANCHOR, tmp_path / "objs")
    exe = tmp_path / "a.out"
    assert link_with("bfd", objs, libraries(WEAK_LOSES_ITS_SECTION_ANCHOR, tmp_path / "lt"),
                     exe).ok
    assert judge.fields(exe, objs) == []
