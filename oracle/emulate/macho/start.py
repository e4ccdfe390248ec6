"""How a Mach-O process starts: the kernel's initial stack, Darwin's system calls, and the
two entry points (LC_MAIN through dyld, LC_UNIXTHREAD directly).

The stack at a thread's first instruction (xnu's exec_copyout_strings) is argc, argv[],
NULL, envp[], NULL, apple[], NULL, with the strings above it; the "apple" strings start
with `executable_path=`.  With LC_MAIN, dyld calls main(argc, argv, envp, apple) on that
stack and passes its result to exit(), after running the image's initializers (the
S_MOD_INIT_FUNC_POINTERS sections) with the same four arguments.  Here one intercepted
"dyld start" function does all of that with guest calls; its work is not in the trace.

i386 is the same with 4-byte words; its system calls are `int $0x80` with the number in
eax (no class prefix) and the arguments on the stack above a return address, as libSystem's
stubs (`call` to a `movl $n, %eax; int $0x80; ret`) leave them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from unicorn import UC_PROT_READ, UC_PROT_WRITE
from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export, GuestCall, LibResult
from oracle.emulate.guest import GuestFault
from oracle.emulate.loader import LoadError, exec_strings_fit
from oracle.emulate.machine import Machine
from oracle.emulate.memory import UcMemory
from oracle.emulate.process import Process
from oracle.emulate.startup import run_exit
from oracle.emulate.syscalls import NUMBERS, make_syscall_handler

SYSCALL_CLASS_UNIX = 0x2000000
# Darwin BSD system call number -> the name of the Linux handler that does the same thing
DARWIN_CALLS = {1: "exit", 3: "read", 4: "write", 20: "getpid"}
ENOSYS = 78  # Darwin's
CARRY = 0x1


def build_stack(mem: UcMemory, stack_top: int, stack_size: int, argv: list[bytes],
                envp: list[bytes], exec_path: bytes, word: int = 8
                ) -> tuple[int, int, int, int]:
    """Map the stack and lay out the start; returns (sp, argv, envp, apple) addresses.
    Strings past a quarter of the stack are refused first (exec_strings_fit), as xnu's
    execve refuses them (E2BIG): a guest fault of the load."""
    try:
        exec_strings_fit(argv, envp, word, stack_size)
    except LoadError as err:
        raise GuestFault(0, str(err)) from None
    mem.map(stack_top - stack_size, stack_size, UC_PROT_READ | UC_PROT_WRITE)
    cursor = stack_top - 16

    def put(text: bytes) -> int:
        nonlocal cursor
        cursor -= len(text) + 1
        mem.write(cursor, text + b"\0")
        return cursor

    apple = [put(b"executable_path=" + exec_path)]
    env_at = [put(item) for item in reversed(envp)][::-1]
    arg_at = [put(item) for item in reversed(argv)][::-1]
    words = [len(argv), *arg_at, 0, *env_at, 0, *apple, 0]
    sp = (cursor - word * len(words)) & ~15
    mem.write(sp, b"".join(w.to_bytes(word, "little") for w in words))
    argv_at = sp + word
    envp_at = argv_at + word * (len(argv) + 1)
    apple_at = envp_at + word * (len(envp) + 1)
    return sp, argv_at, envp_at, apple_at


def darwin_syscalls(process: Process) -> None:
    """`syscall` with rax = 0x2000000 | number: exit, read, write and getpid, served by
    the Linux handlers; anything else fails with ENOSYS.  Darwin reports a failure with
    the carry flag set and the positive errno in rax (Linux returns -errno)."""
    linux = make_syscall_handler(process)
    machine = process.machine
    uc = machine.uc
    i386 = machine.abi.word == 4
    linux_numbers = NUMBERS[machine.abi.word]  # the Linux handler numbers by its own arch

    def handle(number: int, args: tuple[int, ...]) -> int:
        if i386:  # int $0x80: no class prefix, the arguments above the stub's return address
            sp = machine.abi.sp(uc)
            args = tuple(machine.abi.read_word(machine.mem, sp + 4 * (k + 1)) for k in range(6))
            number |= SYSCALL_CLASS_UNIX
        if number & ~0xFFFFFF != SYSCALL_CLASS_UNIX or number & 0xFFFFFF not in DARWIN_CALLS:
            result = -ENOSYS
        else:
            result = linux(linux_numbers[DARWIN_CALLS[number & 0xFFFFFF]], args)
        flags = int(uc.reg_read(x.UC_X86_REG_EFLAGS))
        uc.reg_write(x.UC_X86_REG_EFLAGS, flags | CARRY if result < 0 else flags & ~CARRY)
        return -result if result < 0 else result

    process.machine.syscall = handle


@dataclass(frozen=True)
class Start:
    """What dyld does once the image is bound: the initial stack's parts, the
    S_MOD_INIT_FUNC_POINTERS initializers, and the entry (main, or the thread's pc)."""

    sp: int
    argc: int
    argv: int
    envp: int
    apple: int
    initializers: tuple[int, ...]
    entry: int
    lc_main: bool


def _dyld_start(start: Start) -> Callable[[CallContext], LibResult]:
    """dyld's last steps, as one library function entered with the kernel's stack: run
    the initializers (argc, argv, envp, apple), then call main and pass its result to
    exit(), or (LC_UNIXTHREAD) return into the thread's pc with the kernel's stack, which
    the return address placed just below it makes happen."""

    def steps(ctx: CallContext) -> LibResult:
        ctx.machine.trace.pop()  # dyld's own work, not a call the program made
        args = (start.argc, start.argv, start.envp, start.apple)
        for init in start.initializers:
            yield GuestCall(init, args)
        if not start.lc_main:
            return None
        status = yield GuestCall(start.entry, args)
        yield from run_exit(ctx, status & 0xFFFFFFFF)
        return None

    return steps


def enter(machine: Machine, start: Start, library: str) -> int:
    """Set up the stack for dyld's start; returns the pc to run from."""
    gate = machine.add_export(library, Export("<dyld start>", 0, _dyld_start(start)))
    # the gate "returns" to the thread's pc, popping it off and leaving sp at argc
    word = machine.abi.word
    sp = start.sp - word
    machine.mem.write(sp, machine.abi.pack(0 if start.lc_main else start.entry))
    machine.uc.reg_write(machine.abi.sp_reg, sp)
    return gate
