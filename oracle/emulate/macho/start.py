"""How a Mach-O process starts: the kernel's initial stack, Darwin's system calls, and the
two entry points (LC_MAIN through dyld, LC_UNIXTHREAD directly).

The stack at a thread's first instruction (xnu's exec_copyout_strings) is argc, argv[],
NULL, envp[], NULL, apple[], NULL, with the strings above it; the "apple" strings start
with `executable_path=`.  With LC_MAIN, dyld calls main(argc, argv, envp, apple) on that
stack and passes its result to exit(); here main returns to an intercepted gate that runs
the emulated libc's exit, which is dyld's own call and so is not in the trace.
"""

from __future__ import annotations

from unicorn import UC_PROT_READ, UC_PROT_WRITE
from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.machine import Machine
from oracle.emulate.memory import UcMemory
from oracle.emulate.process import Process
from oracle.emulate.startup import run_exit
from oracle.emulate.syscalls import make_syscall_handler

SYSCALL_CLASS_UNIX = 0x2000000
# Darwin BSD system call number -> the Linux one whose handler does the same thing
DARWIN_TO_LINUX = {1: 60, 3: 0, 4: 1, 20: 39}
ENOSYS = 78  # Darwin's


def build_stack(mem: UcMemory, stack_top: int, stack_size: int, argv: list[bytes],
                envp: list[bytes], exec_path: bytes) -> tuple[int, int, int, int]:
    """Map the stack and lay out the start; returns (sp, argv, envp, apple) addresses."""
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
    sp = (cursor - 8 * len(words)) & ~15
    mem.write(sp, b"".join(w.to_bytes(8, "little") for w in words))
    argv_at = sp + 8
    envp_at = argv_at + 8 * (len(argv) + 1)
    apple_at = envp_at + 8 * (len(envp) + 1)
    return sp, argv_at, envp_at, apple_at


def darwin_syscalls(process: Process) -> None:
    """`syscall` with rax = 0x2000000 | number: exit, read, write and getpid, served by
    the Linux handlers; anything else fails with ENOSYS."""
    linux = make_syscall_handler(process)

    def handle(number: int, args: tuple[int, ...]) -> int:
        if number & ~0xFFFFFF != SYSCALL_CLASS_UNIX or number & 0xFFFFFF not in DARWIN_TO_LINUX:
            return -ENOSYS
        return linux(DARWIN_TO_LINUX[number & 0xFFFFFF], args)

    process.machine.syscall = handle


def _exit_with_main_result(ctx: CallContext) -> LibResult:
    ctx.machine.trace.pop()  # dyld's call, not the program's
    status = ctx.machine.abi.return_value(ctx.machine.uc) & 0xFFFFFFFF
    return run_exit(ctx, status)


def enter_main(machine: Machine, main: int, sp: int, argc: int, argv: int, envp: int,
               apple: int, library: str) -> None:
    """Registers and stack for main(argc, argv, envp, apple) returning into exit()."""
    gate = machine.add_export(library, Export("<dyld: exit(main())>", 0,
                                              _exit_with_main_result))
    uc = machine.uc
    for reg, value in zip((x.UC_X86_REG_RDI, x.UC_X86_REG_RSI, x.UC_X86_REG_RDX,
                           x.UC_X86_REG_RCX), (argc, argv, envp, apple)):
        uc.reg_write(reg, value)
    sp -= 8  # main is entered as if called: the return address sits 8 below a 16-aligned sp
    machine.mem.write(sp, gate.to_bytes(8, "little"))
    uc.reg_write(x.UC_X86_REG_RSP, sp)
    uc.reg_write(x.UC_X86_REG_RIP, main)
