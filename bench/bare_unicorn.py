"""Bare Unicorn on a freestanding static ELF image: the floor the emulator is measured against.

    .venv/bin/python bench/bare_unicorn.py IMAGE      # runs it; exits with its status

Nothing but Unicorn: the PT_LOAD segments mapped with their own protections (read from the
file with `struct`), a stack that is not executable (as a loader maps them: a write to an
executable page takes Unicorn's slow path, and a stack mapped PROT_ALL made N-queens half
again as slow), the entry point, and one hook, for the exit system call (x86-64 `syscall`, i386
`int 0x80`), which stops the CPU.  No libc, no loader, no budget, no watchdog.  Run as a
script it is a whole process (Python's start and Unicorn's import included), to be set
beside a whole `linkharness run` process.
"""

from __future__ import annotations

import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_MODE_32,
    UC_MODE_64,
    UC_PROT_EXEC,
    UC_PROT_NONE,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
)
from unicorn import x86_const as x

PAGE = 0x1000
STACK_TOP = 0x7FF0_0000
STACK_SIZE = 1 << 20
PT_LOAD = 1
EXIT_CALLS = {64: (60, 231), 32: (1, 252)}  # exit, exit_group


@dataclass(frozen=True)
class BareRun:
    status: int
    wall_s: float  # emu_start alone
    cpu_s: float


def _segments(image: bytes) -> tuple[int, int, list[tuple[int, int, int, bytes]]]:
    """(bits, entry, [(address, memory size, Unicorn protection, file bytes)]) of a static
    ELF executable."""
    if image[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    bits = 64 if image[4] == 2 else 32
    if bits == 64:
        entry, phoff = struct.unpack_from("<QQ", image, 24)
        phentsize, phnum = struct.unpack_from("<HH", image, 54)
        # type, offset, vaddr, filesz, memsz, flags
        layout, fields = "<IIQQQQQQ", (0, 2, 3, 5, 6, 1)
    else:
        entry, phoff = struct.unpack_from("<II", image, 24)
        phentsize, phnum = struct.unpack_from("<HH", image, 42)
        layout, fields = "<IIIIIIII", (0, 1, 2, 4, 5, 6)
    segments = []
    for i in range(phnum):
        header = struct.unpack_from(layout, image, phoff + i * phentsize)
        kind, offset, vaddr, filesz, memsz, flags = (header[f] for f in fields)
        if kind == PT_LOAD:
            prot = ((UC_PROT_EXEC if flags & 1 else UC_PROT_NONE)
                    | (UC_PROT_WRITE if flags & 2 else UC_PROT_NONE)
                    | (UC_PROT_READ if flags & 4 else UC_PROT_NONE))
            segments.append((vaddr, memsz, prot, image[offset:offset + filesz]))
    return bits, entry, segments


def load(path: Path) -> tuple[Uc, int, int, dict[str, int]]:
    """A Unicorn instance with the image mapped and the exit hook installed: (uc, bits,
    entry, the box the hook writes the exit status into)."""
    bits, entry, segments = _segments(path.read_bytes())
    uc = Uc(UC_ARCH_X86, UC_MODE_64 if bits == 64 else UC_MODE_32)
    pages: dict[int, int] = {}  # page -> protection (segments sharing a page: the union)
    for vaddr, memsz, prot, _ in segments:
        first, end = vaddr & ~(PAGE - 1), (vaddr + memsz + PAGE - 1) & ~(PAGE - 1)
        for page in range(first, end, PAGE):
            pages[page] = pages.get(page, UC_PROT_NONE) | prot
    for page, prot in sorted(pages.items()):
        uc.mem_map(page, PAGE, prot)
    for vaddr, _, _, data in segments:
        uc.mem_write(vaddr, data)  # mem_write ignores the protection
    uc.mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)
    uc.reg_write(x.UC_X86_REG_RSP if bits == 64 else x.UC_X86_REG_ESP, STACK_TOP - 64)
    box = {"status": -1}
    number, first_arg = ((x.UC_X86_REG_RAX, x.UC_X86_REG_RDI) if bits == 64
                         else (x.UC_X86_REG_EAX, x.UC_X86_REG_EBX))

    def exit_call(uc: Uc, *_: object) -> None:
        if uc.reg_read(number) in EXIT_CALLS[bits]:
            box["status"] = uc.reg_read(first_arg) & 0xFF
            uc.emu_stop()

    if bits == 64:
        uc.hook_add(UC_HOOK_INSN, exit_call, None, 1, 0, x.UC_X86_INS_SYSCALL)
    else:
        uc.hook_add(UC_HOOK_INTR, exit_call)
    return uc, bits, entry, box


def run(path: Path) -> BareRun:
    """Load `path` (untimed) and run it from its entry until it exits."""
    uc, bits, entry, box = load(path)
    start, cpu = time.perf_counter(), time.process_time()
    uc.emu_start(entry, (1 << bits) - 1)
    return BareRun(box["status"], time.perf_counter() - start, time.process_time() - cpu)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    done = run(Path(argv[0]))
    if done.status < 0:
        print("bare_unicorn: the image stopped without exiting", file=sys.stderr)
        return 125
    return done.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
