"""The emulated CPU: one Unicorn instance, the library region where calls are intercepted,
the loop that alternates guest execution with Python library functions, and the
translation of every way a run can go wrong into a Fault.

Library functions, the lazy resolver and the return gate of guest calls all live at
addresses in one executable "library" region.  A code hook on the whole region runs the
Python handler of an address before any instruction there executes (so the region's
bytes never matter, and it is left zero); the handler sets the registers and the next
pc, and a jump to an address without a handler is a fault.  Instructions are
counted per translated block (a block hook, not a per-instruction hook), which also
enforces the instruction budget and the wall-time limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import GeneratorType
from typing import TYPE_CHECKING, Any

import capstone
from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_PROT_EXEC,
    UC_PROT_READ,
    Uc,
    UcError,
)
from unicorn import unicorn_const as uconst
from unicorn import x86_const as x

from oracle.emulate.abi import Abi
from oracle.emulate.calls import JUMPED, CallContext, Export, GuestCall, ProgramExit
from oracle.emulate.guest import GuestFault
from oracle.emulate.memory import UcMemory
from oracle.emulate.result import Fault, TraceEntry

if TYPE_CHECKING:
    from oracle.emulate.process import Process

SLOT = 8  # bytes between two intercepted addresses in the library region
TCG_BUFFER = 8 << 20
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
    """Bounds of one run; every one of them ends the run with a fault when exceeded."""

    max_instructions: int = 50_000_000
    timeout: float = 20.0
    memory_cap: int = 64 << 20


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


_DISASSEMBLERS: dict[int, capstone.Cs] = {}
_COUNTS: dict[tuple[int, bytes], int] = {}  # instructions per block's bytes, across runs


def _disassembler(word: int) -> capstone.Cs:
    """One capstone instance per mode for the whole process (it costs more than a run)."""
    if word not in _DISASSEMBLERS:
        mode = capstone.CS_MODE_64 if word == 8 else capstone.CS_MODE_32
        _DISASSEMBLERS[word] = capstone.Cs(capstone.CS_ARCH_X86, mode)
    return _DISASSEMBLERS[word]


class Machine:
    """One CPU and address space, with the library region at `lib_base`."""

    def __init__(self, abi: Abi, limits: Limits, lib_base: int, lib_size: int) -> None:
        self.abi = abi
        self.limits = limits
        self.uc = Uc(UC_ARCH_X86, abi.mode)
        # The default 1 GiB translation buffer makes every instance slow to set up and
        # tear down; programs under test translate far less (a full buffer is flushed).
        self.uc.ctl_set_tcg_buffer_size(TCG_BUFFER)  # type: ignore[attr-defined]
        self.mem = UcMemory(self.uc)
        self.process: Process | None = None
        self.trace: list[TraceEntry] = []
        self.instructions = 0
        self.symbolizer: Callable[[int], str | None] = lambda addr: None
        self.syscall: SyscallHandler = lambda nr, args: -38
        self.lib_base = lib_base
        self.lib_end = lib_base + lib_size
        self._handlers: dict[int, Handler] = {}
        self._names: dict[int, str] = {}
        self._next_slot = lib_base
        self._stack: list[_Continuation] = []
        self._stop: BaseException | None = None
        self._current = "<program>"
        self._call_site = 0
        self._blocks = 0
        self._block_sizes: dict[tuple[int, int], int] = {}
        self._deadline = 0.0
        self._last_access: tuple[int, int] | None = None
        self._disasm = _disassembler(abi.word)
        self.mem.map(lib_base, lib_size, UC_PROT_READ | UC_PROT_EXEC)
        self.return_gate = self.add_handler(self._guest_returned, "<return from guest call>")
        self._install_hooks()

    # -- the library region --

    def add_handler(self, handler: Handler, name: str) -> int:
        """A fresh intercepted address that runs `handler` when the guest reaches it."""
        addr = self._next_slot
        if addr >= self.lib_end:
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
            return self._names.get(addr)
        return self.symbolizer(addr)

    # -- calling library functions and calling back into the guest --

    def _call_export(self, library: str, export: Export) -> None:
        ctx = CallContext(self, library, export.name)
        self.trace.append(TraceEntry(library, export.name, ctx.args(export.arity)))
        entry_sp = self.abi.sp(self.uc)
        self._call_site = self.abi.read_word(self.mem, entry_sp)
        outcome = export.impl(ctx)
        if isinstance(outcome, GeneratorType):
            self._resume(_Continuation(outcome, entry_sp, library, export.name), 0, first=True)
        elif outcome is not JUMPED:
            self._finish(entry_sp, outcome)  # type: ignore[arg-type]

    def _finish(self, entry_sp: int, value: float | None) -> None:
        self.uc.reg_write(self.abi.sp_reg, entry_sp)
        if isinstance(value, float):
            self.abi.set_float_return(self.uc, value)
        else:
            self.abi.set_return(self.uc, int(value or 0))
        self.abi.return_to_caller(self.uc, self.mem)

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
        self._deadline = time.monotonic() + self.limits.timeout
        self.uc.reg_write(self.abi.pc_reg, entry)
        self._current = "<program>"
        try:
            while True:
                pc = self.abi.pc(self.uc)
                if self.lib_base <= pc < self.lib_end:
                    self._dispatch(pc)
                    continue
                self._emulate(pc)
        except ProgramExit as done:
            return done.code & 0xFF, [done.fault] if done.fault else []
        except RunStop as stop:
            return None, [stop.fault]
        except GuestFault as err:
            # Like a CPU fault: the address is where the program was (the call site), the
            # message names the bad address.
            site = self._call_site
            return None, [Fault("library", site, self.symbol_at(site),
                                f"in {self._current} called from {site:#x}: {err.message} "
                                f"at {err.address:#x}")]
        except RecursionError as err:
            return None, [Fault("library", 0, None, f"in {self._current}: {err}")]
        except Exception as err:  # noqa: BLE001 - a library bug must not escape as a crash
            return None, [Fault("library", self.abi.pc(self.uc), None,
                                f"emulator error in {self._current}: {err!r}")]

    def _dispatch(self, pc: int) -> None:
        handler = self._handlers.get(pc)
        if handler is None:
            raise RunStop(Fault("unmapped-fetch", pc, None,
                                "jump into the library region between entries"))
        self._current = self._names[pc]
        handler()

    def _emulate(self, pc: int) -> None:
        self._stop = None
        self._last_access = None
        if time.monotonic() > self._deadline:
            raise RunStop(self._timeout_fault(pc))
        try:
            self.uc.emu_start(pc, self.abi.mask)
        except UcError as err:
            raise RunStop(self._cpu_fault(err)) from None
        if self._stop is not None:
            raise self._stop
        now = self.abi.pc(self.uc)
        raise RunStop(Fault("cpu", now, self.symbol_at(now), "the CPU halted (hlt)"))

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
            return Fault(kind, pc, where, f"{what} at {addr:#x} by the instruction at {by}")
        if err.errno == uconst.UC_ERR_INSN_INVALID:
            return Fault("invalid-instruction", pc, self.symbol_at(pc), "invalid instruction")
        return Fault("cpu", pc, self.symbol_at(pc), f"CPU exception: {err}")

    # -- hooks (they never raise: they record why they stopped the CPU) --

    def _install_hooks(self) -> None:
        self._hooks = [
            self.uc.hook_add(UC_HOOK_CODE, self._on_library_code, begin=self.lib_base,
                             end=self.lib_end - 1),
            self.uc.hook_add(UC_HOOK_BLOCK, self._on_block),
            self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_bad_access),
            self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt),
        ]
        if self.abi.word == 8:
            self._hooks.append(self.uc.hook_add(UC_HOOK_INSN, self._on_syscall, None, 1, 0,
                                                x.UC_X86_INS_SYSCALL))

    def close(self) -> None:
        """Drop the hooks, handlers, suspended calls and the process: the references that
        tie a finished run together, so the garbage collector frees it in one go."""
        for hook in self._hooks:
            self.uc.hook_del(hook)
        self._hooks = []

        self._handlers.clear()
        self._stack.clear()
        self._stop = None  # its traceback holds frames that hold this machine
        self.process = None

    def _on_library_code(self, uc: Uc, address: int, size: int, _: Any) -> None:
        # Library functions run right here, inside the hook: they set the registers and
        # the next pc, and the CPU goes on without leaving emu_start.  Anything that ends
        # the run is kept for the loop to raise.
        try:
            self._dispatch(address)
        except BaseException as err:  # noqa: BLE001 - re-raised by _emulate
            self._stop = err
            uc.emu_stop()

    def _on_block(self, uc: Uc, address: int, size: int, _: Any) -> None:
        if self.lib_base <= address < self.lib_end:
            return
        key = (address, size)
        count = self._block_sizes.get(key)
        if count is None:
            try:
                code = bytes(uc.mem_read(address, size))
            except UcError:
                code = b""
            count = _COUNTS.get((self.abi.word, code))
            if count is None:
                count = sum(1 for _ in self._disasm.disasm_lite(code, address)) or 1
                if len(_COUNTS) < 1 << 16:
                    _COUNTS[(self.abi.word, code)] = count
            self._block_sizes[key] = count
        self.instructions += count
        if self.instructions > self.limits.max_instructions:
            self._stop = RunStop(Fault("budget", address, self.symbol_at(address),
                                       f"instruction budget of {self.limits.max_instructions} "
                                       "exhausted"))
            uc.emu_stop()
            return
        self._blocks += 1
        if self._blocks & 1023 == 0 and time.monotonic() > self._deadline:
            self._stop = RunStop(self._timeout_fault(address))
            uc.emu_stop()

    def _on_bad_access(self, uc: Uc, access: int, address: int, size: int, value: int,
                       _: Any) -> bool:
        if self.mem.lazy and access in (UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_UNMAPPED,
                                        UC_MEM_FETCH_UNMAPPED):
            try:
                if self.mem.materialize(address):
                    return True  # mapped now: Unicorn retries the access
            except UcError:
                pass
        self._last_access = (access, address)
        return False

    def _on_interrupt(self, uc: Uc, intno: int, _: Any) -> None:
        pc = self.abi.pc(uc)
        if intno == 0x80 and self.abi.word == 4:
            self._do_syscall(uc)
            return
        names = {0: "divide error", 3: "breakpoint (int3)", 6: "invalid instruction",
                 13: "general protection fault", 14: "page fault"}
        kind = "invalid-instruction" if intno == 6 else "cpu"
        self._stop = RunStop(Fault(kind, pc, self.symbol_at(pc),
                                   names.get(intno, f"interrupt {intno:#x}")))
        uc.emu_stop()

    def _on_syscall(self, uc: Uc, _: Any) -> None:
        self._do_syscall(uc)

    def _do_syscall(self, uc: Uc) -> None:
        nr_reg, arg_regs = _SYSCALL_REGS[self.abi.word]
        try:
            result = self.syscall(int(uc.reg_read(nr_reg)),
                                  tuple(int(uc.reg_read(r)) for r in arg_regs))
            uc.reg_write(nr_reg, result & self.abi.mask)
        except (ProgramExit, RunStop) as stop:
            self._stop = stop
            uc.emu_stop()
        except GuestFault as err:
            pc = self.abi.pc(uc)
            self._stop = RunStop(Fault("library", err.address, self.symbol_at(err.address),
                                       f"in the system call at {pc:#x}: {err.message}"))
            uc.emu_stop()
        except Exception as err:  # noqa: BLE001 - never let a hook raise into Unicorn
            self._stop = RunStop(Fault("library", self.abi.pc(uc), None,
                                       f"emulator error in a system call: {err!r}"))
            uc.emu_stop()
