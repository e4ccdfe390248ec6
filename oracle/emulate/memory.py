"""GuestMemory over a Unicorn address space, and page-granular mapping with permissions.

Unicorn raises UcError on any unmapped or protected access; library functions see that as
GuestFault, the one exception they are written against.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, Uc, UcError

from oracle.emulate.guest import GuestFault, LoadTimeout

PAGE = 0x1000
# A C string the emulated libraries read: a quarter of the default memory cap, so that a
# program with one big string runs while a scan of unterminated memory still ends.
MAX_CSTRING = 64 << 20
LARGE_READ = 1 << 20  # reads past this size are checked against the mapped ranges first


def page_down(addr: int) -> int:
    return addr & ~(PAGE - 1)


def page_up(addr: int) -> int:
    return (addr + PAGE - 1) & ~(PAGE - 1)


def prot_from_flags(p_flags: int) -> int:
    """ELF PF_X=1, PF_W=2, PF_R=4 to Unicorn protection bits."""
    prot = 0
    if p_flags & 4:
        prot |= UC_PROT_READ
    if p_flags & 2:
        prot |= UC_PROT_WRITE
    if p_flags & 1:
        prot |= UC_PROT_EXEC
    return prot


class HostView(Protocol):
    """Guest memory as the host maps it (cpu.Cpu): None/False where it does not."""

    def host_read(self, addr: int, size: int) -> bytes | None: ...

    def host_write(self, addr: int, data: bytes) -> bool: ...


def _nowhere_read(addr: int, size: int) -> bytes | None:
    return None


def _nowhere_write(addr: int, data: bytes) -> bool:
    return False


class UcMemory:
    """Byte access to the guest (implements oracle.emulate.guest.GuestMemory).

    Accesses made on behalf of the guest by library code ignore page protections except
    for mapping, as the kernel's copy_to_user would not (a write through a pointer to
    read-only data faults): writes are checked against the recorded permissions."""

    def __init__(self, uc: Uc, mapper: Callable[[int, int, int], None] | None = None,
                 host: HostView | None = None) -> None:
        self.uc = uc
        self._mapper = mapper if mapper is not None else uc.mem_map  # cpu.Cpu.map keeps
        # cpu.Cpu's direct view of the memory Unicorn maps over host memory of ours: the
        # same bytes as uc.mem_read/mem_write, without a ctypes call each
        self._host_read = host.host_read if host is not None else _nowhere_read
        self._host_write = host.host_write if host is not None else _nowhere_write
        self.readonly: list[tuple[int, int]] = []  # [start, end) ranges without PROT_WRITE
        self.lazy: list[tuple[int, int, int]] = []  # (start, size, prot) mapped on first touch
        # The run's wall-time limit counts from before loading (Machine sets it): the
        # loader's writes and its relocation loops look at the clock now and then.
        self.deadline = math.inf
        self._loading_steps = 0
        # told of every write once the run has writable code (code_writes.py)
        self.before_write: Callable[[int, bytes], None] | None = None

    def map_lazily(self, addr: int, size: int, prot: int) -> None:
        """Reserve a region that is mapped when first touched (by the CPU or by library
        code): the heap, which most programs under test never use."""
        self.lazy.append((addr, size, prot))

    def map_free_lazies(self, free: Callable[[int, int], bool]) -> None:
        """Map now the lazy regions that `free(start, size)` says cost nothing to map."""
        for start, size, prot in [r for r in self.lazy if free(r[0], r[1])]:
            self.lazy.remove((start, size, prot))
            self.map(start, size, prot)

    def materialize(self, addr: int) -> bool:
        """Map the lazy region containing `addr`, if any; True if one was mapped."""
        for region in self.lazy:
            start, size, prot = region
            if start <= addr < start + size:
                self.lazy.remove(region)
                self.map(start, size, prot)
                return True
        return False

    def read(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        found = self._host_read(addr, size)
        if found is not None:
            return found
        if size > LARGE_READ and not self._covered(addr, size):
            # Unicorn allocates the whole buffer before it finds the range unmapped: a
            # hostile DT_INIT_ARRAYSZ of 2 GiB cost 2 GiB of host memory, past any cap
            raise GuestFault(addr, f"read of {size} bytes from unmapped memory")
        try:
            return bytes(self.uc.mem_read(addr, size))
        except UcError as err:
            if self.lazy and self.materialize(addr):
                return self.read(addr, size)
            raise GuestFault(addr, f"read of {size} bytes from unmapped memory") from err

    def _covered(self, addr: int, size: int) -> bool:
        """Whether [addr, addr + size) is mapped, or reserved to be mapped when touched."""
        spans = sorted([(begin, end + 1) for begin, end, _ in self.uc.mem_regions()]
                       + [(start, start + length) for start, length, _ in self.lazy])
        cursor, end = addr, addr + size
        for begin, stop in spans:
            if begin > cursor:
                break
            cursor = max(cursor, stop)
            if cursor >= end:
                return True
        return cursor >= end

    def write(self, addr: int, data: bytes) -> None:
        if not data:
            return
        for start, end in self.readonly:
            if addr < end and start < addr + len(data):
                raise GuestFault(max(addr, start), "write to read-only memory")
        if self.before_write is not None:
            self.before_write(addr, bytes(data))
        if self._host_write(addr, data if type(data) is bytes else bytes(data)):
            return
        try:
            self.uc.mem_write(addr, bytes(data))
        except UcError as err:
            if self.lazy and self.materialize(addr):
                self.write(addr, data)
                return
            raise GuestFault(addr, f"write of {len(data)} bytes to unmapped memory") from err

    def read_cstr(self, addr: int, limit: int = MAX_CSTRING) -> bytes:
        """The NUL-terminated string at `addr`.  The first read is short (most strings
        are), later ones run to a page's end: a read never crosses into a page that may
        be unmapped, and a 64 MiB string takes 16,384 reads, not 262,144."""
        out = bytearray()
        cursor = addr
        chunk = min(PAGE - (cursor & (PAGE - 1)), 256)
        while len(out) <= limit:
            data = self.read(cursor, chunk)
            nul = data.find(0)
            if nul >= 0:
                out += data[:nul]
                break
            out += data
            cursor += chunk
            chunk = PAGE - (cursor & (PAGE - 1))
        if len(out) > limit:
            self._too_long(addr, limit)
        return bytes(out)

    @staticmethod
    def _too_long(addr: int, limit: int) -> None:
        raise GuestFault(addr, f"string longer than {limit} bytes")

    def map_pages(self, perms: dict[int, int], breaks: frozenset[int] = frozenset()) -> None:
        """Map pages {page address: Unicorn prot}, merging runs of equal protection; a
        region starts at each page of `breaks` too (where protections will change later:
        reprotecting a whole region is cheaper for Unicorn than splitting one)."""
        run_start = run_end = run_prot = -1
        for page in sorted(perms):
            prot = perms[page]
            if page == run_end and prot == run_prot and page not in breaks:
                run_end += PAGE
                continue
            if run_start >= 0:
                self.map(run_start, run_end - run_start, run_prot)
            run_start, run_end, run_prot = page, page + PAGE, prot
        if run_start >= 0:
            self.map(run_start, run_end - run_start, run_prot)

    def map(self, addr: int, size: int, prot: int) -> None:
        self._mapper(addr, size, prot)
        if not prot & UC_PROT_WRITE:
            self.readonly.append((addr, addr + size))

    def covers(self, addr: int, size: int) -> bool:
        """Whether [addr, addr + size) lies wholly in mapped (or lazily mapped) memory:
        asked before the loader makes `size` bytes, so a hostile size fails at once."""
        spans = sorted([(begin, end + 1) for begin, end, _ in self.uc.mem_regions()]
                       + [(start, start + length) for start, length, _ in self.lazy])
        reached, end = addr, addr + size
        for begin, stop in spans:
            if begin <= reached < stop:
                reached = stop
        return reached >= end

    def loading_step(self) -> None:
        """One step of loading (a relocation, a bind, a loader's write): every 1,024th
        reads the clock, and past the run's deadline ends the load (LoadTimeout)."""
        self._loading_steps += 1
        if not self._loading_steps & 1023 and time.monotonic() > self.deadline:
            raise LoadTimeout("loading")

    def write_initial(self, addr: int, data: bytes) -> None:
        """Write regardless of protection: loading segments, applying relocations (the
        loader's writes, like ld.so's before RELRO is sealed)."""
        self.loading_step()
        if self.before_write is not None:
            self.before_write(addr, bytes(data))
        if data and self._host_write(addr, data if type(data) is bytes else bytes(data)):
            return
        try:
            self.uc.mem_write(addr, bytes(data))
        except UcError as err:
            raise GuestFault(addr, f"write of {len(data)} bytes to unmapped memory") from err


ALL = UC_PROT_READ | UC_PROT_WRITE | UC_PROT_EXEC
