"""__tls_get_addr: the address of a thread-local variable of a module, for code compiled for
the general- and local-dynamic TLS models (what -fPIC code uses).  Every module's block is
in the static TLS area (thread.StaticTls), so this is the thread pointer minus the block's
offset plus the variable's offset.  i386 has two entry points: ___tls_get_addr takes the
tls_index pointer in %eax, __tls_get_addr on the stack.
"""

from __future__ import annotations

from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault


def _address(ctx: CallContext, index: int) -> int:
    word = ctx.word
    raw = ctx.mem.read(index, 2 * word)
    module = int.from_bytes(raw[:word], "little")
    offset = int.from_bytes(raw[word:], "little")
    tls = ctx.process.tls
    if tls is None or module not in tls.offsets:
        raise GuestFault(index, f"__tls_get_addr: no TLS module {module}")
    return tls.tp - tls.offsets[module] + offset


def tls_get_addr(ctx: CallContext) -> int:
    return _address(ctx, ctx.arg(0))


def tls_get_addr_regparm(ctx: CallContext) -> int:
    return _address(ctx, int(ctx.machine.uc.reg_read(x.UC_X86_REG_EAX)))


EXPORTS = (
    Export("__tls_get_addr", 1, tls_get_addr),
    Export("___tls_get_addr", 0, tls_get_addr_regparm),
)
