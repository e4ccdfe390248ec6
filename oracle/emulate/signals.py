"""signal, sigaction and raise: handlers are recorded per process and raise() calls the
handler synchronously (a guest call), as the kernel would deliver a signal sent to
oneself before raise returns.  A signal left at its default action ends the process as
killed by it (status 128 + signal, with a fault); SIG_IGN and the ignore-by-default
signals do nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from oracle.emulate.calls import CallContext, Export, GuestCall, ProgramExit
from oracle.emulate.result import Fault

SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO = 4
IGNORED_BY_DEFAULT = frozenset({17, 23, 28})  # SIGCHLD, SIGURG, SIGWINCH
SI_TKILL = -6


def _handlers(ctx: CallContext) -> dict[int, tuple[int, int]]:
    return ctx.process.signal_handlers


def signal(ctx: CallContext) -> int:
    sig, handler = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1)
    old = _handlers(ctx).get(sig, (SIG_DFL, 0))[0]
    _handlers(ctx)[sig] = (handler, 0)
    return old


def sigaction(ctx: CallContext) -> int:
    """glibc's struct sigaction: handler (word), sa_mask (128 bytes), sa_flags (int)."""
    sig, act, oldact = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1), ctx.arg(2)
    word = ctx.word
    old_handler, old_flags = _handlers(ctx).get(sig, (SIG_DFL, 0))
    if act:
        handler = int.from_bytes(ctx.mem.read(act, word), "little")
        flags = int.from_bytes(ctx.mem.read(act + word + 128, 4), "little")
        _handlers(ctx)[sig] = (handler, flags)
    if oldact:
        ctx.mem.write(oldact, old_handler.to_bytes(word, "little") + bytes(128)
                      + old_flags.to_bytes(4, "little"))
    return 0


def raise_(ctx: CallContext) -> Generator[GuestCall, int, int]:
    sig = ctx.arg(0) & 0xFFFFFFFF
    handler, flags = _handlers(ctx).get(sig, (SIG_DFL, 0))
    if handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT):
        return 0
    if handler == SIG_DFL:
        pc = ctx.abi_return_address()
        raise ProgramExit(128 + sig, Fault("signal", pc, ctx.machine.symbol_at(pc),
                                           f"killed by signal {sig} (raised, default action)"))
    if flags & SA_SIGINFO:
        info = ctx.process.alloc_data(128)
        ctx.mem.write(info, sig.to_bytes(4, "little") + bytes(4)
                      + (SI_TKILL & 0xFFFFFFFF).to_bytes(4, "little"))
        context = ctx.process.alloc_data(1024)
        yield GuestCall(handler, (sig, info, context))
    else:
        yield GuestCall(handler, (sig,))
    return 0


EXPORTS = (
    Export("signal", 2, signal),
    Export("sigaction", 3, sigaction),
    Export("raise", 1, raise_),
)


# -- sigset_t: glibc's is 1024 bits (128 bytes) on both ABIs; signals are 1 to 64 --

SIGSET_BYTES = 128
EINVAL = 22


def _fill(value: int) -> Callable[[CallContext], int]:
    def impl(ctx: CallContext) -> int:
        ctx.mem.write(ctx.arg(0), bytes([value]) * SIGSET_BYTES)
        return 0

    return impl


def _member(change: Callable[[int, int], int] | None) -> Callable[[CallContext], int]:
    """sigaddset/sigdelset (change the byte holding the bit), sigismember (None: test it)."""

    def impl(ctx: CallContext) -> int:
        at, sig = ctx.arg(0), ctx.arg(1) & 0xFFFFFFFF
        if not 1 <= sig <= 64:
            ctx.mem.write(ctx.process.object(("errno",), bytes(4)).address,
                          EINVAL.to_bytes(4, "little"))
            return -1
        byte_at, bit = at + (sig - 1) // 8, 1 << (sig - 1) % 8
        byte = ctx.mem.read(byte_at, 1)[0]
        if change is None:
            return int(bool(byte & bit))
        ctx.mem.write(byte_at, bytes([change(byte, bit)]))
        return 0

    return impl


SET_EXPORTS = (
    Export("sigemptyset", 1, _fill(0)),
    Export("sigfillset", 1, _fill(0xFF)),
    Export("sigaddset", 2, _member(lambda byte, bit: byte | bit)),
    Export("sigdelset", 2, _member(lambda byte, bit: byte & ~bit)),
    Export("sigismember", 2, _member(None)),
)
