"""x86-64 Mach-O relocation types (<mach-o/x86_64/reloc.h>), seen through the abstract kinds.

A Mach-O relocation is (type, pc-relative?, length, extern?).  The addend lives in the
field.  Pc-relative x86-64 displacements count from the end of the instruction: the end
of the 4-byte field plus N for SIGNED_N (N immediate bytes follow the field).  For an
extern relocation the assembler has already folded N into the stored addend, so the value
is S + addend - (P + 4): our PC kind with A = addend - 4.  For a non-extern relocation the
field holds the target's displacement in the object's own address space, which the reader
turns back into "section + offset" (see read.py).

SUBTRACTOR (always followed by UNSIGNED) makes a pair whose value is minuend - subtrahend
+ addend: our SUB kind, with the subtrahend kept beside the row.  TLV (a thread-local
variable's descriptor address) is loaded through a pointer slot, like GOT_LOAD.
"""

from __future__ import annotations

from ..kinds import Howto, Overflow, RelocKind

UNSIGNED, SIGNED, BRANCH, GOT_LOAD, GOT, SUBTRACTOR = 0, 1, 2, 3, 4, 5
SIGNED_1, SIGNED_2, SIGNED_4, TLV = 6, 7, 8, 9

NAMES = {UNSIGNED: "X86_64_RELOC_UNSIGNED", SIGNED: "X86_64_RELOC_SIGNED",
         BRANCH: "X86_64_RELOC_BRANCH", GOT_LOAD: "X86_64_RELOC_GOT_LOAD",
         GOT: "X86_64_RELOC_GOT", SUBTRACTOR: "X86_64_RELOC_SUBTRACTOR",
         SIGNED_1: "X86_64_RELOC_SIGNED_1", SIGNED_2: "X86_64_RELOC_SIGNED_2",
         SIGNED_4: "X86_64_RELOC_SIGNED_4", TLV: "X86_64_RELOC_TLV"}

# Immediate bytes that follow the field (the N of SIGNED_N).
TRAILING = {SIGNED: 0, SIGNED_1: 1, SIGNED_2: 2, SIGNED_4: 4, BRANCH: 0, GOT_LOAD: 0, GOT: 0,
            TLV: 0}

K, O = RelocKind, Overflow

# (type, pcrel, length) -> Howto.  length is log2 of the field width.
HOWTOS: dict[tuple[int, int, int], Howto] = {
    (UNSIGNED, 0, 3): Howto("X86_64_RELOC_UNSIGNED", K.ABS, 8, O.NONE),
    (UNSIGNED, 0, 2): Howto("X86_64_RELOC_UNSIGNED(32)", K.ABS, 4, O.UNSIGNED),
    (SIGNED, 1, 2): Howto("X86_64_RELOC_SIGNED", K.PC, 4, O.SIGNED),
    (SIGNED_1, 1, 2): Howto("X86_64_RELOC_SIGNED_1", K.PC, 4, O.SIGNED),
    (SIGNED_2, 1, 2): Howto("X86_64_RELOC_SIGNED_2", K.PC, 4, O.SIGNED),
    (SIGNED_4, 1, 2): Howto("X86_64_RELOC_SIGNED_4", K.PC, 4, O.SIGNED),
    (BRANCH, 1, 2): Howto("X86_64_RELOC_BRANCH", K.PLT_PC, 4, O.SIGNED),
    (GOT_LOAD, 1, 2): Howto("X86_64_RELOC_GOT_LOAD", K.GOT_PC, 4, O.SIGNED),
    (GOT, 1, 2): Howto("X86_64_RELOC_GOT", K.GOT_PC, 4, O.SIGNED),
    # `movq _v@TLVP(%rip), %rdi`: loads the address of _v's descriptor (in __thread_vars)
    # from a pointer slot; a descriptor in the image is reached by `leaq` instead, as ld64
    # relaxes it (tlv.relax_descriptor_loads, before scan).
    (TLV, 1, 2): Howto("X86_64_RELOC_TLV", K.GOT_PC, 4, O.SIGNED),
    (SUBTRACTOR, 0, 3): Howto("X86_64_RELOC_SUBTRACTOR", K.SUB, 8, O.NONE),
    (SUBTRACTOR, 0, 2): Howto("X86_64_RELOC_SUBTRACTOR(32)", K.SUB, 4, O.SIGNED),
}
HOWTO_LIST: tuple[Howto, ...] = tuple(HOWTOS.values())
HOWTO_INDEX: dict[tuple[int, int, int], int] = {key: n for n, key in enumerate(HOWTOS)}


def describe(r_type: int, pcrel: int, length: int) -> str:
    name = NAMES.get(r_type, f"type {r_type}")
    return f"{name} (pcrel={pcrel}, length={1 << length} bytes)"
