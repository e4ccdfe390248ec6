"""i386 ELF relocation types (SysV i386 psABI, Intel386 supplement), seen through the kinds.

i386 objects use REL: the addend is the field's own content, read by the reader before
the field is overwritten.  32-bit address arithmetic wraps, so the 4-byte forms have no
overflow check (as in GNU ld); the 8- and 16-bit forms must fit.  R_386_GOTOFF is an
offset from the GOT base (`_GLOBAL_OFFSET_TABLE_`) to the symbol, and R_386_GOTPC the
distance from the field to the GOT base (the `addl $_GLOBAL_OFFSET_TABLE_, %ebx` idiom).

R_386_GOT32 and GOT32X have two values, and the psABI tells them apart by the instruction:
with a base register in the ModRM byte before the field (`foo@GOT(%ebx)`, PIC code) the
slot's offset from the GOT base, G + A - GOT; with none (mod 00, r/m 101: `call *foo@GOT`,
`mov foo@GOT, %eax` in non-PIC `-fno-plt` code) the slot's own address, G + A.  The table
gives the first; `no_base` the second, which scan.py picks from the bytes.
"""

from __future__ import annotations

from ..kinds import Howto, Overflow, RelocKind
from .reloc_table import NativeRelocs, build_table

K, O = RelocKind, Overflow

SUPPORTED = {
    0: Howto("R_386_NONE", K.NONE, 0, O.NONE),
    1: Howto("R_386_32", K.ABS, 4, O.NONE),
    2: Howto("R_386_PC32", K.PC, 4, O.NONE),
    3: Howto("R_386_GOT32", K.GOT_OFF, 4, O.NONE,
             no_base=Howto("R_386_GOT32", K.GOT_ABS, 4, O.NONE)),
    4: Howto("R_386_PLT32", K.PLT_PC, 4, O.NONE),
    9: Howto("R_386_GOTOFF", K.REL_GOT, 4, O.NONE),
    10: Howto("R_386_GOTPC", K.GOT_BASE_PC, 4, O.NONE),
    20: Howto("R_386_16", K.ABS, 2, O.EITHER),
    21: Howto("R_386_PC16", K.PC, 2, O.SIGNED),
    22: Howto("R_386_8", K.ABS, 1, O.EITHER),
    23: Howto("R_386_PC8", K.PC, 1, O.SIGNED),
    38: Howto("R_386_SIZE32", K.SIZE, 4, O.NONE),
    43: Howto("R_386_GOT32X", K.GOT_OFF, 4, O.NONE,
              no_base=Howto("R_386_GOT32X", K.GOT_ABS, 4, O.NONE),
              direct=Howto("R_386_GOT32X", K.REL_GOT, 4, O.NONE),
              branch=Howto("R_386_GOT32X", K.PC, 4, O.NONE)),
    # Thread-local storage (GNU's i386 TLS ABI).  General and local dynamic are kept in a
    # shared object and relaxed to local exec in an executable (tls_relax.py), where
    # x@dtpoff becomes an offset from TP.
    32: Howto("R_386_TLS_LDO_32", K.TLS_DTPOFF, 4, O.NONE),
    18: Howto("R_386_TLS_GD", K.TLS_GD_OFF, 4, O.NONE),
    19: Howto("R_386_TLS_LDM", K.TLS_LD_OFF, 4, O.NONE),
    15: Howto("R_386_TLS_IE", K.TLS_GOT_ABS, 4, O.NONE),  # x@indntpoff
    16: Howto("R_386_TLS_GOTIE", K.TLS_GOT_OFF, 4, O.NONE),  # x@gotntpoff(%reg)
    17: Howto("R_386_TLS_LE", K.TLS_TPOFF, 4, O.NONE),  # x@ntpoff
    34: Howto("R_386_TLS_LE_32", K.TLS_NEG_TPOFF, 4, O.NONE),  # x@tpoff
}

_TLS = "this i386 thread-local storage form is not supported"
_GOTTPOFF = "x@gottpoff (a positive offset in the GOT) is not supported; x@gotntpoff is"
_DYNAMIC = "a dynamic relocation type, not valid in a relocatable object"

REFUSED = {
    5: ("R_386_COPY", _DYNAMIC),
    6: ("R_386_GLOB_DAT", _DYNAMIC),
    7: ("R_386_JMP_SLOT", _DYNAMIC),
    8: ("R_386_RELATIVE", _DYNAMIC),
    11: ("R_386_32PLT", "R_386_32PLT is not supported"),
    14: ("R_386_TLS_TPOFF", _DYNAMIC),
    24: ("R_386_TLS_GD_32", _TLS),
    25: ("R_386_TLS_GD_PUSH", _TLS),
    26: ("R_386_TLS_GD_CALL", _TLS),
    27: ("R_386_TLS_GD_POP", _TLS),
    28: ("R_386_TLS_LDM_32", _TLS),
    29: ("R_386_TLS_LDM_PUSH", _TLS),
    30: ("R_386_TLS_LDM_CALL", _TLS),
    31: ("R_386_TLS_LDM_POP", _TLS),
    33: ("R_386_TLS_IE_32", _GOTTPOFF),
    35: ("R_386_TLS_DTPMOD32", _DYNAMIC),
    36: ("R_386_TLS_DTPOFF32", _DYNAMIC),
    37: ("R_386_TLS_TPOFF32", _DYNAMIC),
    39: ("R_386_TLS_GOTDESC", "TLS descriptors (-mtls-dialect=gnu2) are not supported"),
    40: ("R_386_TLS_DESC_CALL", "TLS descriptors (-mtls-dialect=gnu2) are not supported"),
    41: ("R_386_TLS_DESC", "TLS descriptors (-mtls-dialect=gnu2) are not supported"),
    42: ("R_386_IRELATIVE", _DYNAMIC),
}

TABLE: NativeRelocs = build_table("i386", SUPPORTED, REFUSED)
# The type --emit-relocs writes for a relaxed GOT32X load (now lea x@GOTOFF(%reg)), as GNU
# ld rewrites its r_info: R_386_GOTOFF.
RELAXED_TYPE = 9
