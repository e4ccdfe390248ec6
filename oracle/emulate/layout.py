"""Where things go in the guest address space, per architecture: the load base of
position-independent executables, the emulated libraries' code and data, the heap,
the thread pointer block and the stack.  Chosen like Linux's defaults so that addresses
in traces and faults look familiar, and far from where non-PIE executables load.
"""

from __future__ import annotations

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
