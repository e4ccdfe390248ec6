"""The instruction rewrites real linkers may apply to GOT loads, as alternative expectations.

x86-64 R_X86_64_(REX_)GOTPCRELX, field at P with the ModRM byte at P-1 and the opcode at P-2:
    mov  foo@GOTPCREL(%rip), %reg  -> lea foo(%rip), %reg             (8b -> 8d; S + A - P)
                                   -> mov $foo, %reg                  (c7 /0, REX.R -> REX.B; S)
    call *foo@GOTPCREL(%rip)       -> addr32 call foo / nop; call foo (67 e8 | 90 e8; S + A - P)
                                   -> call foo; nop                    (e8 at P-2; S - (P + 3))
    jmp  *foo@GOTPCREL(%rip)       -> jmp foo; nop                     (e9 at P-2; S - (P + 3))
                                   -> nop; jmp foo  (mold)             (90 e9; S + A - P)
    test/binop foo@GOTPCREL(%rip), %reg -> test/binop $foo, %reg       (f7 /0 | 81 /n; S)
i386 R_386_GOT32X, field at P with ModRM at P-1, opcode at P-2:
    mov  foo@GOT(%reg), %reg2      -> lea foo@GOTOFF(%reg), %reg2      (8b -> 8d; S + A - GOT)
    mov  foo@GOT(%reg), %reg2      -> mov $foo, %reg2 (non-PIC output; c7 /0; S + A)
    mov  foo@GOT, %reg2 (no base)  -> mov $foo, %reg2 (GNU ld) | lea foo, %reg2 (gold; S + A)
    call/jmp *foo@GOT(%reg)        -> as for x86-64, relative to the field's end
    test/binop                     -> test/binop $foo                  (S + A)
GNU ld also rewrites the older R_X86_64_GOTPCREL and R_386_GOT32 `mov` forms, so those
are offered the same alternatives.  A relaxation is only legal for a symbol defined in the
output, which the caller checks.
"""

from __future__ import annotations

from .expect import Expectation, formula
from .types import Range

_BINOPS = {0x03: 0, 0x0B: 1, 0x13: 2, 0x1B: 3, 0x23: 4, 0x2B: 5, 0x33: 6, 0x3B: 7}


def _mod_reg_to_rm(modrm: int) -> int:
    """ModRM of the register-direct form whose r/m is the original's reg field."""
    return 0xC0 | ((modrm >> 3) & 7)


def relaxed(machine: str, before: bytes, site: int, s: int, a: int, got: int | None,
            rex: bool) -> list[Expectation]:
    """Relaxed forms for a field at `site`; `before` holds the 3 input bytes before it."""
    if len(before) < 3:
        return []
    op, modrm = before[1], before[2]
    out: list[Expectation] = []
    reg = (modrm >> 3) & 7

    def at(offset: int, *values: int) -> tuple[int, bytes]:
        return (site + offset, bytes(values))

    def pcrel(rule: str, *opcodes: tuple[int, bytes]) -> None:
        if machine == "x86_64":
            value, text = formula([("+", "S", s), ("+", "A", a), ("-", "P", site)])
        else:
            value, text = formula([("+", "S", s), ("-", "P + 4", site + 4)])
        out.append(Expectation(value, text, site, 4, Range.SIGNED, opcodes, rule))

    def branch_then_nop(opcode: int, rule: str) -> None:
        value, text = formula([("+", "S", s), ("-", "(P + 3)", site + 3)])
        out.append(Expectation(value, text, site - 1, 4, Range.SIGNED,
                               (at(-2, opcode), at(3, 0x90)), rule))

    imm_rule = Range.SIGNED if rex or machine == "i386" else Range.UNSIGNED
    imm_terms = [("+", "S", s)] if machine == "x86_64" else [("+", "S", s), ("+", "A", a)]
    imm_value, imm_text = formula(imm_terms)
    rex_b = before[0] & ~0x04 | ((before[0] & 0x04) >> 2) if rex else None

    def imm(opcode: int, modrm_out: int, rule: str) -> None:
        opcodes = [at(-2, opcode, modrm_out)]
        if rex_b is not None:
            opcodes.append(at(-3, rex_b))
        out.append(Expectation(imm_value, imm_text, site, 4, imm_rule, tuple(opcodes), rule))

    no_base = machine == "i386" and (modrm & 0xC7) == 0x05
    if op == 0x8B:
        if machine == "x86_64":
            pcrel("mov -> lea", at(-2, 0x8D, modrm))
        elif not no_base and got is not None:
            value, text = formula([("+", "S", s), ("+", "A", a), ("-", "GOT", got)])
            out.append(Expectation(value, text, site, 4, Range.ANY, (at(-2, 0x8D, modrm),),
                                   "mov -> lea @GOTOFF"))
        elif no_base:  # gold: with no base register the lea's displacement is S + A itself
            out.append(Expectation(imm_value, imm_text, site, 4, Range.ANY,
                                   (at(-2, 0x8D, modrm),), "mov -> lea (no base)"))
        imm(0xC7, _mod_reg_to_rm(modrm), "mov -> mov $imm")
    elif op == 0xFF and (modrm & 0x38) == 0x10:  # call *mem
        pcrel("call -> addr32 call", at(-2, 0x67, 0xE8))
        pcrel("call -> nop; call", at(-2, 0x90, 0xE8))
        branch_then_nop(0xE8, "call -> call; nop")
    elif op == 0xFF and (modrm & 0x38) == 0x20:  # jmp *mem
        branch_then_nop(0xE9, "jmp -> jmp; nop")
        pcrel("jmp -> nop; jmp", at(-2, 0x90, 0xE9))  # mold
    elif op == 0x85:
        imm(0xF7, _mod_reg_to_rm(modrm), "test -> test $imm")
    elif op in _BINOPS:
        imm(0x81, 0xC0 | (_BINOPS[op] << 3) | reg, "binop -> binop $imm")
    return out
