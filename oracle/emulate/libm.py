"""The emulated libm.so.6: double functions over Python's math module (which is the host's
glibc libm, so results agree with a native run to the bit for the functions both have).

Arguments are doubles (xmm registers on x86-64, the stack on i386); results go to xmm0 or
st(0).  Domain and range errors give NaN and infinities, as C does, instead of Python's
exceptions.  The trace records no arguments for these (they are not integers).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export


def _c_round(value: float) -> float:
    """C's round(): halfway cases away from zero (Python's round() goes to even)."""
    if not math.isfinite(value):
        return value
    whole = float(math.trunc(value))
    if abs(value - whole) >= 0.5:
        whole += math.copysign(1.0, value)
    return whole


def _rint(value: float) -> float:
    return float(round(value)) if math.isfinite(value) else value


def _guarded(func: Callable[..., float]) -> Callable[..., float]:
    def call(*args: float) -> float:
        try:
            return float(func(*args))
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            return -math.inf

    return call


UNARY: dict[str, Callable[[float], float]] = {
    name: getattr(math, name) for name in (
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
        "atanh", "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "fabs", "floor",
        "ceil", "trunc", "erf", "erfc")
}
UNARY.update({"exp2": lambda v: 2.0 ** v, "cbrt": lambda v: math.copysign(abs(v) ** (1 / 3), v),
              "round": _c_round, "rint": _rint, "nearbyint": _rint})
BINARY: dict[str, Callable[[float, float], float]] = {
    "pow": math.pow, "atan2": math.atan2, "fmod": math.fmod, "hypot": math.hypot,
    "copysign": math.copysign, "fmin": min, "fmax": max, "remainder": math.remainder,
}
TO_LONG: dict[str, Callable[[float], float]] = {
    "lround": _c_round, "llround": _c_round, "lrint": _rint, "llrint": _rint,
}


def _unary(name: str, func: Callable[[float], float]) -> Export:
    safe = _guarded(func)
    return Export(name, 0, lambda ctx: safe(_arg(ctx, 0)))


def _binary(name: str, func: Callable[[float, float], float]) -> Export:
    safe = _guarded(func)
    return Export(name, 0, lambda ctx: safe(_arg(ctx, 0), _arg(ctx, 1)))


def _to_long(name: str, func: Callable[[float], float]) -> Export:
    def impl(ctx: CallContext) -> int:
        value = func(_arg(ctx, 0))
        return int(value) if math.isfinite(value) else 1 << (8 * ctx.word - 1)

    return Export(name, 0, impl)


def _arg(ctx: CallContext, index: int) -> float:
    return ctx.machine.abi.float_arg(ctx.machine.uc, ctx.mem, index)


def _pointer_after_double(ctx: CallContext) -> int:
    """The pointer argument after one double: rdi on x86-64, the stack word after the
    double's two on i386."""
    return ctx.arg(0) if ctx.word == 8 else ctx.arg(2)


def frexp(ctx: CallContext) -> float:
    mantissa, exponent = math.frexp(_arg(ctx, 0))  # inf and nan: themselves, exponent 0
    ctx.mem.write(_pointer_after_double(ctx), (exponent & 0xFFFFFFFF).to_bytes(4, "little"))
    return mantissa


def ldexp(ctx: CallContext) -> float:
    value, exponent = _arg(ctx, 0), _pointer_after_double(ctx) & 0xFFFFFFFF
    exponent -= (exponent >> 31) << 32
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def modf(ctx: CallContext) -> float:
    fraction, whole = math.modf(_arg(ctx, 0))
    ctx.mem.write(_pointer_after_double(ctx), struct.pack("<d", whole))
    return fraction


# glibc's libc.so.6 exports these as well as libm.so.6: a program may call them without -lm
IN_LIBC_TOO = (Export("frexp", 0, frexp), Export("ldexp", 0, ldexp), Export("modf", 0, modf),
               Export("scalbn", 0, ldexp))


def libm_exports() -> dict[str, Export]:
    exports = [
        *IN_LIBC_TOO,
        *(_unary(n, f) for n, f in UNARY.items()),
        *(_binary(n, f) for n, f in BINARY.items()),
        *(_to_long(n, f) for n, f in TO_LONG.items()),
    ]
    return {e.name: e for e in exports}
