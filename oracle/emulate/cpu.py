"""Unicorn CPUs reused across runs (the watchdog that ends a run past its wall time is in
watchdog.py, the faster accessors in uc_access.py).

Creating a Unicorn instance (and its first emu_start, which sets up the JIT) costs more
than a whole small run, so each process keeps one CPU per (mode, library region) and
resets it between runs: every region unmapped, the registers restored to their state at
creation, the translated blocks dropped.  The hooks are installed once, with the CPU, and
forward to whichever Machine currently owns it:

  - one code hook limited to the library trampoline region (the only Python callback on
    guest code, and only when the guest jumps there);
  - the invalid-memory hook (lazy mappings, fault reports), the interrupt hook (int 0x80,
    CPU exceptions) and, on x86-64, the `syscall` instruction hook.

Time is bounded without a hook too: Unicorn's own emu_start(timeout=...) starts and joins
a thread per call (about a millisecond, as much as a whole small run), so one watchdog
thread per process (watchdog.py) polls the armed deadlines and calls emu_stop on a CPU
whose run is past its deadline.
"""

from __future__ import annotations

import bisect
import ctypes
import gc
import math
import mmap
import os
import re
import time
import weakref
from typing import Any, Protocol

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_CODE,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_MODE_64,
    UC_PROT_EXEC,
    UC_PROT_READ,
    Uc,
    UcError,
)
from unicorn import x86_const as x

from oracle.emulate import translation_guard
from oracle.emulate.guest_code import GUEST_QSORT
from oracle.emulate.uc_access import fast_accessors

# The default translation buffer is 1 GiB of reserved memory per instance; programs under
# test translate far less (a full buffer is flushed, not fatal).
TCG_BUFFER = 8 << 20
PAGE = 0x1000
ZERO_IN_PLACE = 256 << 10  # kept regions up to this size are zeroed with memset, not madvise
ASK_RESIDENT = 2 << 20  # larger regions are cleared by madvise without asking mincore
TRAMPOLINE_FILL = 0xC3  # ret: see Cpu
X87_CONTROL_AT_EXEC = 0x37F  # the x87 control word and MXCSR a new Linux process has
MXCSR_AT_EXEC = 0x1F80
# inc ecx; jmp back: the same bytes in 32- and 64-bit mode.  Two instructions an iteration.
SINK_CODE = b"\xff\xc1\xeb\xfc"
GUEST_CODE_OFFSET = 0x40  # the library's guest code (guest_code.py), after the sink's
# Dropping the translations of this much code (and less) range by range is cheaper than
# Unicorn's whole-cache flush (about 30 us, and every block of the library region has to be
# translated again after it); past it, flush.
INVALIDATE_IN_RANGES = 16 << 20


class CpuOwner(Protocol):
    """What a CPU's hooks call: the Machine that currently runs on it."""

    def on_library_code(self, uc: Uc, address: int) -> None: ...

    def on_bad_access(self, uc: Uc, access: int, address: int) -> bool: ...

    def on_interrupt(self, uc: Uc, intno: int) -> None: ...

    def on_syscall(self, uc: Uc) -> None: ...


class _Region:
    """A mapped region's host memory and its current protection."""

    __slots__ = ("address", "host", "prot", "size")

    def __init__(self, host: mmap.mmap, prot: int) -> None:
        self.host = host
        self.prot = prot
        self.size = len(host)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(host))

    def zero(self) -> None:
        """All zero again for the next run.  A small region (an image's pages, TLS) is
        cleared in place: handing its pages back to the kernel would make the next run's
        first write to each page a page fault that zero-fills it again (measured: most of
        what writing a loaded image cost).  In a large one (the 8 MiB stack, the libraries'
        data, a big .bss) only the pages in memory can hold anything but zeros: up to
        ASK_RESIDENT, mincore names them, and up to ZERO_IN_PLACE of them are cleared in
        place too; past that (or where that cannot be known) the whole region is handed
        back, and only the pages a run touches cost anything (mincore on the 8 MiB stack
        costs more than that: 0.1 ms)."""
        if self.size <= ZERO_IN_PLACE:
            ctypes.memset(self.address, 0, self.size)
            return
        resident = _resident_runs(self.address, self.size) \
            if self.size <= ASK_RESIDENT else None
        if resident is None or sum(n for _, n in resident) > ZERO_IN_PLACE:
            self.host.madvise(mmap.MADV_DONTNEED)  # private mapping: zero on next touch
            return
        for offset, n in resident:
            ctypes.memset(self.address + offset, 0, n)


