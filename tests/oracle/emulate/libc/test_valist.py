"""va_list readers: the x86-64 register save area then overflow area, and i386 cells."""

from __future__ import annotations

import struct

from oracle.emulate.libc.flatmem import FlatMemory
from oracle.emulate.libc.stdio import vsnprintf
from oracle.emulate.libc.valist import SysVVaList, va_list_args

BASE = 0x8000


def test_sysv_va_list_takes_registers_then_overflow_in_order() -> None:
    mem = FlatMemory(BASE, 0x400)
    save, overflow, ap = BASE + 0x100, BASE + 0x200, BASE
    # Two integer registers left (gp_offset 32), one xmm left (fp_offset 160).
    mem.write(ap, struct.pack("<IIQQ", 32, 160, overflow, save))
    mem.write(save + 32, struct.pack("<QQ", 11, 22))
    mem.write(save + 160, struct.pack("<d", 1.5))
    mem.write(overflow, struct.pack("<QdQ", 33, 2.5, 44))
    args = SysVVaList(mem, ap)
    got = [args.next_int(8), args.next_double(), args.next_int(8), args.next_int(4),
           args.next_double(), args.next_int(8)]
    assert got == [11, 1.5, 22, 33, 2.5, 44]


def test_i386_va_list_is_a_pointer_into_the_argument_cells() -> None:
    mem = FlatMemory(BASE, 0x100)
    mem.write(BASE + 0x10, struct.pack("<iqd", -7, 1 << 40, 0.25))
    mem.write(BASE + 0x40, b"%d %lld %g\0")
    assert vsnprintf(mem, BASE + 0x80, 64, BASE + 0x40, BASE + 0x10, word=4) == 21
    assert mem.read_cstr(BASE + 0x80) == b"-7 1099511627776 0.25"
    args = va_list_args(mem, BASE + 0x10, 4)
    assert args.next_int(4) == (1 << 32) - 7
