"""libSystem's pthreads, run one thread at a time: pthread_create runs the start routine
to completion at once, on the caller's stack but as another thread (its own TSD area at
the gs base, so its thread-local variables and pthread_getspecific values are its own),
and pthread_join hands back what it returned (or what it passed to pthread_exit); its
thread_local destructors then its keys' destructors run as it ends.  Programs that join before reading what
their threads wrote, or whose threads only print in creation order, behave as natively;
one that waits for a thread still to come (a condition variable, a spin on a flag) cannot
run here, and mutexes never block (no two threads ever run at once).

The gs base is switched through its register on x86-64; on i386 through the base of the
GDT entry the gs selector names (darwin_process.set_up's), rewritten and the selector
reloaded.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from unicorn import Uc
from unicorn import x86_const as x

from oracle.emulate.calls import JUMPED, CallContext, Export, GuestCall, LibResult, _Jumped
from oracle.emulate.guest import GuestFault, GuestMemory
from oracle.emulate.macho.darwin_process import (
    MACH_THREAD_PORT,
    TLV_IMAGE_KEYS,
    TSD_ERRNO,
    TSD_FIRST_KEY,
    TSD_MACH_THREAD_SELF,
    TSD_SELF,
    TSD_SLOTS,
)
from oracle.emulate.thread import descriptor

PTHREAD_DESTRUCTOR_ITERATIONS = 4  # <limits.h>'s, Darwin's and glibc's alike
THREAD_STRUCT = 0x100  # the struct _pthread fields before tsd[] (not read by programs)
FIRST_USER_KEY = TSD_FIRST_KEY + TLV_IMAGE_KEYS  # after dyld's thread-local-variable keys


GS_ENTRY = 3  # i386: the GDT entry of the gs selector (darwin_process.set_up)
CALLEE_SAVED_64 = (x.UC_X86_REG_RBX, x.UC_X86_REG_RBP, x.UC_X86_REG_R12, x.UC_X86_REG_R13,
                   x.UC_X86_REG_R14, x.UC_X86_REG_R15)
CALLEE_SAVED_32 = (x.UC_X86_REG_EBX, x.UC_X86_REG_ESI, x.UC_X86_REG_EDI, x.UC_X86_REG_EBP)
DATA_ACCESS = 0x92  # present, ring 3 data, writable


def gs_base(uc: Uc, mem: GuestMemory, word: int) -> int:
    """The running thread's TSD: the gs base."""
    if word == 8:
        return int(uc.reg_read(x.UC_X86_REG_GS_BASE))
    gdt = int(uc.reg_read(x.UC_X86_REG_GDTR)[1])
    _, low, mid, _, _, high = struct.unpack("<HHBBBB", mem.read(gdt + 8 * GS_ENTRY, 8))
    return low | mid << 16 | high << 24


def set_gs_base(uc: Uc, mem: GuestMemory, word: int, base: int) -> None:
    if word == 8:
        uc.reg_write(x.UC_X86_REG_GS_BASE, base)
        return
    gdt = int(uc.reg_read(x.UC_X86_REG_GDTR)[1])
    mem.write(gdt + 8 * GS_ENTRY, descriptor(base, DATA_ACCESS))
    uc.reg_write(x.UC_X86_REG_GS, GS_ENTRY << 3)  # reload: the hidden base is cached


def _gs(ctx: CallContext) -> int:
    return gs_base(ctx.machine.uc, ctx.mem, ctx.word)


def _slot(ctx: CallContext, key: int) -> int:
    if not 0 <= key < TSD_SLOTS:
        raise GuestFault(key, f"pthread key {key} is not one of the {TSD_SLOTS} TSD slots")
    return _gs(ctx) + ctx.word * key


def _read(ctx: CallContext, addr: int) -> int:
    return int.from_bytes(ctx.mem.read(addr, ctx.word), "little")


def _write(ctx: CallContext, addr: int, value: int) -> None:
    ctx.mem.write(addr, (value & (1 << 8 * ctx.word) - 1).to_bytes(ctx.word, "little"))


