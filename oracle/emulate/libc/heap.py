"""malloc, calloc, realloc and free over a guest address range the core has mapped.

Blocks are aligned like glibc's (16 bytes on x86-64, 8 on i386) and carved first-fit from
a sorted free list, then from the untouched top; freed blocks merge with free neighbours.
The range's size is the memory cap: when nothing fits, malloc returns 0 as the real one does
under memory pressure.  Misuse that glibc would abort on (double free, free or realloc of a
pointer malloc never returned) raises GuestFault naming the pointer.  Contents are moved by
whole-range reads and writes.
"""

from __future__ import annotations

import bisect

from oracle.emulate.guest import GuestFault, GuestMemory


class Heap:
    """The guest heap: [base, base + size), aligned to `align` (a power of two)."""

    def __init__(self, mem: GuestMemory, base: int, size: int, *, align: int = 16) -> None:
        if align & (align - 1) or base % align:
            raise ValueError(f"heap base {base:#x} must be aligned to a power of two {align}")
        self.mem = mem
        self.base = base
        self.end = base + size
        self.align = align
        self.live: dict[int, int] = {}  # address -> size the program asked for
        self._blocks: dict[int, int] = {}  # address -> bytes reserved (aligned)
        self._free: list[tuple[int, int]] = []  # (address, length), sorted, never adjacent
        self._top = base  # everything from here to `end` is untouched
        self._freed: set[int] = set()  # freed and not handed out again: double-free evidence

    def _round(self, size: int) -> int:
        return (max(size, 1) + self.align - 1) & ~(self.align - 1)

    def malloc(self, size: int) -> int:
        length = self._round(size)
        addr = self._take_free(length)
        if addr is None:
            if length > self.end - self._top:
                return 0
            addr, self._top = self._top, self._top + length
        self.live[addr] = size
        self._blocks[addr] = length
        self._freed.discard(addr)
        return addr

    def memalign(self, alignment: int, size: int) -> int:
        """A block at a multiple of `alignment` (a power of two): a larger block from
        malloc, whose head before the aligned address goes back to the free list, so that
        free() and realloc() take the aligned pointer as any other."""
        if alignment <= self.align:
            return self.malloc(size)
        addr = self.malloc(size + alignment)
        aligned = (addr + alignment - 1) & -alignment
        if addr and aligned != addr:
            length = self._blocks.pop(addr)
            del self.live[addr]
            self._release(addr, aligned - addr)
            self.live[aligned] = size
            self._blocks[aligned] = length - (aligned - addr)
        return aligned

    def _take_free(self, length: int) -> int | None:
        for index, (addr, free_length) in enumerate(self._free):
            if free_length >= length:
                if free_length == length:
                    del self._free[index]
                else:
                    self._free[index] = (addr + length, free_length - length)
                return addr
        return None

    def calloc(self, count: int, size: int, *, word: int = 8) -> int:
        total = count * size
        if total >> (8 * word):  # the product overflows size_t
            return 0
        addr = self.malloc(total)
        if addr and total:
            self.mem.write(addr, bytes(total))  # a reused block holds old data
        return addr

    def free(self, addr: int) -> None:
        if addr == 0:
            return
        self._check_live(addr, "free")
        del self.live[addr]
        self._release(addr, self._blocks.pop(addr))
        self._freed.add(addr)

    def realloc(self, addr: int, size: int) -> int:
        if addr == 0:
            return self.malloc(size)
        self._check_live(addr, "realloc")
        if size == 0:  # glibc frees and returns NULL
            self.free(addr)
            return 0
        if self._round(size) <= self._blocks[addr]:
            self.live[addr] = size
            return addr
        moved = self.malloc(size)
        if moved == 0:
            return 0  # the old block stays valid, as C requires
        kept = min(self.live[addr], size)
        if kept:
            self.mem.write(moved, self.mem.read(addr, kept))
        self.free(addr)
        return moved

    def _check_live(self, addr: int, what: str) -> None:
        if addr in self.live:
            return
        if not self.base <= addr < self.end:
            raise GuestFault(addr, f"{what}() of a pointer outside the heap")
        if addr in self._freed:
            raise GuestFault(addr, f"{what}() of an already freed pointer (double free)")
        raise GuestFault(addr, f"{what}() of a pointer malloc did not return")

    def _release(self, addr: int, length: int) -> None:
        """Return a block to the free list, merging it with free neighbours and the top."""
        index = bisect.bisect_left(self._free, (addr, 0))
        if index < len(self._free) and self._free[index][0] == addr + length:
            length += self._free.pop(index)[1]
        if index > 0 and sum(self._free[index - 1]) == addr:
            addr, before = self._free.pop(index - 1)
            length += before
            index -= 1
        if addr + length == self._top:
            self._top = addr
        else:
            self._free.insert(index, (addr, length))

    def largest_free(self) -> int:
        """The longest run of bytes one allocation could still get."""
        return max([self.end - self._top] + [length for _, length in self._free])

    def in_use(self) -> int:
        """Bytes reserved by live blocks (alignment padding included)."""
        return sum(self._blocks.values())
