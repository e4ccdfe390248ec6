"""How Python library functions are written: an Export names a C function, its integer
arity (for the trace) and an implementation that receives a CallContext.

An implementation returns the function's integer (or, for libm, float) result, or is a
generator that yields
GuestCall(target, args) whenever it must call guest code (main, constructors, atexit
handlers, qsort's comparator) and receives each call's return value; its `return` value
is the function's result.  The machine runs each guest call to completion inside the one
emulation loop (Unicorn cannot nest emu_start from a hook), which is what makes the
generator shape necessary.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oracle.emulate.abi import GuestVarArgs
from oracle.emulate.result import Fault
from oracle.records import quick_init

if TYPE_CHECKING:
    from oracle.emulate.machine import Machine
    from oracle.emulate.process import Process


@dataclass(frozen=True)
class GuestCall:
    """A request from a library function to call guest code at `target` with `args`."""

    target: int
    args: tuple[int, ...] = ()


class _Jumped:
    """The type of JUMPED."""


JUMPED = _Jumped()
"""Returned by a function that has set pc and sp itself (longjmp): no return is made."""

LibResult = int | float | None | _Jumped | Generator[GuestCall, int, int | None]


class CallContext:
    """What a library function sees of the call it is serving."""

    def __init__(self, machine: Machine, library: str, symbol: str) -> None:
        self.machine = machine
        self.mem = machine.mem
        self.word = machine.abi.word
        self.library = library
        self.symbol = symbol
        # the integer arguments as the call entered (what the trace records), for a
        # function that reads them before anything could change them (libtrace recorders)
        self.entry_args: tuple[int, ...] = ()

    @property
    def process(self) -> Process:
        process = self.machine.process
        assert process is not None, "library call before the process was set up"
        return process

    def arg(self, index: int) -> int:
        """Integer argument `index` (0-based) as an unsigned machine word (as the call
        entered: the trace has read the first ones already, and reading a register again
        costs as much as a simple function's whole work)."""
        if index < len(self.entry_args):
            return self.entry_args[index]
        return self.machine.abi.int_arg(self.machine.uc, self.mem, index)

    def signed(self, index: int) -> int:
        value = self.arg(index)
        bits = 8 * self.word
        return value - (1 << bits) if value >> (bits - 1) else value

    def abi_return_address(self) -> int:
        """Where the current library call returns to (names the call site in faults)."""
        return self.machine.abi.read_word(self.mem, self.machine.abi.sp(self.machine.uc))

    def args(self, count: int) -> tuple[int, ...]:
        if count <= len(self.entry_args):
            return self.entry_args[:count]
        return tuple(self.arg(i) for i in range(count))

    def varargs(self, fixed_ints: int) -> GuestVarArgs:
        return self.machine.abi.varargs(self.machine.uc, self.mem, fixed_ints)


Impl = Callable[[CallContext], LibResult]


@quick_init
@dataclass(frozen=True)
class Export:
    """A library function: its C name, how many integer arguments the trace records
    (the fixed ones, for variadic functions), and its implementation."""

    name: str
    arity: int
    impl: Impl


class ProgramExit(Exception):
    """The guest program ended with this status (exit, _exit, exit_group); an abnormal end
    (abort) carries the fault that explains it as well."""

    def __init__(self, code: int, fault: Fault | None = None) -> None:
        super().__init__(f"exit {code}")
        self.code = code
        self.fault = fault
