"""What xnu and libSystem give every macOS process before its first instruction, beyond
the stack: the main thread's thread-specific data (TSD) area at the gs base, and the
commpage at its fixed address.

TSD (libpthread's `struct _pthread`, tsd[] array; the gs base points at tsd[0]): slot 0
is the thread's self pointer (pthread_self), slot 1 errno's address (what `__error()`
returns), slot 3 the thread's Mach port; libSystem reserves the first 256 slots and
pthread_key_create hands out the next 512 (dyld's TLV key among them), so the area is
768 words.  x86-64 sets the gs base directly; i386 has a GDT whose gs descriptor has
that base (as xnu's user LDT entry does).

The commpage (osfmk/i386/cpu_capabilities.h, version 13): signature, capability bits,
CPU counts, cache line size, memory size, CPU family and the nanotime parameters
(mach_absolute_time reads them; NT_GENERATION must be non-zero or the reader spins
forever).  GTOD_GENERATION is 0, so gettimeofday takes its system call.  Only the data
page is mapped: the text page after it (preemption-free zone routines) is not emulated,
and an access to it is reported as such by `explain_access`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from unicorn import UC_PROT_READ, UC_PROT_WRITE
from unicorn import x86_const as x

from oracle.emulate.machine import Machine
from oracle.emulate.process import Process
from oracle.emulate.thread import descriptor

TSD_SLOTS = 768  # _INTERNAL_POSIX_THREAD_KEYS_MAX (256) + _EXTERNAL_POSIX_THREAD_KEYS_MAX (512)
TSD_SELF, TSD_ERRNO, TSD_MACH_THREAD_SELF = 0, 1, 3
TSD_FIRST_KEY = 256  # pthread_key_create's first key (dyld's TLV keys are among these)
TLV_IMAGE_KEYS = 16  # the first keys: one per image with thread-local variables
THREAD_AREA = 0x2000  # the pthread struct, tsd[] ending the area (a slot past it faults)
GDT_OFFSET = 0x400  # i386: the GDT, among the struct _pthread fields before tsd[]
MACH_THREAD_PORT = 0x103  # a plausible port name; no Mach call is emulated

COMMPAGE = {8: 0x7FFFFFE00000, 4: 0xFFFF0000}  # _COMM_PAGE64/32_BASE_ADDRESS
COMMPAGE_SIZE = 0x1000  # the data page; the text page at +0x1000 is not mapped
COMMPAGE_VERSION = 13
K_HAS_MMX, K_HAS_SSE, K_HAS_SSE2, K_HAS_SSE3 = 0x1, 0x2, 0x4, 0x8
K_CACHE64, K_64BIT, K_UP, K_NUM_CPUS_SHIFT = 0x20, 0x200, 0x8000, 16
CPUFAMILY_INTEL_SKYLAKE = 0x37FC219F
MEMORY_SIZE = 1 << 30
# commpage field offsets
SIGNATURE, CAPS64, VERSION, CAPS, NCPUS, CACHE_LINE = 0x00, 0x10, 0x1E, 0x20, 0x22, 0x26
SPIN_COUNT, ACTIVE_CPUS, PHYSICAL_CPUS, LOGICAL_CPUS, MEMSIZE = 0x30, 0x34, 0x35, 0x36, 0x38
CPUFAMILY, NT_TSC_BASE, NT_SCALE, NT_SHIFT, NT_NS_BASE, NT_GENERATION = (
    0x40, 0x50, 0x58, 0x5C, 0x60, 0x68)
GTOD_GENERATION, APPROX_TIME_SUPPORTED, DYLD_SYSTEM_FLAGS = 0x6C, 0x88, 0x100
COMMPAGE_FIELDS = {  # offset -> name, for reports
    SIGNATURE: "signature", CAPS64: "cpu capabilities (64)", VERSION: "version",
    CAPS: "cpu capabilities", NCPUS: "ncpus", CACHE_LINE: "cache line size",
    SPIN_COUNT: "spin count", ACTIVE_CPUS: "active cpus", PHYSICAL_CPUS: "physical cpus",
    LOGICAL_CPUS: "logical cpus", MEMSIZE: "memory size", CPUFAMILY: "cpu family",
    NT_TSC_BASE: "nanotime tsc base", NT_SCALE: "nanotime scale", NT_SHIFT: "nanotime shift",
    NT_NS_BASE: "nanotime ns base", NT_GENERATION: "nanotime generation",
    GTOD_GENERATION: "gettimeofday generation", 0x70: "gettimeofday ns base",
    0x78: "gettimeofday sec base", 0x80: "approximate time",
    APPROX_TIME_SUPPORTED: "approximate time supported", 0xC0: "continuous timebase",
    0xC8: "boot time", 0xD0: "new timeofday data", DYLD_SYSTEM_FLAGS: "dyld system flags",
}


@dataclass(frozen=True)
class DarwinProcessAreas:
    thread: int  # the struct _pthread (pthread_self)
    tsd: int  # the gs base: tsd[0]
    commpage: int
    word: int

    def tsd_slot(self, index: int) -> int:
        return self.tsd + index * self.word


def commpage_bytes(word: int) -> bytes:
    page = bytearray(COMMPAGE_SIZE)
    caps = (K_HAS_MMX | K_HAS_SSE | K_HAS_SSE2 | K_HAS_SSE3 | K_CACHE64 | K_UP
            | (K_64BIT if word == 8 else 0) | (1 << K_NUM_CPUS_SHIFT))
    page[SIGNATURE:SIGNATURE + 16] = (b"commpage 64-bit" if word == 8 else b"commpage 32-bit") + b"\0"
    struct.pack_into("<Q", page, CAPS64, caps)
    struct.pack_into("<H", page, VERSION, COMMPAGE_VERSION)
    struct.pack_into("<I", page, CAPS, caps)
    page[NCPUS] = page[ACTIVE_CPUS] = page[PHYSICAL_CPUS] = page[LOGICAL_CPUS] = 1
    struct.pack_into("<H", page, CACHE_LINE, 64)
    struct.pack_into("<I", page, SPIN_COUNT, 1000)
    struct.pack_into("<Q", page, MEMSIZE, MEMORY_SIZE)
    struct.pack_into("<I", page, CPUFAMILY, CPUFAMILY_INTEL_SKYLAKE)
    # nanotime: ns = ns_base + ((tsc - tsc_base) * scale >> 32) << shift; about one ns a tick
    struct.pack_into("<QII QI", page, NT_TSC_BASE, 0, 0xFFFFFFFF, 0, 0, 1)
    struct.pack_into("<I", page, GTOD_GENERATION, 0)  # 0: gettimeofday makes its syscall
    return bytes(page)


def set_up(machine: Machine, process: Process, base: int) -> DarwinProcessAreas:
    """Map the thread area at `base` and the commpage; point gs at tsd[0]."""
    word = machine.abi.word
    mem = machine.mem
    mem.map(base, THREAD_AREA, UC_PROT_READ | UC_PROT_WRITE)
    areas = DarwinProcessAreas(base, base + THREAD_AREA - TSD_SLOTS * word, COMMPAGE[word],
                               word)
    errno = process.object(("errno",), bytes(4)).address  # the one __error() returns
    for slot, value in ((TSD_SELF, areas.thread), (TSD_ERRNO, errno),
                        (TSD_MACH_THREAD_SELF, MACH_THREAD_PORT)):
        mem.write(areas.tsd_slot(slot), machine.abi.pack(value))
    mem.map(areas.commpage, COMMPAGE_SIZE, UC_PROT_READ)
    mem.write_initial(areas.commpage, commpage_bytes(word))
    if word == 8:
        machine.uc.reg_write(x.UC_X86_REG_GS_BASE, areas.tsd)
    else:
        gdt_at = base + GDT_OFFSET
        gdt = (bytes(8) + descriptor(0, 0x9A) + descriptor(0, 0x92)
               + descriptor(areas.tsd, 0x92))
        mem.write(gdt_at, gdt)
        machine.uc.reg_write(x.UC_X86_REG_GDTR, (0, gdt_at, len(gdt) - 1, 0))
        for reg, index in ((x.UC_X86_REG_CS, 1), (x.UC_X86_REG_SS, 2), (x.UC_X86_REG_DS, 2),
                           (x.UC_X86_REG_ES, 2), (x.UC_X86_REG_GS, 3)):
            machine.uc.reg_write(reg, index << 3)
    return areas



def explainer(areas: DarwinProcessAreas, pagezero_end: int,
              nearest: Callable[[int], str | None]) -> Callable[[int], str | None]:
    """What the emulated process lacks at a faulting address: the commpage's text page, a
    commpage field past those written, a TSD slot past the area, the null page; else the
    nearest symbol and the fact that nothing is emulated there."""

    def explain(addr: int) -> str | None:
        if areas.commpage <= addr < areas.commpage + 2 * COMMPAGE_SIZE:
            offset = addr - areas.commpage
            if offset >= COMMPAGE_SIZE:
                return (f"commpage text page +{offset - COMMPAGE_SIZE:#x} (preemption-free "
                        "zone routines) is not emulated")
            return f"commpage +{offset:#x}: not emulated"
        end = areas.tsd + TSD_SLOTS * areas.word
        if end <= addr < end + THREAD_AREA:
            return (f"gs:{addr - areas.tsd:#x} is past the {TSD_SLOTS} thread-specific data "
                    "slots emulated")
        if addr < max(pagezero_end, 0x1000):
            return "in __PAGEZERO (a null pointer?)"
        near = nearest(addr)
        what = "no segment, stack, heap, thread area or commpage is emulated there"
        return f"{what} (nearest symbol {near})" if near else what

    return explain
