"""The i386 compiler runtime that libSystem carries (libcompiler_rt): 64-bit division, which
i386 code cannot do in one instruction, so clang calls `___divdi3`, `___moddi3`,
`___udivdi3` and `___umoddi3` for every `long long` / and %.

cdecl: each 64-bit argument takes two stack words, low first; the 64-bit result comes back
in edx:eax.  Division truncates toward zero and the remainder takes the dividend's sign,
as C says.  A zero divisor is the CPU's divide error, as compiler-rt's own `div`
instruction would raise, reported at the call.
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.machine import RunStop
from oracle.emulate.result import Fault

MASK64 = (1 << 64) - 1


def _u64(ctx: CallContext, first: int) -> int:
    return ctx.arg(first) | ctx.arg(first + 1) << 32


def _s64(ctx: CallContext, first: int) -> int:
    value = _u64(ctx, first)
    return value - (1 << 64) if value >> 63 else value


def _divide(ctx: CallContext, name: str, signed: bool) -> tuple[int, int]:
    """(quotient, remainder) of arguments 0 and 1, each truncated toward zero."""
    a, b = (_s64(ctx, 0), _s64(ctx, 2)) if signed else (_u64(ctx, 0), _u64(ctx, 2))
    if b == 0:
        site = ctx.abi_return_address()
        raise RunStop(Fault("cpu", site, ctx.machine.symbol_at(site),
                            f"divide error: {name} with a zero divisor"))
    quotient = abs(a) // abs(b) * (-1 if (a < 0) != (b < 0) else 1)
    return quotient, a - quotient * b


def _function(name: str, signed: bool, part: int) -> Callable[[CallContext], LibResult]:
    def impl(ctx: CallContext) -> LibResult:
        return _divide(ctx, name, signed)[part] & MASK64

    return impl


def _divmod4(name: str, signed: bool) -> Callable[[CallContext], LibResult]:
    """__udivmoddi4(a, b, *rem) / __divmoddi4: the quotient, the remainder stored."""

    def impl(ctx: CallContext) -> LibResult:
        quotient, remainder = _divide(ctx, name, signed)
        if ctx.arg(4):
            ctx.mem.write(ctx.arg(4), (remainder & MASK64).to_bytes(8, "little"))
        return quotient & MASK64

    return impl


def compiler_rt_exports() -> dict[str, Export]:
    """The i386 helpers by C name (arity 4: the two 64-bit arguments' words)."""
    rows = [
        Export("__divdi3", 4, _function("__divdi3", True, 0)),
        Export("__moddi3", 4, _function("__moddi3", True, 1)),
        Export("__udivdi3", 4, _function("__udivdi3", False, 0)),
        Export("__umoddi3", 4, _function("__umoddi3", False, 1)),
        Export("__divmoddi4", 5, _divmod4("__divmoddi4", True)),
        Export("__udivmoddi4", 5, _divmod4("__udivmoddi4", False)),
    ]
    return {row.name: row for row in rows}
