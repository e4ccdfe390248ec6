"""VarArgs read from a `va_list` in guest memory, for the v*printf functions.

x86-64 (SysV): a va_list is a pointer to {u32 gp_offset, u32 fp_offset, u64
overflow_arg_area, u64 reg_save_area}; integers come from the register save area while
gp_offset < 48, doubles while fp_offset < 176 (16-byte xmm slots), then both from the
overflow area in 8-byte slots.  i386: a va_list is just a pointer into the argument area,
4-byte cells, 8 bytes for `long long` and `double`.
The guest's va_list is not updated (C leaves it indeterminate after a v*printf call).
"""

from __future__ import annotations

import struct

from oracle.emulate.guest import GuestMemory, VarArgs

GP_SAVE_END = 48  # six integer registers
FP_SAVE_END = 176  # 48 + eight 16-byte xmm registers


class StackArgs:
    """Arguments in consecutive cells of at least `slot` bytes starting at `addr`."""

    def __init__(self, mem: GuestMemory, addr: int, slot: int,
                 long_double_slot: tuple[int, int] | None = None) -> None:
        self.mem = mem
        self.addr = addr
        self.slot = slot
        # (alignment, size) of a long double's cell: x86-64's (16, 16) and i386 SysV's
        # (4, 12) by default; i386 macOS passes (16, 16)
        self.long_double_slot = long_double_slot or ((16, 16) if slot == 8 else (4, 12))

    def take(self, size: int) -> bytes:
        data = self.mem.read(self.addr, size)
        self.addr += max(size, self.slot)
        return data

    def next_int(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def next_double(self) -> float:
        value: float = struct.unpack("<d", self.take(8))[0]
        return value

    def next_long_double(self) -> bytes:
        """x86-64's overflow area (8-byte cells): a 16-byte aligned 16-byte slot; i386's
        argument area (4-byte cells): 12 bytes (16, aligned to 16, on macOS)."""
        align, size = self.long_double_slot
        self.addr = (self.addr + align - 1) & -align
        return self.take(size)[:10]


class SysVVaList:
    """An x86-64 va_list: register save area first, then the overflow area."""

    def __init__(self, mem: GuestMemory, va_list: int) -> None:
        gp, fp, overflow, self.save = struct.unpack("<IIQQ", mem.read(va_list, 24))
        self.mem = mem
        self.gp, self.fp = gp, fp
        self.overflow = StackArgs(mem, overflow, 8)

    def next_int(self, size: int) -> int:
        if self.gp < GP_SAVE_END:
            raw = self.mem.read(self.save + self.gp, 8)
            self.gp += 8
            return int.from_bytes(raw[:size], "little")
        return self.overflow.next_int(size)

    def next_double(self) -> float:
        if self.fp < FP_SAVE_END:
            value: float = struct.unpack("<d", self.mem.read(self.save + self.fp, 8))[0]
            self.fp += 16
            return value
        return self.overflow.next_double()

    def next_long_double(self) -> bytes:
        return self.overflow.next_long_double()  # never in registers


def va_list_args(mem: GuestMemory, va_list: int, word: int,
                 long_double_slot: tuple[int, int] | None = None) -> VarArgs:
    """The arguments behind a va_list argument value on the ABI with this word size (and,
    on i386, this long double cell; see StackArgs)."""
    if word == 8:
        return SysVVaList(mem, va_list)
    return StackArgs(mem, va_list, 4, long_double_slot)
