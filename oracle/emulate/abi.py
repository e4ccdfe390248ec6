"""Calling conventions: where a called library function finds its arguments, where it puts
its result, how it returns, and how Python calls back into guest code.

x86-64 SysV: integers in rdi rsi rdx rcx r8 r9 then the stack, doubles in xmm0-7 then the
stack, result in rax (xmm0 for doubles).  i386 cdecl: everything on the stack, result in
eax (edx:eax for 64-bit values).  Both push the return address with `call`, so on entry to
a library function [sp] is the return address and the arguments follow it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from functools import cached_property

from unicorn import UC_MODE_32, UC_MODE_64, Uc
from unicorn import x86_const as x

from oracle.emulate.guest import GuestMemory

_INT_REGS_64 = (
    x.UC_X86_REG_RDI,
    x.UC_X86_REG_RSI,
    x.UC_X86_REG_RDX,
    x.UC_X86_REG_RCX,
    x.UC_X86_REG_R8,
    x.UC_X86_REG_R9,
)
_XMM_REGS = tuple(getattr(x, f"UC_X86_REG_XMM{i}") for i in range(8))


@dataclass(frozen=True)
class Abi:
    """One architecture's calling convention over a Unicorn CPU."""

    name: str
    mode: int
    word: int
    pc_reg: int
    sp_reg: int
    ret_reg: int
    # a variadic `long double`'s stack slot: (alignment of its address, bytes it takes).
    # x86-64 and Darwin's i386 give it 16 and 16 (clang aligns the caller's copy to 16 on
    # i386 macOS, where sizeof(long double) is 16); the i386 SysV psABI 4 and 12.
    long_double_slot: tuple[int, int] = (4, 12)

    @cached_property
    def mask(self) -> int:
        return (1 << (8 * self.word)) - 1

    def pc(self, uc: Uc) -> int:
        return int(uc.reg_read(self.pc_reg))

    def sp(self, uc: Uc) -> int:
        return int(uc.reg_read(self.sp_reg))

    def read_word(self, mem: GuestMemory, addr: int) -> int:
        return int.from_bytes(mem.read(addr, self.word), "little")

    def pack(self, value: int) -> bytes:
        return (value & self.mask).to_bytes(self.word, "little")

    def pack_words(self, values: list[int]) -> bytes:
        """Words in a row, each taken modulo the word size as pack() takes it."""
        mask = self.mask
        return struct.pack(f"<{len(values)}{'Q' if self.word == 8 else 'I'}",
                           *[v & mask for v in values])

    # -- arguments of the current call (sp points at the return address) --

    def int_arg(self, uc: Uc, mem: GuestMemory, index: int) -> int:
        if self.word == 8:
            if index < 6:
                return int(uc.reg_read(_INT_REGS_64[index]))
            return self.read_word(mem, self.sp(uc) + 8 + 8 * (index - 6))
        return self.read_word(mem, self.sp(uc) + 4 + 4 * index)

    def int_args(self, uc: Uc, mem: GuestMemory, count: int) -> tuple[int, ...]:
        """The first `count` integer arguments of the current call, as int_arg reads each:
        on i386 in one read of the stack (a library call's trace reads them all, and one
        read of sp and of memory per argument was most of a cheap call's cost there)."""
        if count <= 0:
            return ()
        if self.word == 8 and count <= 6:
            return tuple(int(uc.reg_read(reg)) for reg in _INT_REGS_64[:count])
        if self.word == 8:
            return tuple(self.int_arg(uc, mem, i) for i in range(count))
        return struct.unpack(f"<{count}I", mem.read(self.sp(uc) + 4, 4 * count))

    def varargs(self, uc: Uc, mem: GuestMemory, fixed_ints: int) -> GuestVarArgs:
        """The variadic arguments following `fixed_ints` integer arguments."""
        sp = self.sp(uc)
        if self.word == 8:
            overflow = sp + 8 + 8 * max(0, fixed_ints - 6)
            return GuestVarArgs(uc, mem, True, min(fixed_ints, 6), 0, overflow,
                                self.long_double_slot)
        return GuestVarArgs(uc, mem, False, 0, 0, sp + 4 + 4 * fixed_ints,
                            self.long_double_slot)

    def set_return(self, uc: Uc, value: int) -> None:
        uc.reg_write(self.ret_reg, value & self.mask)
        if self.word == 4:
            uc.reg_write(x.UC_X86_REG_EDX, (value >> 32) & 0xFFFFFFFF)

    def set_float_return(self, uc: Uc, value: float) -> None:
        """A double result: xmm0 on x86-64; on i386 pushed on the x87 stack as st(0)."""
        if self.word == 8:
            uc.reg_write(x.UC_X86_REG_XMM0, struct.unpack("<Q", struct.pack("<d", value))[0])
            return
        push_x87(uc, *_float80(value))

    def float_arg(self, uc: Uc, mem: GuestMemory, index: int, int_args: int = 0) -> float:
        """Double argument `index` of a function whose only other arguments are `int_args`
        integers before it (x86-64: xmm<index>; i386: on the stack after them)."""
        if self.word == 8:
            raw = int(uc.reg_read(_XMM_REGS[index])) & ((1 << 64) - 1)
            return float(struct.unpack("<d", raw.to_bytes(8, "little"))[0])
        at = self.sp(uc) + 4 + 4 * int_args + 8 * index
        return float(struct.unpack("<d", mem.read(at, 8))[0])

    def return_value(self, uc: Uc) -> int:
        return int(uc.reg_read(self.ret_reg)) & self.mask

    def return_to_caller(self, uc: Uc, mem: GuestMemory) -> None:
        """Pop the return address pushed by the guest's `call` and continue there."""
        sp = self.sp(uc)
        uc.reg_write(self.pc_reg, self.read_word(mem, sp))
        uc.reg_write(self.sp_reg, sp + self.word)

    def enter_guest(
        self,
        uc: Uc,
        mem: GuestMemory,
        base_sp: int,
        target: int,
        args: tuple[int, ...],
        return_address: int,
    ) -> None:
        """Set up a call target(args) below base_sp that returns to return_address, with the
        stack aligned as the ABI promises at a function's entry ((sp + word) % 16 == 0)."""
        if self.word == 8:
            stack_args = args[6:]
            for reg, value in zip(_INT_REGS_64, args[:6]):
                uc.reg_write(reg, value & self.mask)
            uc.reg_write(x.UC_X86_REG_RAX, 0)  # no vector registers used by a variadic call
            sp = base_sp - 128  # keep clear of the interrupted code's red zone
        else:
            stack_args = args
            sp = base_sp - 16
        sp = (sp - self.word * len(stack_args)) & ~15
        if stack_args:
            mem.write(sp, b"".join(self.pack(a) for a in stack_args))
        sp -= self.word
        mem.write(sp, self.pack(return_address))
        uc.reg_write(self.sp_reg, sp)
        uc.reg_write(self.pc_reg, target)


