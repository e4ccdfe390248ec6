"""The relocation types the field oracle understands: number -> name, formula, width, range.

These tables are the oracle's own reading of the x86-64 and i386 psABIs; they deliberately
do not come from `linker/`, so that a wrong entry in the linker cannot hide itself here.

Formula kinds (S symbol, A addend, P field address, G GOT slot, L PLT entry, GOT GOT base,
Z symbol size):
    ABS S+A   PC S+A-P   PLT_PC L+A-P   GOT_PC G+A-P   GOT_OFF G+A-GOT   PLT_OFF L+A-GOT
    GOT_ABS G+A   REL_GOT S+A-GOT   GOT_BASE_PC GOT+A-P   SIZE Z+A
TLS (TP = the end of the PT_TLS block, rounded up to its alignment, as in variant II):
    TP_OFF S+A-TP   TP_NEG TP-S-A   TLS_GOT_* G+A-P, G+A, G+A-GOT with G holding S-TP
(The psABI writes the large-model GOT64 and GOTPCREL64 with G as an offset into the GOT;
with G an address, as here, they are G+A-GOT and G+A-P.)

R_386_GOT32 and R_386_GOT32X mean one of two things, and the i386 psABI (section "Relocation
Types", note to R_386_GOT32X) says which by the instruction: when the ModRM byte before the
field names a base register (`foo@GOT(%ebx)`), G + A - GOT; when it names none (mod 00,
r/m 101: `call *foo@GOT`, `mov foo@GOT, %eax`, non-PIC `-fno-plt` code), G + A.  `at_site`
reads that byte from the input section.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Formula(Enum):
    ABS = "S + A"
    PC = "S + A - P"
    PLT_PC = "L + A - P"
    GOT_PC = "G + A - P"
    GOT_OFF = "G + A - GOT"
    GOT_ABS = "G + A"           # the GOT slot's own address
    PLT_OFF = "L + A - GOT"
    REL_GOT = "S + A - GOT"
    GOT_BASE_PC = "GOT + A - P"
    SIZE = "Z + A"
    TP_OFF = "S + A - TP"       # local exec: offset from the thread pointer
    TP_NEG = "TP - S - A"       # R_386_TLS_LE_32: the same, negated
    TLS_GOT_PC = "G(tp) + A - P"  # initial exec: the slot G holds S - TP
    TLS_GOT_ABS = "G(tp) + A"
    TLS_GOT_OFF = "G(tp) + A - GOT"
    # general and local dynamic: G is the first of two GOT words (a tls_index: module id,
    # offset in its block) that DTPMOD/DTPOFF relocations fill; DTP_OFF is a variable's
    # offset in its module's block, S + A - the start of PT_TLS
    TLS_GD_PC = "G(gd) + A - P"
    TLS_GD_OFF = "G(gd) + A - GOT"
    TLS_LD_PC = "G(ld) + A - P"
    TLS_LD_OFF = "G(ld) + A - GOT"
    DTP_OFF = "S + A - TLS"


class Range(Enum):
    """How a value must fit its field (what a real linker checks before writing it)."""

    ANY = "any"            # full-width: nothing can overflow
    UNSIGNED = "unsigned"  # zero-extended by the CPU (R_X86_64_32)
    SIGNED = "signed"      # sign-extended (32S, every pc-relative field)
    EITHER = "either"      # signed or unsigned both accepted (16/8-bit absolute fields)


@dataclass(frozen=True)
class RelocType:
    name: str
    formula: Formula
    width: int  # bytes
    range: Range
    relaxable: bool = False  # the linker may rewrite the instruction (GOTPCRELX and friends)
    # the formula when the ModRM byte before the field names no base register (see above)
    no_base: Formula | None = None


_X86_64: dict[int, RelocType] = {
    1: RelocType("R_X86_64_64", Formula.ABS, 8, Range.ANY),
    2: RelocType("R_X86_64_PC32", Formula.PC, 4, Range.SIGNED),
    3: RelocType("R_X86_64_GOT32", Formula.GOT_OFF, 4, Range.SIGNED),
    4: RelocType("R_X86_64_PLT32", Formula.PLT_PC, 4, Range.SIGNED),
    9: RelocType("R_X86_64_GOTPCREL", Formula.GOT_PC, 4, Range.SIGNED, relaxable=True),
    10: RelocType("R_X86_64_32", Formula.ABS, 4, Range.UNSIGNED),
    11: RelocType("R_X86_64_32S", Formula.ABS, 4, Range.SIGNED),
    12: RelocType("R_X86_64_16", Formula.ABS, 2, Range.EITHER),
    13: RelocType("R_X86_64_PC16", Formula.PC, 2, Range.SIGNED),
    14: RelocType("R_X86_64_8", Formula.ABS, 1, Range.EITHER),
    15: RelocType("R_X86_64_PC8", Formula.PC, 1, Range.SIGNED),
    24: RelocType("R_X86_64_PC64", Formula.PC, 8, Range.ANY),
    25: RelocType("R_X86_64_GOTOFF64", Formula.REL_GOT, 8, Range.ANY),
    26: RelocType("R_X86_64_GOTPC32", Formula.GOT_BASE_PC, 4, Range.SIGNED),
    27: RelocType("R_X86_64_GOT64", Formula.GOT_OFF, 8, Range.ANY),
    28: RelocType("R_X86_64_GOTPCREL64", Formula.GOT_PC, 8, Range.ANY),
    29: RelocType("R_X86_64_GOTPC64", Formula.GOT_BASE_PC, 8, Range.ANY),
    31: RelocType("R_X86_64_PLTOFF64", Formula.PLT_OFF, 8, Range.ANY),
    32: RelocType("R_X86_64_SIZE32", Formula.SIZE, 4, Range.UNSIGNED),
    33: RelocType("R_X86_64_SIZE64", Formula.SIZE, 8, Range.ANY),
    18: RelocType("R_X86_64_TPOFF64", Formula.TP_OFF, 8, Range.ANY),
    22: RelocType("R_X86_64_GOTTPOFF", Formula.TLS_GOT_PC, 4, Range.SIGNED, relaxable=True),
    23: RelocType("R_X86_64_TPOFF32", Formula.TP_OFF, 4, Range.SIGNED),
    19: RelocType("R_X86_64_TLSGD", Formula.TLS_GD_PC, 4, Range.SIGNED),
    20: RelocType("R_X86_64_TLSLD", Formula.TLS_LD_PC, 4, Range.SIGNED),
    21: RelocType("R_X86_64_DTPOFF32", Formula.DTP_OFF, 4, Range.SIGNED),
    17: RelocType("R_X86_64_DTPOFF64", Formula.DTP_OFF, 8, Range.ANY),
    41: RelocType("R_X86_64_GOTPCRELX", Formula.GOT_PC, 4, Range.SIGNED, relaxable=True),
    42: RelocType("R_X86_64_REX_GOTPCRELX", Formula.GOT_PC, 4, Range.SIGNED, relaxable=True),
}

_I386: dict[int, RelocType] = {
    1: RelocType("R_386_32", Formula.ABS, 4, Range.ANY),
    2: RelocType("R_386_PC32", Formula.PC, 4, Range.ANY),
    3: RelocType("R_386_GOT32", Formula.GOT_OFF, 4, Range.ANY, relaxable=True,
                 no_base=Formula.GOT_ABS),
    4: RelocType("R_386_PLT32", Formula.PLT_PC, 4, Range.ANY),
    9: RelocType("R_386_GOTOFF", Formula.REL_GOT, 4, Range.ANY),
    10: RelocType("R_386_GOTPC", Formula.GOT_BASE_PC, 4, Range.ANY),
    20: RelocType("R_386_16", Formula.ABS, 2, Range.EITHER),
    21: RelocType("R_386_PC16", Formula.PC, 2, Range.SIGNED),
    22: RelocType("R_386_8", Formula.ABS, 1, Range.EITHER),
    23: RelocType("R_386_PC8", Formula.PC, 1, Range.SIGNED),
    43: RelocType("R_386_GOT32X", Formula.GOT_OFF, 4, Range.ANY, relaxable=True,
                  no_base=Formula.GOT_ABS),
    15: RelocType("R_386_TLS_IE", Formula.TLS_GOT_ABS, 4, Range.ANY, relaxable=True),
    16: RelocType("R_386_TLS_GOTIE", Formula.TLS_GOT_OFF, 4, Range.ANY, relaxable=True),
    17: RelocType("R_386_TLS_LE", Formula.TP_OFF, 4, Range.ANY),
    34: RelocType("R_386_TLS_LE_32", Formula.TP_NEG, 4, Range.ANY),
    18: RelocType("R_386_TLS_GD", Formula.TLS_GD_OFF, 4, Range.ANY),
    19: RelocType("R_386_TLS_LDM", Formula.TLS_LD_OFF, 4, Range.ANY),
    32: RelocType("R_386_TLS_LDO_32", Formula.DTP_OFF, 4, Range.ANY),
}

# Types we recognise by name but do not check (TLS descriptors, the large-model PLT GOT): a use of one is reported as "unsupported", never a crash.
_X86_64_OTHER = {16: "R_X86_64_DTPMOD64", 30: "R_X86_64_GOTPLT64",
                 34: "R_X86_64_GOTPC32_TLSDESC", 35: "R_X86_64_TLSDESC_CALL",
                 36: "R_X86_64_TLSDESC"}
_I386_OTHER = {14: "R_386_TLS_TPOFF", 33: "R_386_TLS_IE_32",
               39: "R_386_TLS_GOTDESC", 40: "R_386_TLS_DESC_CALL"}

# Types whose instruction sequences linkers rewrite wholesale: the bytes around their
# sites are not compared when locating a section by content.
TLS_TYPES = {"x86_64": frozenset({19, 20, 21, 34, 35}),
             "i386": frozenset({18, 19, 32, 33, 39, 40})}

_TABLES = {"x86_64": _X86_64, "i386": _I386}
_OTHER = {"x86_64": _X86_64_OTHER, "i386": _I386_OTHER}


def lookup(machine: str, number: int) -> RelocType | None:
    """The type's description, or None when the oracle cannot check it."""
    return _TABLES[machine].get(number)


# ModRM: mod (bits 7-6) 00 with r/m (bits 2-0) 101 is a bare disp32 in 32-bit addressing.
_MOD_RM_MASK, _DISP32_ONLY = 0xC7, 0x05


def at_site(info: RelocType, section: bytes, offset: int) -> RelocType:
    """The type as it applies at `offset` of `section` (input bytes): a type whose meaning
    depends on the instruction gets its no-base formula when the ModRM byte at offset - 1
    names no base register.  A field at offset 0 has no instruction byte before it."""
    if info.no_base is None or offset < 1 or offset > len(section):
        return info
    if section[offset - 1] & _MOD_RM_MASK != _DISP32_ONLY:
        return info
    return replace(info, formula=info.no_base, no_base=None)


def type_name(machine: str, number: int) -> str:
    known = _TABLES[machine].get(number)
    if known is not None:
        return known.name
    prefix = "R_X86_64_" if machine == "x86_64" else "R_386_"
    return _OTHER[machine].get(number, f"{prefix}{number}")


def is_none(number: int) -> bool:
    """R_X86_64_NONE and R_386_NONE (both 0) ask for nothing."""
    return number == 0