_RESIDENT = re.compile(rb"[^\x00]+")


def _swap_in_use() -> bool:
    """Whether the kernel may have swapped pages out (then mincore does not see them)."""
    try:
        with open("/proc/meminfo") as f:
            return any(line.startswith("SwapTotal:") and line.split()[1] != "0" for line in f)
    except OSError:
        return True


_LIBC = ctypes.CDLL(None, use_errno=True)
_MINCORE = None if _swap_in_use() else getattr(_LIBC, "mincore", None)
if _MINCORE is not None:
    _MINCORE.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    _MINCORE.restype = ctypes.c_int


def _resident_runs(address: int, size: int) -> list[tuple[int, int]] | None:
    """(offset, bytes) of the runs of pages of [address, address + size) in memory: the
    only ones of a private anonymous mapping that may hold anything but zeros, when no
    swap is in use (a swapped-out page is not resident); None when that is not known."""
    if _MINCORE is None:
        return None
    vec = ctypes.create_string_buffer(size // PAGE)
    if _MINCORE(address, size, vec) != 0:
        return None
    return [(m.start() * PAGE, (m.end() - m.start()) * PAGE)
            for m in _RESIDENT.finditer(vec.raw)]


class Cpu:
    """One Unicorn instance with its hooks and its library region; `owner` receives the
    hooks while a run holds it.

    The library region [lib_base, lib_base + lib_size) stays mapped for the CPU's life (its
    bytes never change): all but its last page is the hooked trampoline range, filled with
    `ret`, which ends a translated block at once (zero bytes would make every library
    entry a block of hundreds of hooked `add [rax], al`, and translating those was most of
    a small run's time).  The hook runs the library function before the `ret` executes;
    one that returns normally only sets the return registers, and the `ret` itself pops
    the caller's return address: a hook that writes pc costs Unicorn an exit from the
    translated code and a new lookup (about 2 us of a library call's cost; `hlt`, the
    fill before, needed one on every call).  The last page holds the counting sink (see machine.py) and,
    after it, the library functions that run as guest code (guest_code.py: qsort)."""

    def __init__(self, mode: int, lib_base: int, lib_size: int) -> None:
        self.mode = mode
        self.lib_base = lib_base
        self.lib_end = lib_base + lib_size
        self.sink = self.lib_end - PAGE
        self.uc = Uc(UC_ARCH_X86, mode)
        self.uc.ctl_set_tcg_buffer_size(TCG_BUFFER)  # type: ignore[attr-defined]
        fast_accessors(self.uc)
        # Weak: a Machine dropped without closing must stay collectable (its finalizer
        # then returns this CPU to the pool).
        self._owner: weakref.ref[CpuOwner] | None = None
        self.lease = 0  # counts acquisitions: a release names the lease it ends
        self._kept: dict[tuple[int, int], _Region] = {}  # (addr, size) -> its memory
        self._unclaimed: set[tuple[int, int]] = set()
        # the kept regions by address, for host_read/host_write: (start, end, memory)
        self._spans: list[tuple[int, int, mmap.mmap]] = []
        self._span_starts: list[int] = []
        self._code_translated: tuple[tuple[int, int, int], ...] | None = None
        # where blocks may have been translated since the cache was last emptied: every
        # range that was executable at some time of a run (start() drops those blocks)
        self._translated_ranges: set[tuple[int, int]] = set()
        # the executable code at the last start, and the last code the translation guard
        # passed or refused with its answer
        self._code_at_start: tuple[tuple[int, int, int], ...] = ()
        self._code_checked: tuple[tuple[tuple[int, int, int], ...] | None, int | None] = (
            None, None)
        self._counting = False
        self._ran = False
        # the floating-point state Linux starts a process with (and Darwin's is the same):
        # x87 at 64-bit precision, round to nearest, exceptions masked; MXCSR likewise.
        # Unicorn starts both at 0, which is single precision: i386 code doing its double
        # arithmetic on the x87 got float-rounded results (held-out Lua's 1/3)
        self.uc.reg_write(x.UC_X86_REG_FPCW, X87_CONTROL_AT_EXEC)
        self.uc.reg_write(x.UC_X86_REG_MXCSR, MXCSR_AT_EXEC)
        self._initial = self.uc.context_save()
        self.uc.mem_map(lib_base, lib_size, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(lib_base, bytes([TRAMPOLINE_FILL]) * (self.sink - lib_base))
        self.uc.mem_write(self.sink, SINK_CODE)
        code, entry = GUEST_QSORT[64 if mode == UC_MODE_64 else 32]
        self.uc.mem_write(self.sink + GUEST_CODE_OFFSET, code)
        self.guest_qsort = self.sink + GUEST_CODE_OFFSET + entry
        self.uc.hook_add(UC_HOOK_CODE, self._on_code, begin=lib_base, end=self.sink - 1)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_bad_access)
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        if mode == UC_MODE_64:  # `syscall`; i386 programs use int 0x80 (the interrupt hook)
            self.uc.hook_add(UC_HOOK_INSN, self._on_syscall, None, 1, 0, x.UC_X86_INS_SYSCALL)

    def reset(self) -> None:
        """Back to the state of a new instance as a run sees it: initial registers and
        nothing mapped but the library region and the kept regions, zeroed, which the
        next run either claims by mapping them again or loses when it starts.  Translated
        code is kept, with a note of the code it came from (see start)."""
        regions = {(begin, end - begin + 1): prot for begin, end, prot in self.uc.mem_regions()}
        if self._ran:  # else the translations are still those of the last run that ran
            self._code_translated = self._code(regions)
            self._translated_ranges.update(key for key, prot in regions.items()
                                           if prot & UC_PROT_EXEC and key[0] != self.lib_base)
            self._ran = False
        for (begin, size), prot in regions.items():
            region = self._kept.get((begin, size))
            if region is not None:
                region.prot = prot
            elif begin != self.lib_base:  # a piece of a kept region the run split
                self.uc.mem_unmap(begin, size)
        for key in list(self._kept):
            if key in regions:
                self._kept[key].zero()
            else:  # split by the run: its pieces are unmapped above
                self._kept.pop(key).host.close()
        self._index_spans()
        self._unclaimed = set(self._kept)
        self.uc.context_restore(self._initial)

    def map(self, addr: int, size: int, prot: int) -> None:
        """mem_map for a run.  Mapping and unmapping cost Unicorn 20-60 us a region (an
        unmap flushes the TLB page by page: 130 us for an 8 MiB stack), against a
        handful of microseconds for the whole small run's guest code; so every region
        is mapped over host memory of our own and kept across runs, and a run mapping
        the same address and size as the last gets it back zeroed (reprotected if need
        be) for free: the stack, the libraries' data, TLS, the heap, and the executable's
        pages when consecutive programs are laid out alike."""
        key = (addr, size)
        if prot & UC_PROT_EXEC:
            self._translated_ranges.add(key)
        region = self._kept.get(key)
        if key in self._unclaimed and region is not None:
            self._unclaimed.discard(key)
            if region.prot != prot:
                self.uc.mem_protect(addr, size, prot)  # (exec noted above)
                region.prot = prot
            return
        for other in [k for k in self._unclaimed if k[0] < addr + size and addr < k[0] + k[1]]:
            self._drop(other)
        region = _Region(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE), prot)
        try:
            self.uc.mem_map_ptr(addr, size, prot, region.address)
        except Exception:
            region.host.close()
            raise
        self._kept[key] = region
        self._index_spans()

    def start(self, counting: bool) -> None:
        """A run begins on this CPU: drop the translated code unless it was translated
        from exactly the code the run has mapped now, the same way (translation is most of
        what a small run's guest code costs, and the benchmark and a corpus replay run the
        same executable again and again).  Unicorn does not drop a block when the bytes it
        came from change by mem_write, so this is what keeps a block translated for one
        program from running in the next.  The code is compared with what was mapped when
        the last run ended, so code the last run changed (and retranslated) counts."""
        regions = {(begin, end - begin + 1): prot for begin, end, prot in self.uc.mem_regions()}
        code = self._code(regions)
        self._code_at_start = code
        if counting != self._counting:  # blocks are translated with or without counting
            self.uc.ctl_flush_tb()  # type: ignore[attr-defined]
            self._translated_ranges.clear()
        elif code != self._code_translated:
            self._drop_translations(self._translated_ranges)
        else:
            # The same code as translated, but a range that was executable for a while
            # (mprotect) and is not now may hold bytes of another program by the time
            # this one makes it executable: its blocks go.
            executable = {(begin, size) for begin, size, _ in code}
            self._drop_translations({r for r in self._translated_ranges
                                     if r not in executable})
        self._counting = counting
        self._ran = True

    def protect(self, addr: int, size: int, prot: int) -> None:
        """mem_protect for a run (the guest's mprotect, RELRO sealing): an executable range
        is noted, as blocks may be translated from it (see start)."""
        self.uc.mem_protect(addr, size, prot)
        if prot & UC_PROT_EXEC:
            self._translated_ranges.add((addr, size))

    def _drop_translations(self, ranges: set[tuple[int, int]]) -> None:
        """Forget the blocks translated from `ranges` (of _translated_ranges: where code
        was executable since its blocks were last dropped), as Unicorn drops no block when
        the bytes under it change.  The library region's blocks stay (its bytes never
        change); blocks of memory unmapped since were dropped by the unmap."""
        if not ranges:
            return
        if sum(size for _, size in ranges) > INVALIDATE_IN_RANGES:
            self.uc.ctl_flush_tb()  # type: ignore[attr-defined]
            self._translated_ranges.clear()
            return
        for begin, size in ranges:
            self.uc.ctl_remove_cache(begin, begin + size)
        self._translated_ranges -= ranges

    def untranslatable(self, deadline: float = math.inf, at_start: bool = False) -> int | None:
        """An address in the executable memory (the library region's aside) from which one
        translated block would crash Unicorn (translation_guard), or None.  Adjacent
        executable regions are taken together: a block may run from one into the next.
        `at_start`: right after start(), whose note of the code answers again for a run of
        the same code as the last one checked."""
        if at_start and self._code_at_start == self._code_checked[0]:
            return self._code_checked[1]
        found = self._untranslatable(deadline)
        if at_start:
            self._code_checked = (self._code_at_start, found)
        return found

    def _untranslatable(self, deadline: float) -> int | None:
        spans: list[tuple[int, list[bytes]]] = []
        end = -1
        for begin, last, prot in sorted(self.uc.mem_regions()):
            if not prot & UC_PROT_EXEC or begin == self.lib_base:
                continue
            if time.monotonic() > deadline:  # copying a library's 70 MB of code is a second
                raise translation_guard.GuardTimeout
            size = last - begin + 1
            data = self.host_read(begin, size) or bytes(self.uc.mem_read(begin, size))
            if begin == end and spans:
                spans[-1][1].append(data)
            else:
                spans.append((begin, [data]))
            end = last + 1
        bits = 64 if self.mode == UC_MODE_64 else 32
        for begin, pieces in spans:
            offset = translation_guard.first_unsafe(b"".join(pieces), bits, deadline)
            if offset is not None:
                return begin + offset
        return None

    def _code(self, regions: dict[tuple[int, int], int]) -> tuple[tuple[int, int, int], ...]:
        """The executable regions but the library's, with a hash of their bytes."""
        return tuple((begin, size, hash(self.host_read(begin, size)
                                        or bytes(self.uc.mem_read(begin, size))))
                     for (begin, size), prot in sorted(regions.items())
                     if prot & UC_PROT_EXEC and begin != self.lib_base)

    def claimable(self, addr: int, size: int) -> bool:
        """Whether mapping (addr, size) now would claim a kept region: free, unlike a
        fresh map later (the heap, mapped on first touch, claims last run's this way)."""
        return (addr, size) in self._unclaimed

    def drop_unclaimed(self) -> None:
        """Unmap the kept regions this run did not map: its address space is its own."""
        for key in list(self._unclaimed):
            self._drop(key)

    def discard(self) -> None:
        """Give back this CPU's memory now, as it leaves the pool for good: the kept
        regions (an 8 MiB stack, the libraries' data, the heap) are unmapped and their host
        memory closed.  The Unicorn instance itself goes with the last reference to it
        (a Machine may still hold one, so it is not closed here)."""
        for key in list(self._kept):
            self._unclaimed.discard(key)
            try:
                self.uc.mem_unmap(*key)
            except UcError:  # split by a run into pieces: unmap what is still there
                for begin, end, _ in self.uc.mem_regions():
                    if key[0] <= begin < key[0] + key[1]:
                        self.uc.mem_unmap(begin, end - begin + 1)
            self._kept.pop(key).host.close()
        self._index_spans()

    def _drop(self, key: tuple[int, int]) -> None:
        self._unclaimed.discard(key)
        self.uc.mem_unmap(*key)
        self._kept.pop(key).host.close()
        self._index_spans()

    # -- guest memory through the host's view of it --
    #
    # Every kept region is Unicorn memory mapped over an mmap of ours, and Unicorn maps
    # exactly the library region and the kept regions (a run's mem_protect may split a
    # region in Unicorn's table, but each piece stays mapped over the same host memory
    # until reset unmaps the pieces and forgets the region).  So an access wholly inside
    # one kept region reads or writes the same bytes uc_mem_read/uc_mem_write would, as
    # they do regardless of protection, and without a ctypes call (about 1-2 us each, some
    # 50 a run).  Unicorn drops no translated block on either kind of write (start() keys
    # the translations on the code's bytes).  Anything else (the library region, an access
    # across regions, unmapped memory) goes to Unicorn, which says what is wrong with it.

    def _index_spans(self) -> None:
        self._spans = sorted((a, a + size, region.host)
                             for (a, size), region in self._kept.items())
        self._span_starts = [a for a, _, _ in self._spans]

    def host_read(self, addr: int, size: int) -> bytes | None:
        """The `size` bytes at `addr`, if they lie in one kept region (else None)."""
        i = bisect.bisect_right(self._span_starts, addr) - 1
        if i < 0:
            return None
        start, end, host = self._spans[i]
        if addr + size > end:
            return None
        return host[addr - start:addr - start + size]

    def host_write(self, addr: int, data: bytes) -> bool:
        """Write `data` at `addr` if it lies in one kept region; False if not (unwritten)."""
        i = bisect.bisect_right(self._span_starts, addr) - 1
        if i < 0:
            return False
        start, end, host = self._spans[i]
        if addr + len(data) > end:
            return False
        host[addr - start:addr - start + len(data)] = data
        return True

    @property
    def owner(self) -> CpuOwner | None:
        return self._owner() if self._owner is not None else None

    @owner.setter
    def owner(self, owner: CpuOwner | None) -> None:
        self._owner = weakref.ref(owner) if owner is not None else None

    # The hooks never raise into Unicorn: the owner records why it stopped the CPU.

    def _on_code(self, uc: Uc, address: int, size: int, _: Any) -> None:
        owner = self.owner
        if owner is not None:
            owner.on_library_code(uc, address)

    def _on_bad_access(self, uc: Uc, access: int, address: int, size: int, value: int,
                       _: Any) -> bool:
        owner = self.owner
        return owner.on_bad_access(uc, access, address) if owner is not None else False

    def _on_interrupt(self, uc: Uc, intno: int, _: Any) -> None:
        owner = self.owner
        if owner is not None:
            owner.on_interrupt(uc, intno)

    def _on_syscall(self, uc: Uc, _: Any) -> None:
        owner = self.owner
        if owner is not None:
            owner.on_syscall(uc)


