"""Bulk reads of guest strings whose end is not known in advance.

`GuestMemory.read_cstr` suits unbounded strings; functions given a length bound (strnlen,
strncmp, "%.5s", memchr) may be handed an unterminated buffer that ends right at an unmapped
page, so they read page by page: never one byte at a time, never past the page holding the
terminator (or the bound).
"""

from __future__ import annotations

from oracle.emulate.guest import GuestFault, GuestMemory

PAGE = 4096
# A length a function must copy or fill in full beyond this is a guest bug (a negative size
# passed as size_t, say): refuse it as a fault rather than allocate gigabytes host-side.
MAX_BULK = 1 << 26


def scan_until(mem: GuestMemory, addr: int, limit: int, stop: int = 0) -> tuple[bytes, bool]:
    """The bytes from `addr` before the first `stop` byte, looking at most `limit` bytes;
    and whether `stop` was found (False: `limit` bytes were returned)."""
    pieces: list[bytes] = []
    seen = 0
    while seen < limit:
        take = min(limit - seen, PAGE - (addr + seen) % PAGE)
        chunk = mem.read(addr + seen, take)
        hit = chunk.find(stop)
        if hit >= 0:
            pieces.append(chunk[:hit])
            return b"".join(pieces), True
        pieces.append(chunk)
        seen += take
    return b"".join(pieces), False


def read_bounded(mem: GuestMemory, addr: int, limit: int) -> bytes:
    """A string of at most `limit` bytes: up to its NUL, or cut at `limit`."""
    return scan_until(mem, addr, limit)[0]


def bulk_length(addr: int, n: int, what: str) -> int:
    """`n`, checked to be a length a whole-range read or write may take in one go."""
    if n > MAX_BULK:
        raise GuestFault(addr, f"{what} of {n:#x} bytes (more than the {MAX_BULK:#x} allowed)")
    return n
