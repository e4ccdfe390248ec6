"""x86-64 PLT template (psABI §A.2, "Procedure Linkage Table").

The lazy PLT of an executable is rip-relative throughout:

* PLT0 pushes GOT[1] (ld.so's link map) and jumps through GOT[2] (`_dl_runtime_resolve`).
* PLTn jumps through its `.got.plt` slot.  Until the slot is bound it holds the address of
  PLTn+6, so the first call falls through to `push n; jmp PLT0`, where n is the index of
  the entry's relocation in `.rela.plt` (the resolver multiplies by sizeof(Elf64_Rela)).
"""

from __future__ import annotations

from .plt import MachoStubTemplate, PltField, PltTemplate

# PLT0: 16 bytes
PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+8(%rip)          ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+16(%rip)        ; GOT[2]: resolver
    "0f1f4000"      # nopl  0(%rax)              ; pad to 16
)
PLT0_FIELDS = (
    PltField(offset=2, target="got.plt", addend=8 - 4),
    PltField(offset=8, target="got.plt", addend=16 - 4),
)

# PLTn: 16 bytes; the slot and index are filled in per entry.
PLTN = bytes.fromhex(
    "ff2500000000"  # jmp   *slot(%rip)          ; bound: straight to the target
    "6800000000"    # push  $n                   ; lazy: relocation index
    "e900000000"    # jmp   PLT0
)


def pltn_fields(slot_offset: int, entry_offset: int) -> tuple[PltField, ...]:
    """Fields of the PLT entry at `entry_offset` whose slot is at `slot_offset` in .got.plt."""
    return (
        PltField(offset=2, target="got.plt", addend=slot_offset - 4),
        # jmp PLT0: displacement from the end of this entry back to the start of .plt.
        PltField(offset=12, target="plt", addend=-4),
    )


TEMPLATE = PltTemplate(PLT0, PLT0_FIELDS, PLTN, pltn_fields, push_offset=6, push_imm_offset=7,
                       push_value=lambda n: n)


# -- Mach-O x86-64 (ld64's and ld64.lld's __stubs / __stub_helper) -------------------------
#
#   stub        jmp *slot(%rip)                          6 bytes
#   helper hdr  lea dyld_private(%rip), %r11; push %r11; jmp *binder@GOT(%rip); nop   16
#   entry       push $lazy_bind_offset; jmp helper hdr                               10
MACHO_STUBS = MachoStubTemplate(
    stub=bytes.fromhex("ff2500000000"),
    stub_field=PltField(offset=2, target="slot", addend=-4),
    helper_header=bytes.fromhex("4c8d1d00000000" "4153" "ff2500000000" "90"),
    header_fields=(PltField(offset=3, target="dyld_private", addend=-4),
                   PltField(offset=11, target="binder", addend=-4)),
    helper_entry=bytes.fromhex("6800000000" "e900000000"),
    entry_push_imm=1,
    entry_fields=(PltField(offset=6, target="header", addend=-4),),
)
