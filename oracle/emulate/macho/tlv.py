"""Thread-local variables as dyld runs them (dyld's threadLocalVariables.c, in behaviour):
each S_THREAD_LOCAL_VARIABLES section holds 24-byte descriptors {thunk, key, offset}; the
linker binds every thunk to libSystem's `__tlv_bootstrap`, and dyld, before any code runs,
points each thunk at `tlv_get_addr` and sets the key to one pthread key for the image.
The code calls `(*desc->thunk)(desc)` with the descriptor in rdi; tlv_get_addr returns in
rax the calling thread's copy of the variable: on a thread's first call the block is
allocated, the template's initial image (the S_THREAD_LOCAL_REGULAR bytes) copied in and
the rest (S_THREAD_LOCAL_ZEROFILL) zeroed, and its address kept in the thread's TSD slot
for the key (the TSD of the thread running: pthreads.py switches it).

A thunk still bound to `__tlv_bootstrap` when called is a fault: dyld never leaves one.
"""

from __future__ import annotations

import struct

from unicorn import x86_const as x

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.machine import Machine
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.darwin_process import TSD_FIRST_KEY, DarwinProcessAreas
from oracle.emulate.macho.image import MachOImage
from oracle.emulate.process import Process

S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x11, 0x12, 0x13
DESCRIPTOR = 24
TLV_KEY = TSD_FIRST_KEY  # the image's key: the first pthread_key_create would give


def bootstrap_export() -> Export:
    def never(ctx: CallContext) -> int:
        raise GuestFault(0, "__tlv_bootstrap called: a thread-local descriptor's thunk was "
                            "not set up by dyld")

    return Export("_tlv_bootstrap", 1, never)


def set_up(machine: Machine, process: Process, img: MachOImage,
           areas: DarwinProcessAreas) -> None:
    """Point every descriptor at tlv_get_addr with the image's key."""
    sections = img.sections()
    descriptors = [s for s in sections if s.type == S_THREAD_LOCAL_VARIABLES]
    if not descriptors:
        return
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

    def tlv_get_addr(ctx: CallContext) -> int:
        ctx.machine.trace.pop()  # dyld's machinery, not a call the program made
        (desc,) = ctx.args(1)
        key, offset = struct.unpack("<QQ", ctx.mem.read(desc + 8, 16))
        if key != TLV_KEY or offset >= max(size, 1):
            raise GuestFault(desc, f"tlv_get_addr: descriptor {desc:#x} has key {key} and "
                                   f"offset {offset:#x} (the image's key is {TLV_KEY}, its "
                                   f"template {size:#x} bytes)")
        slot = int(ctx.machine.uc.reg_read(x.UC_X86_REG_GS_BASE)) + 8 * key  # this thread's
        block = int.from_bytes(ctx.mem.read(slot, 8), "little")
        if not block:
            block = process.alloc_data(max(size, 1), 16)
            ctx.mem.write(block, init + bytes(size - len(init)))
            ctx.mem.write(slot, block.to_bytes(8, "little"))
        return block + offset

    getter = machine.add_export("/usr/lib/system/libdyld.dylib",
                                Export("tlv_get_addr", 1, tlv_get_addr))
    for sect in descriptors:
        for k in range(sect.size // DESCRIPTOR):
            at = sect.addr + DESCRIPTOR * k
            machine.mem.write_initial(at, struct.pack("<QQ", getter, TLV_KEY))
