"""Thread-local variables as dyld runs them (dyld's threadLocalVariables.c, in behaviour):
each S_THREAD_LOCAL_VARIABLES section holds descriptors {thunk, key, offset} of three
words (24 bytes on x86-64, 12 on i386); the linker binds every thunk to libSystem's
`__tlv_bootstrap`, and dyld, before any code runs and only for an image whose header has
MH_HAS_TLV_DESCRIPTORS, points each thunk at `tlv_get_addr` and sets the key to one
pthread key for the image.  The code calls `(*desc->thunk)(desc)` with the descriptor in
rdi (x86-64) or eax (i386: tlv_get_addr's own convention, which preserves every register
but eax); tlv_get_addr returns in rax / eax the calling thread's copy of the variable: on
a thread's first call the block is allocated, the template's initial image (the
S_THREAD_LOCAL_REGULAR bytes) copied in and the rest (S_THREAD_LOCAL_ZEROFILL) zeroed, and
its address kept in the thread's TSD slot for the key (the TSD of the thread running:
pthreads.py switches it).

A thunk still bound to `__tlv_bootstrap` when called is a fault: dyld never leaves one.
"""

from __future__ import annotations

import struct

from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.machine import Machine
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.darwin_process import TLV_IMAGE_KEYS, TSD_FIRST_KEY
from oracle.emulate.macho.image import MachOImage
from oracle.emulate.macho.pthreads import gs_base
from oracle.emulate.process import Process

S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x11, 0x12, 0x13
MH_HAS_TLV_DESCRIPTORS = 0x800000
TLV_KEY = TSD_FIRST_KEY  # the first image's key (the executable's, when it has any)


def bootstrap_export() -> Export:
    def never(ctx: CallContext) -> int:
        raise GuestFault(0, "__tlv_bootstrap called: a thread-local descriptor's thunk was "
                            "not set up by dyld")

    return Export("_tlv_bootstrap", 1, never)


def set_up_images(machine: Machine, process: Process, images: list[MachOImage],
                  first_key: int = TLV_KEY) -> int:
    """Each image flagged MH_HAS_TLV_DESCRIPTORS (the executable and the dylibs it loaded
    at launch; later, the images a dlopen loaded) gets its own key, from `first_key` on,
    as dyld makes one per image, and its descriptors set up.  Returns the next free key."""
    flagged = [img for img in images if img.flags & MH_HAS_TLV_DESCRIPTORS]
    if first_key + len(flagged) > TLV_KEY + TLV_IMAGE_KEYS:
        raise mi.MachOError("__thread_vars", f"{first_key - TLV_KEY + len(flagged)} images "
                            f"with thread-local variables: more than the {TLV_IMAGE_KEYS} "
                            "keys emulated")
    for key, img in enumerate(flagged, start=first_key):
        set_up(machine, process, img, key)
    return first_key + len(flagged)


BLOCK_ALIGN = 16  # what dyld's malloc gives the block (and the template's alignment cap)


def _allocate(process: Process, size: int) -> int:
    """A thread's block from the heap, as dyld takes it from malloc (a 1 MiB thread-local
    array does not fit the libraries' own data region), 16-aligned on i386 too, whose
    emulated malloc aligns to 8 only."""
    raw = process.ensure_heap().malloc(max(size, 1) + BLOCK_ALIGN)
    if not raw:
        raise GuestFault(0, f"tlv_get_addr: no memory for a {size:#x}-byte thread-local block")
    return -(-raw // BLOCK_ALIGN) * BLOCK_ALIGN


def set_up(machine: Machine, process: Process, img: MachOImage, key: int = TLV_KEY) -> None:
    """Point every descriptor of `img` at tlv_get_addr with `key` (left to
    `__tlv_bootstrap`, whose call faults, when the header does not flag descriptors)."""
    sections = img.sections()
    descriptors = [s for s in sections if s.type == S_THREAD_LOCAL_VARIABLES]
    if not descriptors or not img.flags & MH_HAS_TLV_DESCRIPTORS:
        return
    word = img.word
    template = [s for s in sections if s.type in (S_THREAD_LOCAL_REGULAR,
                                                  S_THREAD_LOCAL_ZEROFILL)]
    if not template:
        raise mi.MachOError("__thread_vars", "thread-local descriptors without a template "
                                             "(no __thread_data or __thread_bss)")
    start = min(s.addr for s in template)
    size = max(s.addr + s.size for s in template) - start
    initial = [s for s in template if s.type == S_THREAD_LOCAL_REGULAR]
    image_end = max((s.addr + s.size for s in initial), default=start)
    init = machine.mem.read(start, image_end - start) if image_end > start else b""

    fields = "<QQ" if word == 8 else "<II"

    def tlv_get_addr(ctx: CallContext) -> int:
        ctx.machine.trace.pop()  # dyld's machinery, not a call the program made
        uc = ctx.machine.uc
        desc = ctx.arg(0) if word == 8 else int(uc.reg_read(x.UC_X86_REG_EAX))
        held, offset = struct.unpack(fields, ctx.mem.read(desc + word, 2 * word))
        if held != key or offset >= max(size, 1):
            raise GuestFault(desc, f"tlv_get_addr: descriptor {desc:#x} has key {held} and "
                                   f"offset {offset:#x} (the image's key is {key}, its "
                                   f"template {size:#x} bytes)")
        slot = gs_base(uc, ctx.mem, word) + word * key  # this thread's (pthreads.py)
        block = int.from_bytes(ctx.mem.read(slot, word), "little")
        if not block:
            block = _allocate(process, size)
            ctx.mem.write(block, init + bytes(size - len(init)))
            ctx.mem.write(slot, block.to_bytes(word, "little"))
        if word == 4:
            # i386's tlv_get_addr preserves edx, which the cdecl return of a 64-bit value
            # (edx:eax) would overwrite: hand edx back as the high half
            return block + offset | int(uc.reg_read(x.UC_X86_REG_EDX)) << 32
        return block + offset

    getter = machine.add_export("/usr/lib/system/libdyld.dylib",
                                Export("tlv_get_addr", 1, tlv_get_addr))
    for sect in descriptors:
        for k in range(sect.size // (3 * word)):
            at = sect.addr + 3 * word * k
            machine.mem.write_initial(at, struct.pack(fields, getter, key))
