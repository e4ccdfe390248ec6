"""div, ldiv and lldiv: the quotient (truncated toward zero) and remainder as a struct.

x86-64 returns the struct in registers (div_t packed in rax; ldiv_t and lldiv_t in rax
and rdx).  i386 returns every struct in memory: the caller passes its address as a hidden
first argument and the callee returns it in eax and pops it (`ret $4`), so on i386 these
functions set pc and sp themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from unicorn import x86_const as x

from oracle.emulate.calls import JUMPED, CallContext, Export, LibResult
from oracle.emulate.guest import GuestFault


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _divide(ctx: CallContext, numerator: int, denominator: int) -> tuple[int, int]:
    if denominator == 0:
        raise GuestFault(0, "division by zero")
    quotient = abs(numerator) // abs(denominator)
    if (numerator < 0) != (denominator < 0):
        quotient = -quotient
    return quotient, numerator - quotient * denominator


def _struct_division(bits: int) -> Callable[[CallContext], LibResult]:
    """div (bits 32), ldiv (the word), lldiv (64)."""

    def impl(ctx: CallContext) -> LibResult:
        size = bits // 8
        if ctx.word == 8:
            quotient, remainder = _divide(ctx, _signed(ctx.arg(0), bits),
                                          _signed(ctx.arg(1), bits))
            if bits == 32:  # div_t: eight bytes, one register
                return ((remainder & 0xFFFFFFFF) << 32) | (quotient & 0xFFFFFFFF)
            ctx.machine.uc.reg_write(x.UC_X86_REG_RDX, remainder & (1 << 64) - 1)
            return quotient & (1 << 64) - 1
        hidden = ctx.arg(0)
        if bits == 64:  # two stack words per long long
            numerator = _signed(ctx.arg(1) | ctx.arg(2) << 32, 64)
            denominator = _signed(ctx.arg(3) | ctx.arg(4) << 32, 64)
        else:
            numerator, denominator = _signed(ctx.arg(1), 32), _signed(ctx.arg(2), 32)
        quotient, remainder = _divide(ctx, numerator, denominator)
        mask = (1 << bits) - 1
        ctx.mem.write(hidden, (quotient & mask).to_bytes(size, "little")
                      + (remainder & mask).to_bytes(size, "little"))
        abi, uc = ctx.machine.abi, ctx.machine.uc
        sp = abi.sp(uc)
        uc.reg_write(abi.pc_reg, abi.read_word(ctx.mem, sp))
        uc.reg_write(abi.sp_reg, sp + 8)  # the return address and the hidden pointer
        abi.set_return(uc, hidden)
        return JUMPED

    return impl


def _ldiv(ctx: CallContext) -> LibResult:
    return _struct_division(8 * ctx.word)(ctx)


EXPORTS = (
    Export("div", 2, _struct_division(32)),
    Export("ldiv", 2, _ldiv),
    Export("lldiv", 2, _struct_division(64)),
    Export("imaxdiv", 2, _struct_division(64)),
)
