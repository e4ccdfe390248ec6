"""The mem* functions of <string.h>: one guest read or write per operand, whatever the size.

memmove and memcpy are the same here: the source is read whole before the destination is
written, which is what makes overlapping moves correct.  A zero length touches no memory,
so NULL with n == 0 (common, if formally undefined) is harmless; an absurd length is a
GuestFault (see reading.MAX_BULK).
"""

from __future__ import annotations

from oracle.emulate.guest import GuestMemory
from oracle.emulate.libc.abi import c_int
from oracle.emulate.libc.reading import bulk_length, scan_until
from oracle.emulate.libc.strings import first_difference


def memcpy(mem: GuestMemory, dst: int, src: int, n: int) -> int:
    if n:
        mem.write(dst, mem.read(src, bulk_length(src, n, "memcpy")))
    return dst


memmove = memcpy


def memset(mem: GuestMemory, dst: int, c: int, n: int) -> int:
    if n:
        mem.write(dst, bytes([c_int(c) & 0xFF]) * bulk_length(dst, n, "memset"))
    return dst


def memcmp(mem: GuestMemory, a: int, b: int, n: int) -> int:
    if n == 0:
        return 0
    bulk_length(a, n, "memcmp")
    return first_difference(mem.read(a, n), mem.read(b, n))


def memchr(mem: GuestMemory, s: int, c: int, n: int) -> int:
    # Page by page: the buffer may be shorter than n when the byte occurs early.
    before, found = scan_until(mem, s, n, c_int(c) & 0xFF)
    return s + len(before) if found else 0


def memrchr(mem: GuestMemory, s: int, c: int, n: int) -> int:
    if n == 0:
        return 0
    at = mem.read(s, bulk_length(s, n, "memrchr")).rfind(c_int(c) & 0xFF)
    return 0 if at < 0 else s + at
