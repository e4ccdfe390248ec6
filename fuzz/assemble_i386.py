"""Our own i386 assembler pass: lays out an `AsmObject` lowered by fuzz.lower_i386 into
section bytes, relocations and symbols (fuzz.assemble_x86's `ObjectImage` records), as
`as --32` would.  Addends stay in the records; fuzz.emit_elf32 writes them into the fields
(REL).  References to symbols local to the object become section-relative, except those
naming a GOT slot, which belongs to the symbol.
"""

from __future__ import annotations

from .assemble_x86 import Isa, ObjectImage, assemble_for
from .encode_i386 import encode
from .lower_i386 import I386Choices, lower_i386
from .lower_x86 import AsmObject
from .model import Program

DATA_RELOC = {4: "R_386_32", 2: "R_386_16", 1: "R_386_8"}
PC_DATA_RELOC = {4: "R_386_PC32", 2: "R_386_PC16", 1: "R_386_PC8"}
SLOT_RELOCS = frozenset({"R_386_GOT32", "R_386_GOT32X"})

I386 = Isa(encode, lambda f: DATA_RELOC[f.width], PC_DATA_RELOC, SLOT_RELOCS)


def assemble_i386(obj: AsmObject) -> ObjectImage:
    """fuzz.assemble_x86's pass with the i386 encoder and relocation types."""
    return assemble_for(obj, I386)


_LAST: list[tuple[Program, I386Choices, tuple[tuple[AsmObject, ObjectImage], ...]]] = []


def lowered_images_i386(program: Program, choices: I386Choices
                        ) -> tuple[tuple[AsmObject, ObjectImage], ...]:
    """The program's i386 objects, lowered with `choices` and assembled; the last
    program's are kept (by identity, the program held) for the coverage labels and the
    object writer, which both need them (as fuzz.assemble_x86.lowered_images)."""
    if _LAST and _LAST[0][0] is program and _LAST[0][1] == choices:
        return _LAST[0][2]
    built = tuple((obj, assemble_i386(obj)) for obj in lower_i386(program, choices))
    _LAST[:] = [(program, choices, built)]
    return built
