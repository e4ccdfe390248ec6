"""The narrow surface that high-level library functions see of the emulated machine.

The loader and CPU (Unicorn) live elsewhere; library code in `oracle.emulate.libc` is
written against these protocols only, so it can be unit-tested on a plain bytearray and
shared between the ELF ld.so and the Mach-O dyld (which reuse the same functions under
underscored names).
"""

from __future__ import annotations

from typing import Protocol


class GuestMemory(Protocol):
    """Byte access to the guest's address space.  Out-of-range access raises GuestFault."""

    def read(self, addr: int, size: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...

    def read_cstr(self, addr: int, limit: int = 1 << 20) -> bytes:
        """Bytes from addr up to (not including) the first NUL; GuestFault past `limit`."""
        ...


class VarArgs(Protocol):
    """Successive variadic arguments, fetched the way the ABI passes them
    (x86-64 SysV: integer registers then stack, doubles in xmm0-7 then stack;
    i386 cdecl: all on the stack)."""

    def next_int(self, size: int) -> int:
        """The next integer argument, `size` bytes (4 or 8), as an unsigned value."""
        ...

    def next_double(self) -> float: ...

    def next_long_double(self) -> bytes:
        """The next `long double` argument: its 10 bytes of x87 extended format."""
        ...


class GuestFault(Exception):
    """A library function touched memory it may not (or was handed a bad pointer)."""

    def __init__(self, address: int, message: str) -> None:
        super().__init__(f"{message} at {address:#x}")
        self.address = address
        self.message = message


class LoadTimeout(Exception):
    """Loading (mapping, relocating, binding) used up the run's wall-time limit."""
