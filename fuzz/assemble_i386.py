"""Our own i386 assembler pass: lays out an `AsmObject` lowered by fuzz.lower_i386 into
section bytes, relocations and symbols (fuzz.assemble_x86's `ObjectImage` records), as
`as --32` would.  Addends stay in the records; fuzz.emit_elf32 writes them into the fields
(REL).  References to symbols local to the object become section-relative, except those
naming a GOT slot, which belongs to the symbol.
"""

from __future__ import annotations

from .assemble_x86 import Isa, ObjectImage, assemble_for
from .encode_i386 import encode
from .lower_x86 import AsmObject

DATA_RELOC = {4: "R_386_32", 2: "R_386_16", 1: "R_386_8"}
PC_DATA_RELOC = {4: "R_386_PC32", 2: "R_386_PC16", 1: "R_386_PC8"}
SLOT_RELOCS = frozenset({"R_386_GOT32", "R_386_GOT32X"})

I386 = Isa(encode, lambda f: DATA_RELOC[f.width], PC_DATA_RELOC, SLOT_RELOCS)


def assemble_i386(obj: AsmObject) -> ObjectImage:
    """fuzz.assemble_x86's pass with the i386 encoder and relocation types."""
    return assemble_for(obj, I386)