def push_x87(uc: Uc, mantissa: int, sign_exponent: int) -> None:
    """Push an 80-bit value (64-bit mantissa with its integer bit, 16-bit sign and biased
    exponent) on the x87 stack: how both ABIs return a long double, and i386 a double."""
    status = int(uc.reg_read(x.UC_X86_REG_FPSW))
    top = (((status >> 11) & 7) - 1) & 7
    uc.reg_write(x.UC_X86_REG_FPSW, (status & ~0x3800) | (top << 11))
    uc.reg_write(getattr(x, f"UC_X86_REG_FP{top}"), (mantissa, sign_exponent))
    tags = int(uc.reg_read(x.UC_X86_REG_FPTAG))
    uc.reg_write(x.UC_X86_REG_FPTAG, tags & ~(3 << (2 * top)))


def _float80(value: float) -> tuple[int, int]:
    """A double as the x87 80-bit format Unicorn takes: (64-bit mantissa with its explicit
    integer bit, 16-bit sign and biased exponent)."""
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    sign = bits >> 63
    exponent = (bits >> 52) & 0x7FF
    fraction = bits & ((1 << 52) - 1)
    if exponent == 0 and fraction == 0:
        return 0, sign << 15
    if exponent == 0x7FF:
        return (1 << 63) | (fraction << 11), (sign << 15) | 0x7FFF
    if exponent == 0:  # subnormal double: normal in the wider format
        shift = 52 - fraction.bit_length() + 1
        return fraction << (11 + shift), (sign << 15) | (1 - 1023 + 16383 - shift)
    return (1 << 63) | (fraction << 11), (sign << 15) | (exponent - 1023 + 16383)


class GuestVarArgs:
    """VarArgs (see oracle.emulate.guest) over the registers and stack of a call."""

    def __init__(
        self, uc: Uc, mem: GuestMemory, sysv64: bool, gp: int, fp: int, overflow: int,
        long_double_slot: tuple[int, int] = (4, 12),
    ) -> None:
        self._uc = uc
        self._mem = mem
        self._sysv64 = sysv64
        self._gp = gp
        self._fp = fp
        self._overflow = overflow
        self._long_double_slot = long_double_slot

    def _take_stack(self, size: int) -> bytes:
        data = self._mem.read(self._overflow, size)
        slot = 8 if self._sysv64 else 4
        self._overflow += (size + slot - 1) // slot * slot
        return data

    def next_int(self, size: int) -> int:
        mask = (1 << (8 * size)) - 1
        if self._sysv64:
            if self._gp < 6:
                value = int(self._uc.reg_read(_INT_REGS_64[self._gp]))
                self._gp += 1
                return value & mask
            return int.from_bytes(self._take_stack(8), "little") & mask
        return int.from_bytes(self._take_stack(size), "little")

    def next_double(self) -> float:
        if self._sysv64 and self._fp < 8:
            raw = int(self._uc.reg_read(_XMM_REGS[self._fp])) & ((1 << 64) - 1)
            self._fp += 1
            return float(struct.unpack("<d", raw.to_bytes(8, "little"))[0])
        return float(struct.unpack("<d", self._take_stack(8))[0])

    def next_long_double(self) -> bytes:
        """Always on the stack, in the ABI's slot (see Abi.long_double_slot)."""
        align, size = self._long_double_slot
        self._overflow = (self._overflow + align - 1) & -align
        return self._take_stack(size)[:10]


X86_64 = Abi("x86-64", UC_MODE_64, 8, x.UC_X86_REG_RIP, x.UC_X86_REG_RSP, x.UC_X86_REG_RAX,
             (16, 16))
I386 = Abi("i386", UC_MODE_32, 4, x.UC_X86_REG_EIP, x.UC_X86_REG_ESP, x.UC_X86_REG_EAX)
I386_DARWIN = replace(I386, name="i386-darwin", long_double_slot=(16, 16))
