"""The emulated CPU: one Unicorn instance (reused across runs, see cpu.py), the library
region where calls are intercepted, the loop that alternates guest execution with Python
library functions, and the translation of every way a run can go wrong into a Fault.

Library functions, the lazy resolver and the return gate of guest calls all live at
addresses in one executable "library" region, a trampoline page range filled with `ret`.
A code hook limited to that range runs the Python handler of an address before the `ret`
there executes; a handler that returns to the caller sets the return registers (and the
stack pointer to where the return address is) and lets the `ret` return, one that goes
elsewhere (a guest call, longjmp) sets pc, and a jump to an address without a handler is
a fault (cpu.py says why the `ret`).

Nothing else runs Python while guest code runs: guest code executes at the JIT's speed.
A run is bounded by its wall time (the watchdog thread in cpu.py stops the CPU) and,
when the caller gives an instruction budget, by Unicorn's own instruction count
(emu_start(count=...)), in slices that double in size.  Counting makes Unicorn call a C
helper before every instruction (about ten times slower than bare on a tight loop), so
it is only on when asked for; without a budget `instructions` is not known (None).

When a counted slice is cut short by the program's end (or a fault found by a hook),
the CPU is sent to a two-instruction "sink" loop at the end of the library region that
counts its own iterations in ecx until the slice's count runs out: the slice's count
less the sink's instructions is what the program executed, exactly.  Counted, a library
call is one instruction (its trampoline); a fault that stops the CPU mid-slice leaves the
count at the last completed slice; and a `hlt` cannot be told from the end of a slice
(Unicorn reports neither), so a counted run goes on past one until something else ends
it, where an uncounted run faults at once ("the CPU halted").
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import GeneratorType
from typing import TYPE_CHECKING, Any

from unicorn import (
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_PROT_EXEC,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import unicorn_const as uconst
from unicorn import x86_const as x

from oracle.emulate import cpu as cpus
from oracle.emulate import translation_guard
from oracle.emulate.abi import Abi
from oracle.emulate.calls import JUMPED, CallContext, Export, GuestCall, ProgramExit
from oracle.emulate.code_writes import UnsafeCode, WritableCode
from oracle.emulate.guest import GuestFault
from oracle.emulate.memory import UcMemory
from oracle.emulate.result import Fault, TraceEntry
from oracle.emulate.watchdog import WATCHDOG, Alarm

if TYPE_CHECKING:
    from oracle.emulate.process import Process

SLOT = 8  # bytes between two intercepted addresses in the library region
TCG_BUFFER = cpus.TCG_BUFFER
FIRST_SLICE = 4096  # instructions of the first counted slice; each next one doubles
WRITABLE_CODE_SLICE = 1024  # a counted slice of a program with writable code (code_writes.py)
_ACCESS = {
    UC_MEM_READ_UNMAPPED: ("unmapped-read", "read of unmapped memory"),
    UC_MEM_WRITE_UNMAPPED: ("unmapped-write", "write to unmapped memory"),
    UC_MEM_FETCH_UNMAPPED: ("unmapped-fetch", "fetch from unmapped memory"),
    UC_MEM_WRITE_PROT: ("write-protected", "write to read-only memory"),
    UC_MEM_READ_PROT: ("read-protected", "read of unreadable memory"),
    UC_MEM_FETCH_PROT: ("fetch-protected", "fetch from non-executable memory"),
}
_SYSCALL_REGS = {
    8: (x.UC_X86_REG_RAX, (x.UC_X86_REG_RDI, x.UC_X86_REG_RSI, x.UC_X86_REG_RDX,
                           x.UC_X86_REG_R10, x.UC_X86_REG_R8, x.UC_X86_REG_R9)),
    4: (x.UC_X86_REG_EAX, (x.UC_X86_REG_EBX, x.UC_X86_REG_ECX, x.UC_X86_REG_EDX,
                           x.UC_X86_REG_ESI, x.UC_X86_REG_EDI, x.UC_X86_REG_EBP)),
}

Handler = Callable[[], None]
SyscallHandler = Callable[[int, tuple[int, ...]], int]


@dataclass(frozen=True)
class Limits:
    """Bounds of one run; every one of them ends the run with a fault when exceeded.
    max_instructions None: no instruction budget (and no counting: guest code at full
    speed); the wall time still bounds the run.  files_from: the host directory whose
    files the run's in-memory file system starts with (None: empty; see files.py)."""

    max_instructions: int | None = None
    timeout: float = 20.0
    # Room for the image (its segments count against the cap) and the heap: a program with
    # a 64 MiB .bss, which runs natively, must fit.
    memory_cap: int = 256 << 20
    files_from: str | None = None