class Threads:
    """The process's threads: results by pthread_t, the next key, and each thread's
    thread_local destructors (`__tlv_atexit`), by its TSD."""

    def __init__(self) -> None:
        self.results: dict[int, int] = {}
        self.next_key = FIRST_USER_KEY
        self.finalizers: dict[int, list[tuple[int, int]]] = {}
        # per running thread, innermost last: the callee-saved registers pthread_create
        # was called with, which pthread_exit (no return through the thread's frames to
        # restore them) puts back for pthread_create's caller
        self.saved: list[list[tuple[int, int]]] = []
        self.destructors: dict[int, int] = {}  # key -> pthread_key_create's destructor

    def tlv_atexit(self, ctx: CallContext) -> int:
        """libdyld's `_tlv_atexit(func, obj)`: run func(obj) when this thread ends (its start
        routine returns, or exit() on the main thread, before the atexit handlers: Libc's
        exit calls _tlv_exit first), newest first."""
        func, obj = ctx.args(2)
        if not self.finalizers:
            ctx.process.before_exit.append(lambda c: self.finalize(c, _gs(c)))
        self.finalizers.setdefault(_gs(ctx), []).append((func, obj))
        return 0

    def finalize(self, ctx: CallContext, tsd: int) -> Iterator[GuestCall]:
        """The destructors of the thread whose TSD is `tsd`, newest first (ones registered
        meanwhile too)."""
        pending = self.finalizers.get(tsd, [])
        while pending:
            func, obj = pending.pop()
            yield GuestCall(func, (obj,))

    def create(self, ctx: CallContext) -> LibResult:
        tid_out, _attr, start, arg = ctx.args(4)
        process = ctx.process
        area = process.alloc_data(THREAD_STRUCT + ctx.word * TSD_SLOTS, 16)
        tsd = area + THREAD_STRUCT
        caller_gs = _gs(ctx)
        errno = _read(ctx, caller_gs + ctx.word * TSD_ERRNO)
        for slot, value in ((TSD_SELF, area), (TSD_ERRNO, errno),
                            (TSD_MACH_THREAD_SELF, MACH_THREAD_PORT + len(self.results) + 1)):
            _write(ctx, tsd + ctx.word * slot, value)
        if tid_out:
            _write(ctx, tid_out, area)
        uc, mem, word = ctx.machine.uc, ctx.mem, ctx.word
        set_gs_base(uc, mem, word, tsd)
        # errno is each thread's own: the one cell every libSystem function and __error()
        # use holds the running thread's value, 0 for a new thread, the caller's again
        # when it ends (a thread's failing call must not change main's errno)
        errno_cell = process.object(("errno",), bytes(4)).address
        caller_errno = mem.read(errno_cell, 4)
        mem.write(errno_cell, bytes(4))
        self.saved.append([(r, int(uc.reg_read(r)))
                           for r in (CALLEE_SAVED_64 if word == 8 else CALLEE_SAVED_32)])
        try:
            result = yield GuestCall(start, (arg,))
            yield from self.finalize(ctx, tsd)
            yield from self.key_destructors(ctx, tsd)
        finally:
            self.saved.pop()
            mem.write(errno_cell, caller_errno)
            set_gs_base(uc, mem, word, caller_gs)
        self.results[area] = result
        return 0

    def exit(self, ctx: CallContext) -> _Jumped:
        """pthread_exit(value): the thread ends as if its start routine had returned value
        (its thread_local destructors run, pthread_join hands value back): the emulation
        resumes the pthread_create that runs the thread.  On the main thread, which would
        end the process once the others have (they all have, here), it is refused."""
        if not self.saved:
            raise GuestFault(0, "pthread_exit on the main thread is not emulated")
        value = ctx.arg(0)
        for register, saved in self.saved[-1]:
            ctx.machine.uc.reg_write(register, saved)
        resumed = ctx.machine.return_from_guest_call("pthread_create", value)
        assert resumed, "a running thread without its pthread_create"
        return JUMPED

    def join(self, ctx: CallContext) -> int:
        tid, out = ctx.args(2)
        if tid not in self.results:
            return 3  # ESRCH: no such thread (or already joined)
        result = self.results.pop(tid)
        if out:
            _write(ctx, out, result)
        return 0

    def key_create(self, ctx: CallContext) -> int:
        out, destructor = ctx.args(2)
        if self.next_key >= TSD_SLOTS:
            return 35  # EAGAIN
        if destructor:
            self.destructors[self.next_key] = destructor
        _write(ctx, out, self.next_key)
        self.next_key += 1
        return 0

    def key_destructors(self, ctx: CallContext, tsd: int) -> Iterator[GuestCall]:
        """A thread's end, after its thread_local destructors (dyld's TLV key comes before
        every user key): each key with a destructor whose value in this thread is not NULL
        is set to NULL and its destructor called with the value, in key order, again while
        a destructor left a value behind, at most PTHREAD_DESTRUCTOR_ITERATIONS rounds
        (POSIX; libpthread's _pthread_tsd_cleanup).  Not run on exit()."""
        for _ in range(PTHREAD_DESTRUCTOR_ITERATIONS):
            called = False
            for key, destructor in sorted(self.destructors.items()):
                slot = tsd + ctx.word * key
                value = _read(ctx, slot)
                if value:
                    _write(ctx, slot, 0)
                    called = True
                    yield GuestCall(destructor, (value,))
            if not called:
                return


def pthread_exports() -> dict[str, Export]:
    """A fresh set per process (the thread table is the process's)."""
    threads = Threads()

    def self_(ctx: CallContext) -> int:
        return _read(ctx, _slot(ctx, TSD_SELF))

    def getspecific(ctx: CallContext) -> int:
        return _read(ctx, _slot(ctx, ctx.arg(0)))

    def setspecific(ctx: CallContext) -> int:
        key, value = ctx.args(2)
        _write(ctx, _slot(ctx, key), value)
        return 0

    def equal(ctx: CallContext) -> int:
        a, b = ctx.args(2)
        return int(a == b)

    def zero(ctx: CallContext) -> int:
        return 0

    def key_delete(ctx: CallContext) -> int:
        threads.destructors.pop(ctx.arg(0), None)  # no destructor runs for it any more
        return 0

    exports = [Export("pthread_create", 4, threads.create), Export("pthread_join", 2, threads.join),
               Export("pthread_exit", 1, threads.exit),
               Export("_tlv_atexit", 2, threads.tlv_atexit),
               Export("pthread_self", 0, self_), Export("pthread_equal", 2, equal),
               Export("pthread_key_create", 2, threads.key_create),
               Export("pthread_getspecific", 1, getspecific),
               Export("pthread_setspecific", 2, setspecific),
               Export("pthread_key_delete", 1, key_delete)]
    for name, arity in (("pthread_mutex_init", 2), ("pthread_mutex_lock", 1),
                        ("pthread_mutex_unlock", 1), ("pthread_mutex_destroy", 1),
                        ("pthread_detach", 1)):
        exports.append(Export(name, arity, zero))
    return {e.name: e for e in exports}
