"""x86-64 PLT templates.

The psABI's lazy PLT for executables is rip-relative throughout:

* PLT0 pushes GOT[1] (ld.so's link map) and jumps through GOT[2] (`_dl_runtime_resolve`).
* PLTn jumps through its `.got.plt` slot.  Until the slot is bound it holds the address of
  PLTn+6, so the first call falls through to `push n; jmp PLT0`, where n is the index of the
  entry's relocation in `.rela.plt` (i386 pushes a byte offset instead).

Like Go's linker, we do not compute the displacements here: each template says which of its
fields refer to what, and the synthetic section carries ordinary relocations for them, so
one relocation pass patches PLT and GOT along with user code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PltField:
    """A 4-byte pc-relative field inside a PLT template."""

    offset: int  # of the field within the entry
    target: str  # "got.plt" (+ addend) or "plt" (start of PLT0)
    addend: int  # added to the target's address; the -4 of rip-relativity is included


# PLT0: 16 bytes
PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+8(%rip)          ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+16(%rip)        ; GOT[2]: resolver
    "0f1f4000"  # nopl  0(%rax)              ; pad to 16
)
PLT0_FIELDS = (
    PltField(offset=2, target="got.plt", addend=8 - 4),
    PltField(offset=8, target="got.plt", addend=16 - 4),
)

# PLTn: 16 bytes; the slot and index are filled in per entry.
PLTN = bytes.fromhex(
    "ff2500000000"  # jmp   *slot(%rip)          ; bound: straight to the target
    "6800000000"  # push  $n                   ; lazy: relocation index
    "e900000000"  # jmp   PLT0
)
PLTN_PUSH_OFFSET = 6  # the unbound slot points here
PLTN_INDEX_OFFSET = 7  # 4-byte immediate of the push


def pltn_fields(slot_offset: int) -> tuple[PltField, ...]:
    """Fields of a PLT entry whose slot is at `slot_offset` in .got.plt."""
    return (
        PltField(offset=2, target="got.plt", addend=slot_offset - 4),
        # jmp PLT0: displacement from the end of this entry back to the start of .plt.
        PltField(offset=12, target="plt", addend=-4),
    )