_IDLE: dict[tuple[int, int, int], list[Cpu]] = {}  # (mode, lib_base, lib_size) -> idle
_LIVE: weakref.WeakSet[Cpu] = weakref.WeakSet()  # every CPU of this process not yet freed
_POOL_PID = os.getpid()
# Past this many CPUs of a kind alive at once (a sequential process needs one; a run inside
# a run two), a new one is made only after a collection: a Machine dropped without closing
# holds its CPU until the cycle collector frees it, and each CPU holds some 30 MB of address
# space (its translation buffer, stack, libraries' data).  Without this, a campaign worker
# meeting a run of such machines filled its 3 GiB address space (tens of CPUs waiting for
# a collection that the small Python objects of a run do not trigger soon enough).
LIVE_BEFORE_COLLECT = 3


def acquire(mode: int, lib_base: int, lib_size: int, owner: CpuOwner) -> Cpu:
    """A reset CPU for `owner`: an idle one of this process if there is one, else a new one
    (a run inside a run, or threads, get their own)."""
    global _POOL_PID
    if os.getpid() != _POOL_PID:  # a forked child must not share its parent's instances
        _IDLE.clear()
        _POOL_PID = os.getpid()
    idle = _IDLE.setdefault((mode, lib_base, lib_size), [])
    if not idle and sum(c.mode == mode and c.lib_base == lib_base
                        for c in list(_LIVE)) >= LIVE_BEFORE_COLLECT:
        gc.collect()  # machines dropped unclosed give their CPUs back (release)
    try:
        cpu = idle.pop()
    except IndexError:
        cpu = Cpu(mode, lib_base, lib_size)
        _LIVE.add(cpu)
    cpu.owner = owner
    cpu.lease += 1
    return cpu


def release(cpu: Cpu, lease: int) -> None:
    """End `lease` of `cpu` (if it is still the current one): back to the pool, reset so
    that the next run starts clean and this run's memory is freed now, not when the next
    run begins."""
    if cpu.lease != lease or cpu._owner is None:  # a dead owner still holds its lease
        return
    cpu.owner = None
    cpu.reset()
    idle = _IDLE.setdefault((cpu.mode, cpu.lib_base, cpu.lib_end - cpu.lib_base), [])
    if not idle:  # one idle CPU per kind is all a sequential process needs
        idle.append(cpu)
    else:
        cpu.discard()
