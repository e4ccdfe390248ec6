"""Where things go in the guest address space, per architecture: the load base of
position-independent executables (moved by a seeded random number of pages per run, as
ASLR moves it, so that a pointer left unrebased points nowhere), the emulated libraries' code and data, the heap,
the thread pointer block and the stack.  Chosen like Linux's defaults so that addresses
in traces and faults look familiar, and far from where non-PIE executables load.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class AddressLayout:
    pie_base: int
    libraries: int  # real shared libraries are mapped from here up
    lib_code: int
    lib_code_size: int
    lib_data: int
    lib_data_size: int
    tls: int
    heap: int
    stack_top: int
    stack_size: int


LAYOUT_64 = AddressLayout(
    pie_base=0x555555554000,
    libraries=0x7F1000000000,
    lib_code=0x7F0000000000,
    lib_code_size=0x40000,
    lib_data=0x7F0000100000,
    lib_data_size=0x100000,
    tls=0x7F0000300000,
    heap=0x7E0000000000,
    stack_top=0x7FFFFFFFF000,
    stack_size=8 << 20,
)

LAYOUT_32 = AddressLayout(
    pie_base=0x56555000,
    libraries=0xE8000000,
    lib_code=0xF7000000,
    lib_code_size=0x40000,
    lib_data=0xF7100000,
    lib_data_size=0x100000,
    tls=0xF7300000,
    heap=0xD0000000,
    stack_top=0xFF000000,
    stack_size=8 << 20,
)


PAGE = 0x1000
# How far each base may move, in pages, as Linux's ASLR moves them (mmap_rnd_bits is 28 on
# x86-64 and 8 on i386; the i386 figures here are wider, to make a missed rebase likelier
# to show, and narrower for libraries, which share a 240 MiB window).
_PIE_SPREAD = {8: 1 << 28, 4: 1 << 16}
_LIBRARY_SPREAD = {8: 1 << 24, 4: 1 << 10}
LIBRARY_STRIDE = {8: 1 << 30, 4: 1 << 24}  # between successive libraries' slots
_LIBRARY_JITTER = {8: 1 << 17, 4: 1 << 8}  # pages a library moves inside its slot


@dataclass(frozen=True)
class Bases:
    """Where this run loads a position-independent executable and each real shared
    library: drawn from a seed, so that a run is reproducible and two runs differ."""

    seed: int
    pie: int
    libraries: int
    word: int

    def library(self, n: int) -> int:
        """The base of the n-th real shared library loaded (0 first)."""
        jitter = random.Random(self.seed * 1000003 + n).randrange(_LIBRARY_JITTER[self.word])
        return self.libraries + n * LIBRARY_STRIDE[self.word] + jitter * PAGE


@functools.lru_cache(maxsize=64)
def draw_bases(layout: AddressLayout, word: int, seed: int) -> Bases:
    """Cached: seeding the generator is most of the cost, and a fuzz example runs its
    program twice (lazy, now) with one seed."""
    rng = random.Random(seed)
    return Bases(seed, layout.pie_base + rng.randrange(_PIE_SPREAD[word]) * PAGE,
                 layout.libraries + rng.randrange(_LIBRARY_SPREAD[word]) * PAGE, word)


MAX_BASE_ALIGN = 1 << 20  # a larger p_align (hostile input) is honoured only up to this


def aligned_base(base: int, aligns: list[int]) -> int:
    """`base` rounded up to the largest PT_LOAD p_align (as Linux's loader for an ET_DYN
    executable and glibc's for a library do), so that data aligned past a page keeps its
    alignment wherever the image lands."""
    align = min(max([PAGE, *(a for a in aligns if a and a & (a - 1) == 0)]), MAX_BASE_ALIGN)
    return (base + align - 1) // align * align
