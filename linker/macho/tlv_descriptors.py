"""Thread-local variable descriptors in a Mach-O image: the MH_HAS_TLV_DESCRIPTORS test and
the rewrite of each `__thread_vars` descriptor's third word (split out of link.py)."""

from __future__ import annotations

from ..errors import LinkError
from ..layout import Layout, OutputSection
from . import sections as policy

MH_HAS_TLV_DESCRIPTORS = 0x800000
TLV_DESCRIPTOR = 24  # thunk, key, offset


def has_tlv(outs: list[OutputSection]) -> bool:
    return any(o.name == "__DATA,__thread_vars" and o.size for o in outs)


def tlv_descriptor_offsets(image: bytearray, outs: list[OutputSection],
                            layout: Layout) -> set[int]:
    """Each __thread_vars descriptor is {thunk, key, offset}: the compiler's absolute
    pointer to the variable's initial value (`_v$tlv$init`) becomes its offset in the
    thread-local template (__thread_data then __thread_bss), as ld64 writes it, and is
    not rebased.  Returns the addresses of the rewritten words."""
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    descriptors = [o for o in outs if o.name == "__DATA,__thread_vars" and o.size]
    if not descriptors:
        return set()
    if not template:
        raise LinkError("__thread_vars descriptors without __thread_data or __thread_bss")
    start = min(o.addr for o in template)
    rewritten = set()
    for out in descriptors:
        for k in range(out.size // TLV_DESCRIPTOR):
            addr = out.addr + TLV_DESCRIPTOR * k + 16
            at = out.file_offset + TLV_DESCRIPTOR * k + 16
            value = int.from_bytes(image[at:at + 8], "little")
            if not start <= value <= max(o.addr + o.size for o in template):
                raise LinkError(f"thread-local descriptor at {addr - 16:#x}: its initial value "
                                f"{value:#x} is not in __thread_data or __thread_bss")
            image[at:at + 8] = (value - start).to_bytes(8, "little")
            rewritten.add(addr)
    return rewritten
