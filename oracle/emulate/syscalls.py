"""Linux system calls, for programs that do without libc (the fuzzers' programs exit through
exit_group) and for static glibc executables, whose start-up sets the thread pointer
(arch_prctl / set_thread_area), grows the break, seals RELRO (mprotect) and writes with
write/writev.  Unknown calls fail with ENOSYS, as the kernel answers a number it does not
know; glibc copes with that for the rest of its start-up (rseq, robust lists, ...).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from unicorn import UC_PROT_READ, UC_PROT_WRITE, UcError
from unicorn import x86_const as x

from oracle.emulate.calls import ProgramExit
from oracle.emulate.memory import page_up
from oracle.emulate.process import Process
from oracle.emulate.thread import TLS_ENTRIES, descriptor, gdt_address

ENOSYS, ENOMEM, EBADF, EINVAL = 38, 12, 9, 22
# name -> number, per ABI
NUMBERS: dict[int, dict[str, int]] = {
    8: {"read": 0, "write": 1, "brk": 12, "getpid": 39, "exit": 60, "exit_group": 231,
        "arch_prctl": 158, "set_tid_address": 218, "writev": 20, "mprotect": 10},
    4: {"read": 3, "write": 4, "brk": 45, "getpid": 20, "exit": 1, "exit_group": 252,
        "set_thread_area": 243, "set_tid_address": 258, "writev": 146, "mprotect": 125},
}
ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004


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


def _set_tid_address(process: Process, args: tuple[int, ...]) -> int:
    return 4242  # the main thread's tid is the pid


def _writev(process: Process, args: tuple[int, ...]) -> int:
    fd, iov, count = args[0], args[1], args[2]
    if fd not in (1, 2):
        return -EBADF
    word = process.machine.abi.word
    mem = process.machine.mem
    data = bytearray()
    for k in range(min(count, 1024)):
        base = int.from_bytes(mem.read(iov + 2 * word * k, word), "little")
        size = int.from_bytes(mem.read(iov + 2 * word * k + word, word), "little")
        data += mem.read(base, size)
    return process.write_fd(fd, bytes(data))


def _mprotect(process: Process, args: tuple[int, ...]) -> int:
    """Change page protections (static glibc seals its RELRO this way).  PROT_READ/WRITE/
    EXEC have Unicorn's bit values."""
    addr, size, prot = args[0], page_up(args[1]), args[2] & 7
    if addr & 0xFFF:
        return -EINVAL
    mem = process.machine.mem
    try:
        process.machine.protect(addr, size, prot)
    except UcError:
        return -ENOMEM
    if prot & 4:  # PROT_EXEC: code Unicorn would crash translating stops the run instead
        process.machine.check_translatable()
    if not prot & UC_PROT_WRITE:
        mem.readonly.append((addr, addr + size))
    else:
        mem.readonly = [(a, b) for a, b in mem.readonly if b <= addr or a >= addr + size]
    return 0


def _arch_prctl(process: Process, args: tuple[int, ...]) -> int:
    """x86-64: the thread pointer (static glibc sets %fs this way before main)."""
    code, addr = args[0], args[1]
    uc = process.machine.uc
    regs = {ARCH_SET_FS: x.UC_X86_REG_FS_BASE, ARCH_SET_GS: x.UC_X86_REG_GS_BASE}
    if code in regs:
        uc.reg_write(regs[code], addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        reg = x.UC_X86_REG_FS_BASE if code == ARCH_GET_FS else x.UC_X86_REG_GS_BASE
        process.machine.mem.write(addr, int(uc.reg_read(reg)).to_bytes(8, "little"))
        return 0
    return -EINVAL


def _set_thread_area(process: Process, args: tuple[int, ...]) -> int:
    """i386: install a TLS segment descriptor from a struct user_desc (entry_number -1:
    pick a free one and report it back), as static glibc does before main."""
    mem = process.machine.mem
    desc = args[0]
    entry, base = struct.unpack("<iI", mem.read(desc, 8))
    if entry == -1:
        entry = TLS_ENTRIES[0]
        mem.write(desc, entry.to_bytes(4, "little"))
    if entry not in TLS_ENTRIES:
        return -EINVAL
    # DPL 3 so that a selector with RPL 3 may load it.
    mem.write(gdt_address(process.machine) + 8 * entry, descriptor(base, 0xF2))
    return 0


_HANDLERS: dict[str, Callable[[Process, tuple[int, ...]], int]] = {
    "read": _read, "write": _write, "brk": _brk, "getpid": _getpid,
    "exit": _exit, "exit_group": _exit, "arch_prctl": _arch_prctl,
    "set_thread_area": _set_thread_area, "set_tid_address": _set_tid_address,
    "writev": _writev, "mprotect": _mprotect,
}


def make_syscall_handler(process: Process) -> Callable[[int, tuple[int, ...]], int]:
    by_number = {nr: _HANDLERS[name] for name, nr in NUMBERS[process.machine.abi.word].items()}

    def handle(number: int, args: tuple[int, ...]) -> int:
        handler = by_number.get(number)
        return -ENOSYS if handler is None else handler(process, args)

    return handle