class RunStop(Exception):
    """Ends the run with a fault."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.describe())
        self.fault = fault


@dataclass(frozen=True)
class _Continuation:
    """A library function suspended in a guest call: its generator and the stack pointer
    it was entered with (the caller's return address is at that address)."""

    generator: Generator[GuestCall, int, int | None]
    entry_sp: int
    library: str
    symbol: str


class Machine:
    """One CPU and address space, with the library region at `lib_base`."""

    def __init__(self, abi: Abi, limits: Limits, lib_base: int, lib_size: int) -> None:
        self.abi = abi
        self.limits = limits
        self.lib_base = lib_base
        self.lib_end = lib_base + lib_size
        self._cpu = cpus.acquire(abi.mode, lib_base, lib_size, self)
        # The CPU goes back to the pool when the run ends, on close(), or, for a machine
        # dropped without either (a load that failed), when it is garbage collected:
        # never a new Unicorn instance per run because a caller forgot to close.
        self._release = weakref.finalize(self, cpus.release, self._cpu, self._cpu.lease)
        self._sink = self._cpu.sink  # the last page: the counting sink, not hooked
        self.guest_qsort = self._cpu.guest_qsort  # guest code (guest_code.py), not hooked
        self.uc = self._cpu.uc
        self.mem = UcMemory(self.uc, self._cpu.map, self._cpu)
        self.mem.readonly.append((lib_base, self.lib_end))  # mapped by the CPU, for good
        self.process: Process | None = None
        self.trace: list[TraceEntry] = []
        self.counting = limits.max_instructions is not None
        self.instructions: int | None = 0 if self.counting else None
        self.symbolizer: Callable[[int], str | None] = lambda addr: None
        # what the emulated process lacks at a bad address (the Mach-O process sets it)
        self.explain_access: Callable[[int], str | None] = lambda addr: None
        self.syscall: SyscallHandler = lambda nr, args: -38
        self._handlers: dict[int, Handler] = {}
        self._names: dict[int, str] = {}
        self._next_slot = lib_base
        self._stack: list[_Continuation] = []
        self._stop: BaseException | None = None
        self._current = "<program>"
        self._call_sp = 0  # the stack pointer at the last library call's entry
        # The wall-time limit covers loading too: it counts from here, not from run().
        self._deadline = time.monotonic() + limits.timeout
        self.mem.deadline = self._deadline
        self._alarm: Alarm | None = None
        self._last_access: tuple[int, int] | None = None
        self._overcount = 0
        # memory the guest may write and execute (code_writes.py)
        self._writable_code = WritableCode(self.uc, self._cpu.protect, 8 * abi.word,
                                           self._refuse_written_code)
        self._writable_code.deadline = self._deadline
        self.return_gate = self.add_handler(self._guest_returned, "<return from guest call>")

    def protect(self, addr: int, size: int, prot: int) -> None:
        """Change the protection of mapped memory (UcError if it is not all mapped).
        Writable and executable memory is watched (code_writes.py)."""
        if prot & UC_PROT_WRITE and prot & UC_PROT_EXEC:
            self._writable_code.watch(addr, size, prot)
        else:
            self._cpu.protect(addr, size, prot)
            self._writable_code.unwatch(addr, size)
        self._watch_library_writes()

    def _watch_library_writes(self) -> None:
        self.mem.before_write = self._writable_code.before_write if self._writable_code \
            else None

    def check_translatable(self) -> None:
        """RunStop if executable code (as the guest's mprotect just made it) is code
        Unicorn cannot translate, as a run's start checks it."""
        unsafe = self._untranslatable()
        if unsafe is not None:
            raise RunStop(unsafe)

    def _untranslatable(self, at_start: bool = False) -> Fault | None:
        """A fault at guest code whose translation would crash Unicorn and this process
        (oracle/emulate/translation_guard.py), if any is executable."""
        try:
            at = self._cpu.untranslatable(self._deadline, at_start)
        except translation_guard.GuardTimeout:
            return Fault("timeout", 0, None, f"wall-time limit of {self.limits.timeout}s "
                         "exceeded while checking the code the emulator would translate")
        return None if at is None else self._unsafe_code(at)

    def _unsafe_code(self, at: int) -> Fault:
        return Fault("unsupported", at, self.symbol_at(at),
                     "code the emulator cannot translate safely: a straight line of "
                     "hundreds of instructions that leak Unicorn's translator temporaries "
                     "(x87 register forms, segment or control register moves, SSE "
                     "immediates, ...; it would crash on them)")

    # -- the library region --

    def add_handler(self, handler: Handler, name: str) -> int:
        """A fresh intercepted address that runs `handler` when the guest reaches it."""
        addr = self._next_slot
        if addr >= self._sink:
            raise RunStop(Fault("load", addr, None, "library region full"))
        self._next_slot += SLOT
        self._handlers[addr] = handler
        self._names[addr] = name
        return addr

    def add_export(self, library: str, export: Export) -> int:
        return self.add_handler(
            lambda: self._call_export(library, export), f"{library}:{export.name}"
        )

    def library_symbol(self, addr: int) -> str | None:
        return self._names.get(addr)

    def symbol_at(self, addr: int) -> str | None:
        if self.lib_base <= addr < self.lib_end:
            if addr >= self._sink + cpus.GUEST_CODE_OFFSET:
                return "qsort (the emulated libc's guest code)"
            return self._names.get(addr)
        return self.symbolizer(addr)

    # -- calling library functions and calling back into the guest --

    def _call_export(self, library: str, export: Export) -> None:
        ctx = CallContext(self, library, export.name)
        ctx.entry_args = self.abi.int_args(self.uc, self.mem, export.arity)
        self.trace.append(TraceEntry(library, export.name, ctx.entry_args))
        entry_sp = self._call_sp = self.abi.sp(self.uc)  # its call site: _call_site()
        outcome = export.impl(ctx)
        if isinstance(outcome, GeneratorType):
            self._resume(_Continuation(outcome, entry_sp, library, export.name), 0, first=True)
        elif outcome is not JUMPED:
            self._finish(entry_sp, outcome, restore_sp=False)  # type: ignore[arg-type]

    def _finish(self, entry_sp: int, value: float | None, restore_sp: bool = True) -> None:
        """Return `value` from the library call entered at `entry_sp`: the return
        registers set and the stack pointer at the return address, which the trampoline's
        `ret` pops (or _run's loop, for a call it dispatched itself)."""
        if restore_sp:  # (a direct return has left it there)
            self.uc.reg_write(self.abi.sp_reg, entry_sp)
        if isinstance(value, float):
            self.abi.set_float_return(self.uc, value)
        else:
            self.abi.set_return(self.uc, int(value or 0))

    def return_from_guest_call(self, symbol: str, value: int) -> bool:
        """Resume the innermost suspended library call named `symbol` as if the guest code
        it called had returned `value`, forgetting the calls suspended above it (their
        frames lie in the guest stack being abandoned, as pthread_exit abandons its
        thread's).  False (nothing done) when no such call is suspended."""
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth].symbol == symbol:
                cont = self._stack[depth]
                del self._stack[depth:]
                self._resume(cont, value)
                return True
        return False

    def unwind_to(self, sp: int) -> None:
        """Forget suspended library calls whose frames lie below `sp` (a longjmp past them)."""
        while self._stack and self._stack[-1].entry_sp < sp:
            self._stack.pop()

    def _resume(self, cont: _Continuation, value: int, *, first: bool = False) -> None:
        try:
            call = next(cont.generator) if first else cont.generator.send(value)
        except StopIteration as done:
            if done.value is not JUMPED:
                self._finish(cont.entry_sp, done.value)
            return
        self._stack.append(cont)
        self.abi.enter_guest(
            self.uc, self.mem, cont.entry_sp, call.target, call.args, self.return_gate
        )

    def start_generator(self, generator: Generator[GuestCall, int, Any], library: str,
                        symbol: str) -> None:
        """Run `generator` as a library call made at the current stack pointer (the loader
        uses this to call initialisers before the program starts)."""
        self._resume(_Continuation(generator, self.abi.sp(self.uc), library, symbol), 0,
                     first=True)

    def _guest_returned(self) -> None:
        if not self._stack:
            pc = self.abi.pc(self.uc)
            raise RunStop(Fault("cpu", pc, None, "return to the guest-call gate with no call"))
        cont = self._stack.pop()
        self._resume(cont, self.abi.return_value(self.uc))

    # -- the loop --

    def run(self, entry: int) -> tuple[int | None, list[Fault]]:
        """Run from `entry` until the program exits or faults: (exit status, faults)."""
        self._alarm = WATCHDOG.arm(self.uc, self._deadline)
        try:
            return self._run(entry)
        finally:
            WATCHDOG.disarm(self._alarm)
            self._writable_code.close()
            self._release()  # nothing reads guest memory after the run

    def _run(self, entry: int) -> tuple[int | None, list[Fault]]:
        self.mem.map_free_lazies(self._cpu.claimable)
        self._cpu.drop_unclaimed()
        self._cpu.start(self.counting)
        self.uc.reg_write(self.abi.pc_reg, entry)
        unsafe = self._untranslatable(at_start=True)
        if unsafe is not None:
            return None, [unsafe]
        self._writable_code.watch_mapped()
        self._watch_library_writes()
        self._current = "<program>"
        try:
            while True:
                pc = self.abi.pc(self.uc)
                if self.lib_base <= pc < self._sink:
                    self._dispatch(pc)
                    if self.abi.pc(self.uc) == pc:  # returned: the `ret`'s work, done here
                        self.abi.return_to_caller(self.uc, self.mem)
                    continue
                self._emulate(pc)
        except ProgramExit as done:
            return done.code & 0xFF, [done.fault] if done.fault else []
        except RunStop as stop:
            return None, [stop.fault]
        except GuestFault as err:
            # Like a CPU fault: the address is where the program was (the call site), the
            # message names the bad address.
            site = self._call_site()
            return None, [Fault("library", site, self.symbol_at(site),
                                f"in {self._current} called from {site:#x}: {err.message} "
                                f"at {err.address:#x}")]
        except RecursionError as err:
            return None, [Fault("library", 0, None, f"in {self._current}: {err}")]
        except Exception as err:  # noqa: BLE001 - a library bug must not escape as a crash
            return None, [Fault("library", self.abi.pc(self.uc), None,
                                f"emulator error in {self._current}: {err!r}")]

    def _call_site(self) -> int:
        """Where the last library call was made from (its return address, read when a
        fault asks for it rather than on every call)."""
        try:
            return self.abi.read_word(self.mem, self._call_sp) if self._call_sp else 0
        except Exception:  # noqa: BLE001 - a fault report must not fail for want of it
            return 0

    def _dispatch(self, pc: int) -> None:
        handler = self._handlers.get(pc)
        if handler is None:
            raise RunStop(Fault("unmapped-fetch", pc, None,
                                "jump into the library region between entries"))
        self._current = self._names[pc]
        handler()

    def _emulate(self, pc: int) -> None:
        """One emu_start: until a hook stops the CPU (exit, fault), the watchdog does, or
        (counting) the slice's instructions are done."""
        self._stop = None
        self._last_access = None
        if self._timed_out():
            raise RunStop(self._timeout_fault(pc))
        count = self._slice(pc)
        try:
            self.uc.emu_start(pc, self.abi.mask, count=count)
        except UcError as err:
            if self._last_access is None or not self._writable_code or \
                    not self._made_writable_code_access():
                raise RunStop(self._cpu_fault(err)) from None
            if count and self.instructions is not None:
                self.instructions += count  # cut short by the fault: see code_writes.py
            return
        now = self.abi.pc(self.uc)
        if self._stop is not None:
            if count and self.instructions is not None and \
                    self._sink <= now < self._sink + len(cpus.SINK_CODE):
                self.instructions += count - self._sink_instructions(now) - self._overcount
            raise self._stop
        if self._alarm is not None and self._alarm.fired:
            raise RunStop(self._timeout_fault(now))
        if not count:
            raise RunStop(Fault("cpu", now, self.symbol_at(now), "the CPU halted (hlt)"))
        # The slice ran out (a hlt is not told apart from that when counting: see the
        # module's notes); the loop goes on with the next slice.
        assert self.instructions is not None
        self.instructions += count

    def _refuse_written_code(self, at: int) -> None:
        """From a write hook: the guest stored code Unicorn cannot translate safely into
        memory it may execute (code_writes.py); the run ends."""
        if self._stop is None:
            self._stop = RunStop(self._unsafe_code(at))
            self._halt(self.uc)

    def _made_writable_code_access(self) -> bool:
        """Whether the last fault was a protection of writable code (code_writes.py),
        now lifted so that the access may be made again."""
        assert self._last_access is not None
        access, addr = self._last_access
        try:
            return self._writable_code.resolve(access, addr, self.abi.pc(self.uc))
        except UnsafeCode as err:
            raise RunStop(self._unsafe_code(err.address)) from None

    def _slice(self, pc: int) -> int:
        """Instructions the next emu_start may run: 0 (unbounded) without a budget; else
        twice what ran so far, at least FIRST_SLICE, and never past budget + 1 (running
        more than the budget is the fault).  A program with writable code runs in short
        slices: one its code writes cut short counts whole (code_writes.py)."""
        budget = self.limits.max_instructions
        if budget is None or self.instructions is None:
            return 0
        left = budget + 1 - self.instructions
        if left <= 0:
            raise RunStop(Fault("budget", pc, self.symbol_at(pc),
                                f"instruction budget of {budget} exhausted"))
        if self._writable_code:  # a slice a fault cuts short counts whole: keep them short
            return min(left, WRITABLE_CODE_SLICE)
        return min(left, max(FIRST_SLICE, self.instructions))

    def _sink_instructions(self, pc: int) -> int:
        """Instructions the sink ran: ecx iterations of two, less the jmp not reached."""
        iterations = int(self.uc.reg_read(x.UC_X86_REG_ECX))
        return 2 * iterations - (1 if pc != self._sink else 0)

    def _halt(self, uc: Uc, *, overcount: int = 0) -> None:
        """Stop the guest from a hook: at once, or (counting) by sending it to the sink so
        that the slice's count tells how many instructions the program ran.  `overcount`:
        instructions Unicorn counts twice on this path (measured: one for a `syscall`
        whose hook moves pc; none for int 0x80 or the library code hook)."""
        self._overcount = overcount
        if self.counting:
            uc.reg_write(x.UC_X86_REG_ECX, 0)
            uc.reg_write(self.abi.pc_reg, self._sink)
        else:
            uc.emu_stop()

    def _timed_out(self) -> bool:
        return (self._alarm is not None and self._alarm.fired) or \
            time.monotonic() > self._deadline

    def loading_timeout(self) -> Fault:
        return Fault("timeout", 0, None,
                     f"wall-time limit of {self.limits.timeout}s exceeded while loading")

    def _timeout_fault(self, pc: int) -> Fault:
        return Fault("timeout", pc, self.symbol_at(pc),
                     f"wall-time limit of {self.limits.timeout}s exceeded")

    def _cpu_fault(self, err: UcError) -> Fault:
        pc = self.abi.pc(self.uc)
        if self._last_access is not None:
            access, addr = self._last_access
            kind, what = _ACCESS.get(access, ("cpu", "bad memory access"))
            if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
                return Fault(kind, addr, self.symbol_at(addr), f"{what} at {addr:#x}")
            where = self.symbol_at(pc)
            by = f"{pc:#x}" + (f" <{where}>" if where else "")
            missing = self.explain_access(addr)
            return Fault(kind, pc, where, f"{what} at {addr:#x} by the instruction at {by}"
                         + (f": {missing}" if missing else ""))
        if err.errno == uconst.UC_ERR_INSN_INVALID:
            return Fault("invalid-instruction", pc, self.symbol_at(pc), "invalid instruction")
        return Fault("cpu", pc, self.symbol_at(pc), f"CPU exception: {err}")

    # -- hooks (called by the CPU's; they never raise: they record why they stopped it) --

    def close(self) -> None:
        """Give the CPU back (reset: this run's memory is unmapped now) and drop the
        handlers, suspended calls and the process: the references that tie a finished run
        together, so the garbage collector frees it in one go."""
        self._release()
        self._handlers.clear()
        self._stack.clear()
        self._stop = None  # its traceback holds frames that hold this machine
        self._alarm = None
        self.process = None

    def on_library_code(self, uc: Uc, address: int) -> None:
        # Library functions run right here, inside the hook: they set the registers and
        # the next pc, and the CPU goes on without leaving emu_start.  Anything that ends
        # the run is kept for the loop to raise.
        try:
            self._dispatch(address)
        except BaseException as err:  # noqa: BLE001 - re-raised by _emulate
            self._stop = err
            self._halt(uc)

    def on_bad_access(self, uc: Uc, access: int, address: int) -> bool:
        if self.mem.lazy and access in (UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_UNMAPPED,
                                        UC_MEM_FETCH_UNMAPPED):
            try:
                if self.mem.materialize(address):
                    return True  # mapped now: Unicorn retries the access
            except UcError:
                pass
        self._last_access = (access, address)
        return False

    def on_interrupt(self, uc: Uc, intno: int) -> None:
        pc = self.abi.pc(uc)
        if intno == 0x80 and self.abi.word == 4:
            self._do_syscall(uc)
            return
        names = {0: "divide error", 3: "breakpoint (int3)", 6: "invalid instruction",
                 13: "general protection fault", 14: "page fault"}
        kind = "invalid-instruction" if intno == 6 else "cpu"
        self._stop = RunStop(Fault(kind, pc, self.symbol_at(pc),
                                   names.get(intno, f"interrupt {intno:#x}")))
        self._halt(uc)

    def on_syscall(self, uc: Uc) -> None:
        self._do_syscall(uc, overcount=1)

    def _do_syscall(self, uc: Uc, overcount: int = 0) -> None:
        nr_reg, arg_regs = _SYSCALL_REGS[self.abi.word]
        try:
            result = self.syscall(int(uc.reg_read(nr_reg)),
                                  tuple(int(uc.reg_read(r)) for r in arg_regs))
            uc.reg_write(nr_reg, result & self.abi.mask)
        except (ProgramExit, RunStop) as stop:
            self._stop = stop
            self._halt(uc, overcount=overcount)
        except GuestFault as err:
            pc = self.abi.pc(uc)
            self._stop = RunStop(Fault("library", err.address, self.symbol_at(err.address),
                                       f"in the system call at {pc:#x}: {err.message}"))
            self._halt(uc, overcount=overcount)
        except Exception as err:  # noqa: BLE001 - never let a hook raise into Unicorn
            self._stop = RunStop(Fault("library", self.abi.pc(uc), None,
                                       f"emulator error in a system call: {err!r}"))
            self._halt(uc, overcount=overcount)
