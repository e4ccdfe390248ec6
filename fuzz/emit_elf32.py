"""ELF32 ET_REL writer for i386: an `ObjectImage` in, object file bytes out.

The section order is fuzz.emit_elf's (GNU as's): null, COMDAT groups, each content section
followed by its relocations, `.note.GNU-stack`, `.symtab`, `.strtab`, `.shstrtab`.  The
differences are the ELF32 record layouts and REL: `.rel<name>` entries carry no addend,
the addend is written into the relocated field of the section's bytes (its width is the
relocation type's), which is where the linker must read it from.  Independent of linker/.
"""

from __future__ import annotations

from collections.abc import Sequence

from .assemble_x86 import ObjectImage, Relocation
from .emit_elf import ElfClass, write_object
from .encode_i386 import FIELD_WIDTH

RELOC_TYPES_386 = {
    "R_386_32": 1, "R_386_PC32": 2, "R_386_GOT32": 3, "R_386_PLT32": 4, "R_386_GOTOFF": 9,
    "R_386_GOTPC": 10, "R_386_16": 20, "R_386_PC16": 21, "R_386_8": 22, "R_386_PC8": 23,
    "R_386_GOT32X": 43,
}
EM_386 = 3


def _with_addends(data: bytes, relocs: Sequence[Relocation]) -> bytes:
    """The section bytes with each relocation's addend written into its field."""
    out = bytearray(data)
    for r in relocs:
        width = FIELD_WIDTH[r.type]
        out[r.offset:r.offset + width] = (r.addend & ((1 << (8 * width)) - 1)).to_bytes(
            width, "little")
    return bytes(out)


I386 = ElfClass(machine=EM_386, reloc_types=RELOC_TYPES_386, wide=False,
                addends_in_fields=_with_addends)


def write_elf32(image: ObjectImage, hidden: frozenset[str] = frozenset()) -> bytes:
    """The object file; symbols named in `hidden` get STV_HIDDEN."""
    return write_object(image, I386, hidden)
