"""The bytearray-backed fakes must fault like the real machine does."""

from __future__ import annotations

import struct

import pytest

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc.flatmem import FlatMemory, PackedArgs


def test_flat_memory_bounds() -> None:
    mem = FlatMemory(0x1000, 16)
    mem.write(0x1000, b"ab\0cd")
    assert mem.read(0x1001, 2) == b"b\0"
    assert mem.read_cstr(0x1000) == b"ab"
    assert mem.read_cstr(0x1003, limit=3) == b"cd"
    with pytest.raises(GuestFault):
        mem.read(0xFFF, 1)
    with pytest.raises(GuestFault):
        mem.write(0x100F, b"xy")
    with pytest.raises(GuestFault, match="2 bytes"):
        mem.read_cstr(0x1003, limit=2)
    mem.write(0x1000, b"x" * 16)
    with pytest.raises(GuestFault, match="memory end"):
        mem.read_cstr(0x1000)


def test_packed_args_cells() -> None:
    args = PackedArgs(struct.pack("<IqdI", 5, -2, 0.5, 9), 4)
    assert args.next_int(4) == 5
    assert args.next_int(8) == (1 << 64) - 2
    assert args.next_double() == 0.5
    assert args.next_int(4) == 9
    with pytest.raises(GuestFault, match="past the last"):
        args.next_int(4)
    wide = PackedArgs(struct.pack("<QQ", 0x1_0000_0007, 3), 8)
    assert wide.next_int(4) == 7  # an int in an 8-byte slot: the low half
    assert wide.next_int(8) == 3
