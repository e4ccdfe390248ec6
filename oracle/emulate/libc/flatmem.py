"""Plain-Python stand-ins for the emulated machine: memory over a bytearray, varargs over bytes.

Library functions are written against `oracle.emulate.guest`'s protocols; these two classes
satisfy them without Unicorn, so the functions can be unit-tested (and the core's own tests
can reuse them).  `PackedArgs` lays variadic arguments out the way they sit in memory once
the registers are used up: 8-byte slots on x86-64, 4-byte cells (8 for `long long` and
`double`) on i386.
"""

from __future__ import annotations

import struct

from oracle.emulate.guest import GuestFault


class FlatMemory:
    """One contiguous, zero-filled range [base, base + size) of guest memory."""

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.data = bytearray(size)

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def _offset(self, addr: int, size: int) -> int:
        if size < 0 or addr < self.base or addr + size > self.end:
            raise GuestFault(addr, f"access of {size} bytes outside [{self.base:#x}, {self.end:#x})")
        return addr - self.base

    def read(self, addr: int, size: int) -> bytes:
        start = self._offset(addr, size)
        return bytes(self.data[start : start + size])

    def write(self, addr: int, data: bytes) -> None:
        start = self._offset(addr, len(data))
        self.data[start : start + len(data)] = data

    def read_cstr(self, addr: int, limit: int = 1 << 20) -> bytes:
        start = self._offset(addr, 0)
        stop = min(len(self.data), start + limit)
        nul = self.data.find(0, start, stop)
        if nul < 0:
            where = "memory end" if stop == len(self.data) else f"{limit} bytes"
            raise GuestFault(addr, f"string not terminated before {where}")
        return bytes(self.data[start:nul])


class PackedArgs:
    """Variadic arguments read in order from a byte image of the argument area.

    `slot` is the minimum cell size: 8 on x86-64 (every argument takes a whole slot), 4 on
    i386 (an 8-byte `long long` or `double` takes two cells).
    """

    def __init__(self, image: bytes, slot: int) -> None:
        self.image = image
        self.slot = slot
        self.position = 0

    def _take(self, size: int) -> bytes:
        cell = max(size, self.slot)
        chunk = self.image[self.position : self.position + cell]
        if len(chunk) < cell:
            raise GuestFault(self.position, "variadic argument read past the last one passed")
        self.position += cell
        return chunk[:size]

    def next_int(self, size: int) -> int:
        return int.from_bytes(self._take(size), "little")

    def next_double(self) -> float:
        value: float = struct.unpack("<d", self._take(8))[0]
        return value

    def next_long_double(self) -> bytes:
        """12 bytes on a 4-byte slot (i386), a 16-byte aligned 16 otherwise."""
        if self.slot >= 8:
            self.position = (self.position + 15) & ~15
            return self._take(16)[:10]
        return self._take(12)[:10]
