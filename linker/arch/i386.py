"""i386 PLT template for executables (i386 psABI, "Procedure Linkage Table", absolute form).

i386 has no pc-relative data addressing, so a non-PIC executable's PLT names the GOT by
absolute address; a PIC object's calls still land here and work, because this form never
reads %ebx.  The lazy push carries the *byte offset* of the entry's relocation in
`.rel.plt` (n * sizeof(Elf32_Rel) = 8n), which is what `_dl_runtime_resolve` expects on i386.
"""

from __future__ import annotations

from .plt import PltField, PltTemplate

PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+4                ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+8               ; GOT[2]: resolver
    "00000000"      # padding to 16
)
PLT0_FIELDS = (
    PltField(offset=2, target="got.plt", addend=4, pc_relative=False),
    PltField(offset=8, target="got.plt", addend=8, pc_relative=False),
)

PLTN = bytes.fromhex(
    "ff2500000000"  # jmp   *slot                ; bound: straight to the target
    "6800000000"    # push  $8n                  ; lazy: byte offset in .rel.plt
    "e900000000"    # jmp   PLT0
)
REL_SIZE = 8


def pltn_fields(slot_offset: int, entry_offset: int) -> tuple[PltField, ...]:
    return (
        PltField(offset=2, target="got.plt", addend=slot_offset, pc_relative=False),
        PltField(offset=12, target="plt", addend=-4),
    )


TEMPLATE = PltTemplate(PLT0, PLT0_FIELDS, PLTN, pltn_fields, push_offset=6, push_imm_offset=7,
                       push_value=lambda n: n * REL_SIZE)
