"""x86-64 ELF relocation types (psABI §4.4), seen through the abstract kinds.

Every field is little-endian.  The psABI's letters map onto ours directly: its `B + A`
(base-relative) never arises in ET_EXEC, its `Z` is our SIZE.  R_X86_64_32 zero-extends
(the CPU reads a 32-bit immediate into a 64-bit register with `movl`), so it must fit
unsigned; 32S, PC32 and the GOT forms are sign-extended and must fit signed.  The 8- and
16-bit absolute forms are accepted when the value fits either reading, as GNU ld does.

GOTPCRELX and REX_GOTPCRELX are the "relaxable" GOTPCREL: the assembler promises the
instruction can be rewritten to avoid the GOT load.  Their `direct` form (S + A - P) is
what got_relax.py switches a row to when it rewrites the instruction at scan time.

Thread-local storage: the executable's own TLS is reached with the local-exec TPOFF forms
(S + A - TP, TP being the end of the TLS block) and the initial-exec GOTTPOFF form (a GOT
slot holding that offset, filled at link time).  The general- and local-dynamic forms
(TLSGD, TLSLD) stay in a shared object (a GOT pair for __tls_get_addr) and are relaxed,
with the DTPOFF offsets that go with them, to local exec in an executable; TLSDESC is
refused.  In debug information DTPOFF is the variable's offset in the TLS block.  Types that
only appear in linked outputs (COPY, GLOB_DAT, ...) are refused in a relocatable object.
"""

from __future__ import annotations

from ..kinds import Howto, Overflow, RelocKind
from .reloc_table import NativeRelocs, build_table

K, O = RelocKind, Overflow

SUPPORTED = {
    0: Howto("R_X86_64_NONE", K.NONE, 0, O.NONE),
    1: Howto("R_X86_64_64", K.ABS, 8, O.NONE),
    2: Howto("R_X86_64_PC32", K.PC, 4, O.SIGNED),
    3: Howto("R_X86_64_GOT32", K.GOT_OFF, 4, O.SIGNED),
    4: Howto("R_X86_64_PLT32", K.PLT_PC, 4, O.SIGNED),
    9: Howto("R_X86_64_GOTPCREL", K.GOT_PC, 4, O.SIGNED),
    10: Howto("R_X86_64_32", K.ABS, 4, O.UNSIGNED),
    11: Howto("R_X86_64_32S", K.ABS, 4, O.SIGNED),
    12: Howto("R_X86_64_16", K.ABS, 2, O.EITHER),
    13: Howto("R_X86_64_PC16", K.PC, 2, O.SIGNED),
    14: Howto("R_X86_64_8", K.ABS, 1, O.EITHER),
    15: Howto("R_X86_64_PC8", K.PC, 1, O.SIGNED),
    24: Howto("R_X86_64_PC64", K.PC, 8, O.NONE),
    25: Howto("R_X86_64_GOTOFF64", K.REL_GOT, 8, O.NONE),
    26: Howto("R_X86_64_GOTPC32", K.GOT_BASE_PC, 4, O.SIGNED),
    27: Howto("R_X86_64_GOT64", K.GOT_OFF, 8, O.NONE),
    28: Howto("R_X86_64_GOTPCREL64", K.GOT_PC, 8, O.NONE),
    29: Howto("R_X86_64_GOTPC64", K.GOT_BASE_PC, 8, O.NONE),
    31: Howto("R_X86_64_PLTOFF64", K.PLT_OFF, 8, O.NONE),
    32: Howto("R_X86_64_SIZE32", K.SIZE, 4, O.UNSIGNED),
    33: Howto("R_X86_64_SIZE64", K.SIZE, 8, O.NONE),
    41: Howto("R_X86_64_GOTPCRELX", K.GOT_PC, 4, O.SIGNED,
              direct=Howto("R_X86_64_GOTPCRELX", K.PC, 4, O.SIGNED)),
    42: Howto("R_X86_64_REX_GOTPCRELX", K.GOT_PC, 4, O.SIGNED,
              direct=Howto("R_X86_64_REX_GOTPCRELX", K.PC, 4, O.SIGNED)),
    18: Howto("R_X86_64_TPOFF64", K.TLS_TPOFF, 8, O.NONE),
    22: Howto("R_X86_64_GOTTPOFF", K.TLS_GOT_PC, 4, O.SIGNED),
    23: Howto("R_X86_64_TPOFF32", K.TLS_TPOFF, 4, O.SIGNED),
    # Debug information only (DW_OP_const8u x@dtpoff): in code, the reader relaxes them to
    # TPOFF with their local-dynamic sequence before judging the type.
    17: Howto("R_X86_64_DTPOFF64", K.TLS_DTPOFF, 8, O.NONE),
    21: Howto("R_X86_64_DTPOFF32", K.TLS_DTPOFF, 4, O.SIGNED),
    # General and local dynamic (`lea x@tlsgd(%rip), %rdi; call __tls_get_addr@PLT`): kept
    # in a shared object, relaxed to local exec in an executable (tls_relax.py, at link time)
    19: Howto("R_X86_64_TLSGD", K.TLS_GD_PC, 4, O.SIGNED),
    20: Howto("R_X86_64_TLSLD", K.TLS_LD_PC, 4, O.SIGNED),
}

_TLS = "a dynamic TLS relocation, not valid in a relocatable object"
_TLS_DESC = ("TLS descriptors (-mtls-dialect=gnu2) are not supported yet; use the default "
             "dialect")
_DYNAMIC = "a dynamic relocation type, not valid in a relocatable object"

REFUSED = {
    5: ("R_X86_64_COPY", _DYNAMIC),
    6: ("R_X86_64_GLOB_DAT", _DYNAMIC),
    7: ("R_X86_64_JUMP_SLOT", _DYNAMIC),
    8: ("R_X86_64_RELATIVE", _DYNAMIC),
    16: ("R_X86_64_DTPMOD64", _TLS),
    30: ("R_X86_64_GOTPLT64", "PLT-offset relocations (large code model) are not supported"),
    34: ("R_X86_64_GOTPC32_TLSDESC", _TLS_DESC),
    35: ("R_X86_64_TLSDESC_CALL", _TLS_DESC),
    36: ("R_X86_64_TLSDESC", _TLS_DESC),
    37: ("R_X86_64_IRELATIVE", _DYNAMIC),
    38: ("R_X86_64_RELATIVE64", _DYNAMIC),
}

TABLE: NativeRelocs = build_table("x86_64", SUPPORTED, REFUSED)
# The type --emit-relocs writes for a relaxed GOT load (now lea/call/jmp rip-relative), as
# GNU ld rewrites its r_info: R_X86_64_PC32.
RELAXED_TYPE = 2
