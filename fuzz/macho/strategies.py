"""Hypothesis strategies for Mach-O examples: fuzz.strategies' programs mapped into the
Mach-O subset (fuzz.macho.subset), each with a `variant` that fixes the assembler's free
choices (extern or not, N_PEXT, N_WEAK_REF, the store forms).

The shared generator stores pointers to imports only as call-table entries (functions, no
addend).  What Mach-O must carry besides, binds with an addend in modern mode and LC_DYSYMTAB
external relocations with the addend in the word in classic mode, is drawn here: a table
`lh_ptrs` in the first object's writable data, of pointers to imported data (with an addend
inside the object), to imported functions and to the object's own data (with an addend: a
rebase, or a classic local relocation).  No step reads the table (the model never loads an
address), so it changes no outcome; the field oracle and the slide check judge it.  Modern
and classic mode draw from the same cases (classic once filtered out every pointer to an
import, when it could not write external relocations)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from .. import libtrace
from ..model import Binding, DataItem, Field, Program, Ref, Section, SectionKind
from ..strategies import programs
from .subset import has_import_pointers, macho_subset


@dataclass(frozen=True)
class MachoCase:
    program: Program  # already in the Mach-O subset
    variant: int

    @property
    def import_pointers(self) -> bool:
        """Whether data holds pointers to imports (with their addends): binds in modern
        mode, LC_DYSYMTAB external relocations in classic mode.  Both modes link every
        case; this only labels the draw."""
        return has_import_pointers(self.program)


VARIANTS = st.integers(0, 2**32 - 1)


POINTER_TABLE = "lh_ptrs"
POINTER_SECTION = ".data.lh_ptrs"


@st.composite
def with_pointer_table(draw: st.DrawFn, program: Program) -> Program:
    """`program`, perhaps with the table of pointers described above in its first object."""
    imports = [i for i in libtrace.IMPORTS.values() if i.library in program.libraries]
    obj = program.objects[0]
    own = [d for d in obj.data if d.size]
    count = draw(st.integers(0, 4))
    if not count or not imports:
        return program
    fields: list[Field] = []
    for _ in range(count):
        kind = draw(st.sampled_from(("import", "own") if own else ("import",)))
        if kind == "import":
            imp = draw(st.sampled_from(imports))
            addend = 0 if imp.is_function else draw(st.integers(0, imp.size - 1))
            fields.append(Ref(8, imp.name, addend))
        else:
            item = draw(st.sampled_from(own))
            fields.append(Ref(8, item.name, draw(st.integers(0, item.size - 1))))
    table = DataItem(POINTER_TABLE, Binding.GLOBAL, POINTER_SECTION, 8, tuple(fields))
    obj = replace(obj, sections=(*obj.sections, Section(POINTER_SECTION, SectionKind.DATA, 8)),
                  data=(*obj.data, table))
    return replace(program, objects=(obj, *program.objects[1:]))


def macho_cases() -> st.SearchStrategy[MachoCase]:
    mapped = programs().map(macho_subset).flatmap(with_pointer_table)
    return st.builds(MachoCase, mapped, VARIANTS)
