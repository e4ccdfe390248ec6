"""__tls_get_addr: the address of a thread-local variable of a module, for code compiled for
the general- and local-dynamic TLS models (what -fPIC code uses).  Every module's block is
in the static TLS area (thread.StaticTls) and listed in the thread's DTV, which this reads
as glibc does: dtv[module] plus the variable's offset (a wrong DTPMOD faults or reads
another module's block; a wrong DTPOFF reads the wrong variable).  i386 has two entry points: ___tls_get_addr takes the
tls_index pointer in %eax, __tls_get_addr on the stack.
"""

from __future__ import annotations

from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault


def _word(ctx: CallContext, address: int) -> int:
    return int.from_bytes(ctx.mem.read(address, ctx.word), "little")


def _address(ctx: CallContext, index: int) -> int:
    """What glibc's __tls_get_addr does for a module loaded at start-up: the thread's DTV
    (tcb[1]), entry `module`, plus the offset, all read from guest memory."""
    word = ctx.word
    module, offset = _word(ctx, index), _word(ctx, index + word)
    tls = ctx.process.tls
    if tls is None:
        raise GuestFault(index, "__tls_get_addr: the thread has no TLS")
    dtv = _word(ctx, tls.tp + word)
    length = _word(ctx, dtv - 2 * word)
    if not 0 < module <= length:
        raise GuestFault(index, f"__tls_get_addr: module {module} is not in the DTV "
                                f"(modules 1..{length})")
    block = _word(ctx, dtv + 2 * word * module)
    if block == 0:
        raise GuestFault(index, f"__tls_get_addr: module {module} has no TLS block")
    return (block + offset) % (1 << (8 * word))


def tls_get_addr(ctx: CallContext) -> int:
    return _address(ctx, ctx.arg(0))


def tls_get_addr_regparm(ctx: CallContext) -> int:
    return _address(ctx, int(ctx.machine.uc.reg_read(x.UC_X86_REG_EAX)))


EXPORTS = (
    Export("__tls_get_addr", 1, tls_get_addr),
    Export("___tls_get_addr", 0, tls_get_addr_regparm),
)
