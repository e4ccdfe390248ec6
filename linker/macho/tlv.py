"""Thread-local variables in a Mach-O image: the MH_HAS_TLV_DESCRIPTORS flag, and the
__thread_vars descriptors' third word.

A descriptor is three words {thunk, key, offset} (24 bytes on x86-64, 12 on i386).  The
compiler writes the offset as an absolute pointer to the variable's initial value
(`_v$tlv$init`, in __thread_data or __thread_bss); the linker turns it into the value's
offset in the thread-local template (__thread_data, then __thread_bss right after it: one
range, sections.ZEROFILL_ORDER) and does not rebase it, as ld64 writes it.  The thunk is
bound to libSystem's `__tlv_bootstrap` like any import; dyld sets the key and repoints the
thunk at `tlv_get_addr`, and only for an image flagged MH_HAS_TLV_DESCRIPTORS.
"""

from __future__ import annotations

from ..errors import LinkError
from ..layout import OutputSection
from . import sections as policy

MH_HAS_TLV_DESCRIPTORS = 0x800000
DESCRIPTORS = "__DATA,__thread_vars"


def header_flag(outs: list[OutputSection]) -> int:
    """MH_HAS_TLV_DESCRIPTORS when the image has descriptors, else 0."""
    return MH_HAS_TLV_DESCRIPTORS if any(o.name == DESCRIPTORS and o.size for o in outs) else 0


def template_start(outs: list[OutputSection]) -> int | None:
    """Where the thread-local template begins (None: the image has none)."""
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    return min((o.addr for o in template), default=None)


def descriptor_offsets(image: bytearray, outs: list[OutputSection], word: int = 8) -> set[int]:
    """Rewrite each descriptor's third word as the offset of its variable in the template;
    returns the addresses of the rewritten words (which are then not rebased)."""
    descriptors = [o for o in outs if o.name == DESCRIPTORS and o.size]
    if not descriptors:
        return set()
    size = 3 * word
    for out in descriptors:
        if out.size % size:
            raise LinkError(f"__thread_vars is {out.size:#x} bytes, not a whole number of "
                            f"{size}-byte descriptors", section=out.name)
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    start = template_start(outs)
    if start is None:
        raise LinkError("__thread_vars descriptors without __thread_data or __thread_bss")
    end = max(o.addr + o.size for o in template)
    rewritten = set()
    for out in descriptors:
        for k in range(out.size // size):
            addr = out.addr + size * k + 2 * word
            at = out.file_offset + size * k + 2 * word
            value = int.from_bytes(image[at:at + word], "little")
            if not start <= value <= end:
                raise LinkError(f"thread-local descriptor at {addr - 2 * word:#x}: its initial "
                                f"value {value:#x} is not in __thread_data or __thread_bss")
            image[at:at + word] = (value - start).to_bytes(word, "little")
            rewritten.add(addr)
    return rewritten
