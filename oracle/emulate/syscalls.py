"""Linux system calls, for programs that do without libc (the fuzzers' programs exit through
exit_group) and for the few a libc-less start-up makes.  Unknown calls fail with ENOSYS,
as the kernel answers a number it does not know.
"""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UC_PROT_READ, UC_PROT_WRITE

from oracle.emulate.calls import ProgramExit
from oracle.emulate.memory import page_up
from oracle.emulate.process import Process

ENOSYS, ENOMEM, EBADF = 38, 12, 9
# name -> number, per ABI
NUMBERS: dict[int, dict[str, int]] = {
    8: {"read": 0, "write": 1, "brk": 12, "getpid": 39, "exit": 60, "exit_group": 231},
    4: {"read": 3, "write": 4, "brk": 45, "getpid": 20, "exit": 1, "exit_group": 252},
}


def _write(process: Process, args: tuple[int, ...]) -> int:
    fd, buf, count = args[0], args[1], args[2]
    if fd not in (1, 2):
        return -EBADF
    return process.write_fd(fd, process.machine.mem.read(buf, count))


def _read(process: Process, args: tuple[int, ...]) -> int:
    fd, buf, count = args[0], args[1], args[2]
    if fd != 0:
        return -EBADF
    data = process.read_stdin(count)
    process.machine.mem.write(buf, data)
    return len(data)


def _exit(process: Process, args: tuple[int, ...]) -> int:
    raise ProgramExit(args[0] & 0xFF)


def _brk(process: Process, args: tuple[int, ...]) -> int:
    """The program break grows from the end of the bss; memory counts against the cap."""
    want = args[0]
    if want == 0 or want < process.brk_start:
        return process.brk
    top = page_up(want)
    if top > process.brk_mapped:
        if not process.grow(top - process.brk_mapped):
            return process.brk
        process.machine.mem.map(process.brk_mapped, top - process.brk_mapped,
                                UC_PROT_READ | UC_PROT_WRITE)
        process.brk_mapped = top
    process.brk = want
    return want


def _getpid(process: Process, args: tuple[int, ...]) -> int:
    return 4242


_HANDLERS: dict[str, Callable[[Process, tuple[int, ...]], int]] = {
    "read": _read, "write": _write, "brk": _brk, "getpid": _getpid,
    "exit": _exit, "exit_group": _exit,
}


def make_syscall_handler(process: Process) -> Callable[[int, tuple[int, ...]], int]:
    by_number = {nr: _HANDLERS[name] for name, nr in NUMBERS[process.machine.abi.word].items()}

    def handle(number: int, args: tuple[int, ...]) -> int:
        handler = by_number.get(number)
        return -ENOSYS if handler is None else handler(process, args)

    return handle
