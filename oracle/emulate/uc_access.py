"""Faster Unicorn accessors for the emulator's hot paths: the Python binding's reg_read,
reg_write, mem_read and mem_regions allocate and dispatch on every call, and a small run
makes hundreds of them.  `fast_accessors` replaces them on one Uc with direct ctypes calls
for the common cases and leaves the binding's path for the rest.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from unicorn import Uc, UcError
from unicorn import x86_const as x
from unicorn.unicorn_const import UC_ERR_OK
from unicorn.unicorn_py3.arch.intel import UcIntel
from unicorn.unicorn_py3.unicorn import uc_mem_region, uclib

SCRATCH = 4096  # reads up to this size use the CPU's reused buffer
_REGION = struct.Struct("<QQI4x")  # uc_mem_region: begin, end (inclusive), perms, padding
assert _REGION.size == ctypes.sizeof(uc_mem_region)


def fast_accessors(uc: Uc) -> None:
    """Give `uc` a reg_read/reg_write for integer registers that costs a ctypes call
    (0.5 us) instead of the binding's 5 us, which picks the register's ctypes class from
    a table and allocates a buffer each time; a small run makes some 80 such accesses.
    Other registers (x87, xmm, descriptor tables, MSRs) keep the binding's path.  Small
    mem_reads go through one reused buffer (the binding allocates one per read), and
    mem_regions returns a list decoded in one unpack (a run asks for it three times or so)."""
    special: set[int] = set()
    for name in dir(UcIntel):
        if name.startswith("REG_RANGE_"):
            special.update(getattr(UcIntel, name))
    integer = frozenset(set(range(1, x.UC_X86_REG_ENDING)) - special)
    native, handle = uclib, uc._uch  # the binding's own handle
    buffer = ctypes.c_uint64()
    ref = ctypes.byref(buffer)
    slow_read, slow_write = uc.reg_read, uc.reg_write

    def reg_read(reg_id: int, aux: Any = None) -> Any:
        if reg_id not in integer or aux is not None:
            return slow_read(reg_id, aux)
        buffer.value = 0  # a 32- or 16-bit register fills only the low bytes
        status = native.uc_reg_read(handle, reg_id, ref)
        if status != UC_ERR_OK:
            raise UcError(status)
        return buffer.value

    def reg_write(reg_id: int, value: Any) -> None:
        if reg_id not in integer or not isinstance(value, int):
            slow_write(reg_id, value)
            return
        buffer.value = value & 0xFFFFFFFFFFFFFFFF
        status = native.uc_reg_write(handle, reg_id, ref)
        if status != UC_ERR_OK:
            raise UcError(status)

    scratch = ctypes.create_string_buffer(SCRATCH)
    scratch_at = ctypes.addressof(scratch)
    slow_mem_read = uc.mem_read

    def mem_read(address: int, size: int) -> bytearray:
        if not 0 < size <= SCRATCH:
            return slow_mem_read(address, size)
        status = native.uc_mem_read(handle, address, scratch, size)
        if status != UC_ERR_OK:
            raise UcError(status)
        return bytearray(ctypes.string_at(scratch_at, size))

    regions_ptr = ctypes.POINTER(uc_mem_region)()
    count = ctypes.c_uint32()
    regions_ref, count_ref = ctypes.byref(regions_ptr), ctypes.byref(count)

    def mem_regions() -> list[tuple[int, int, int]]:
        # The binding builds each region's tuple field by field with getattr (about 1 us
        # a field); one copy of the C array and a struct unpack is a few us in all.
        status = native.uc_mem_regions(handle, regions_ref, count_ref)
        if status != UC_ERR_OK:
            raise UcError(status)
        try:
            raw = ctypes.string_at(regions_ptr, count.value * _REGION.size)
        finally:
            native.uc_free(regions_ptr)
        return list(_REGION.iter_unpack(raw))

    uc.reg_read = reg_read  # type: ignore[method-assign]
    uc.reg_write = reg_write  # type: ignore[method-assign]
    uc.mem_read = mem_read  # type: ignore[method-assign]
    uc.mem_regions = mem_regions  # type: ignore[method-assign]
