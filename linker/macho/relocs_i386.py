"""i386 Mach-O relocation types (<mach-o/reloc.h>, the "generic" relocations), seen through
the abstract kinds.

A generic relocation is (type, pc-relative?, length) plus, for a plain entry, extern? and a
symbol or section ordinal; a *scattered* entry (the top bit of r_address set) carries instead
r_value, the address in the object of what it refers to.  Every addend lives in the field,
in the object's own address space (established with llvm-mc-14 and clang-14 -target
i386-apple-macosx10.6; tests/linker/macho/test_read_i386.py keeps the experiments):

* VANILLA, absolute: the field holds target + addend (an object address for non-extern and
  scattered entries, the bare addend for extern ones).
* VANILLA, pc-relative: the field holds target + addend - (P + width), P the field's object
  address -- also for extern entries, where target is 0: `calll _printf` at 0x33 holds
  -(0x33 + 4).  So the abstract addend (for L + A - P) is field + P_obj for extern entries.
  Calls between symbols of one section are resolved by the assembler and carry no entry.
* SECTDIFF / LOCAL_SECTDIFF + PAIR: scattered both; r_value of the first is the minuend's
  address, the PAIR's r_value the subtrahend's, and the field holds minuend - subtrahend +
  addend.  Our SUB kind (S - T + A).  LOCAL_SECTDIFF differs only in that the minuend is
  not a global symbol (ld64 uses it for pic-base-relative references to static data).
* TLV (extern, pc-relative, 4 bytes): clang's `movl _v@TLVP-L$pb(%ebx), %eax`, which loads
  the address of _v's descriptor (in __thread_vars) pic-base-relative.  Unlike VANILLA the
  assembler does not fold the field's object address in: the field holds (P_obj + 4) -
  pic base (llvm-mc-14 and clang-14 -target i386-apple-macosx10.7), so the value is
  slot + field - (P + 4), our GOT_PC kind (the slot holds the descriptor's address) with
  A = field - 4.  As on x86-64, a descriptor in the image is reached by `leal` instead
  (tlv.relax_descriptor_loads).
* TLV (extern, absolute, 4 bytes): `-mdynamic-no-pic` code's `movl _v@TLVP, %eax` (opcode
  0xa1, or 0x8b with a disp32-only ModRM for another register) loads the descriptor's
  address from a pointer slot at an absolute address; the field holds the addend alone.
  Our GOT_ABS kind (G + A).  Relaxed, as ld64 does, to `movl $desc, %eax` (0xb8) or
  `leal desc, %reg` (0x8d), S + A, for a descriptor in the image.
* PB_LA_PTR (prebound lazy pointers) is refused.

Pc-relative VANILLA maps to PLT_PC: on i386 Darwin a call to an import is a plain
`calll _f` with an extern VANILLA entry, which must reach the stub (L = S when defined).
"""

from __future__ import annotations

from ..kinds import Howto, Overflow, RelocKind

VANILLA, PAIR, SECTDIFF, PB_LA_PTR, LOCAL_SECTDIFF, TLV = 0, 1, 2, 3, 4, 5

NAMES = {VANILLA: "GENERIC_RELOC_VANILLA", PAIR: "GENERIC_RELOC_PAIR",
         SECTDIFF: "GENERIC_RELOC_SECTDIFF", PB_LA_PTR: "GENERIC_RELOC_PB_LA_PTR",
         LOCAL_SECTDIFF: "GENERIC_RELOC_LOCAL_SECTDIFF", TLV: "GENERIC_RELOC_TLV"}

# r_length -> field width in bytes (3, eight bytes, does not exist on i386).
WIDTH = {0: 1, 1: 2, 2: 4}
K, O = RelocKind, Overflow

# (type, pcrel, length) -> Howto.
HOWTOS: dict[tuple[int, int, int], Howto] = {
    (VANILLA, 0, 0): Howto("GENERIC_RELOC_VANILLA(8)", K.ABS, 1, O.EITHER),
    (VANILLA, 0, 1): Howto("GENERIC_RELOC_VANILLA(16)", K.ABS, 2, O.EITHER),
    (VANILLA, 0, 2): Howto("GENERIC_RELOC_VANILLA", K.ABS, 4, O.NONE),
    (VANILLA, 1, 0): Howto("GENERIC_RELOC_VANILLA(pcrel8)", K.PLT_PC, 1, O.SIGNED),
    (VANILLA, 1, 1): Howto("GENERIC_RELOC_VANILLA(pcrel16)", K.PLT_PC, 2, O.SIGNED),
    (VANILLA, 1, 2): Howto("GENERIC_RELOC_VANILLA(pcrel)", K.PLT_PC, 4, O.NONE),
    (SECTDIFF, 0, 0): Howto("GENERIC_RELOC_SECTDIFF(8)", K.SUB, 1, O.EITHER),
    (SECTDIFF, 0, 1): Howto("GENERIC_RELOC_SECTDIFF(16)", K.SUB, 2, O.EITHER),
    (SECTDIFF, 0, 2): Howto("GENERIC_RELOC_SECTDIFF", K.SUB, 4, O.NONE),
    (LOCAL_SECTDIFF, 0, 0): Howto("GENERIC_RELOC_LOCAL_SECTDIFF(8)", K.SUB, 1, O.EITHER),
    (LOCAL_SECTDIFF, 0, 1): Howto("GENERIC_RELOC_LOCAL_SECTDIFF(16)", K.SUB, 2, O.EITHER),
    (LOCAL_SECTDIFF, 0, 2): Howto("GENERIC_RELOC_LOCAL_SECTDIFF", K.SUB, 4, O.NONE),
    (TLV, 1, 2): Howto("GENERIC_RELOC_TLV", K.GOT_PC, 4, O.NONE),
    (TLV, 0, 2): Howto("GENERIC_RELOC_TLV(abs)", K.GOT_ABS, 4, O.NONE),
}
HOWTO_LIST: tuple[Howto, ...] = tuple(HOWTOS.values())
HOWTO_INDEX: dict[tuple[int, int, int], int] = {key: n for n, key in enumerate(HOWTOS)}
DIFFERENCES = (SECTDIFF, LOCAL_SECTDIFF)


def describe(r_type: int, pcrel: int, length: int) -> str:
    name = NAMES.get(r_type, f"type {r_type}")
    return f"{name} (pcrel={pcrel}, length={1 << length} bytes)"
