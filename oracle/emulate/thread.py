"""The thread pointer and the executable's static TLS block, as the kernel and ld.so leave
them for the main thread.

x86-64 and i386 use TLS variant II: the thread control block (TCB) is at the thread
pointer (fs base; i386's %gs segment base), its first word points at itself, and the
executable's PT_TLS block (its .tdata image, then zeroed .tbss) ends right at the thread
pointer, at tp - round_up(p_memsz, p_align).  gcc's stack protector reads its canary at
fs:0x28 / gs:0x14.  i386 reaches the TCB through a GDT data segment loaded into %gs (what
set_thread_area arranges on Linux); then every segment register is loaded, because
loading %gs alone would leave Unicorn with a 16-bit stack segment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from unicorn import UC_PROT_READ, UC_PROT_WRITE
from unicorn import x86_const as x

from oracle.emulate.elfimage import ElfImage
from oracle.emulate.loader import LoadError
from oracle.emulate.machine import Machine

PT_TLS = 7
REGION = 0x10000  # TLS blocks up to 60 KiB below the TCB, the GDT above it
TCB_OFFSET = 0xF000
CANARY = bytes.fromhex("00c0ffee0ddba11d")
GDT_OFFSET = 0x800
# The dynamic thread vector (glibc's dtv_t array), between the TCB and the GDT: tcb[1]
# points at entry 0, whose first word is the generation; entry m (two
# words, as glibc's union of a pointer and its to_free) holds module m's block address.
# Its length is in entry -1, as glibc keeps it.  __tls_get_addr (tls.py) reads only this.
DTV_OFFSET = 0x400
DTV_ENTRIES = (GDT_OFFSET - DTV_OFFSET) // 16 - 1
GDT_ENTRIES = 9  # 0 null, 1 code, 2 data, 3 our TCB, 6-8 set_thread_area's (as Linux)
TLS_ENTRIES = range(6, 9)


@dataclass
class StaticTls:
    """The static TLS area below the thread pointer: each module's block and where it is
    (offset below tp).  Module 1 is the executable's when it has PT_TLS; shared libraries
    loaded at start-up get the next ids, their blocks further down, as in glibc."""

    tp: int
    dtv: int  # entry 0 of the dynamic thread vector (tcb[1] points here)
    used: int = 0
    offsets: dict[int, int] = field(default_factory=dict)  # module id -> offset below tp
    next_module: int = 1

    def add(self, machine: Machine, image: bytes, memsz: int, align: int) -> tuple[int, int]:
        """Place a block (its .tdata image, then zeros up to memsz): (module id, offset)."""
        align = max(align, 1)
        offset = (self.used + memsz + align - 1) // align * align
        if offset > TCB_OFFSET or len(image) > memsz:
            raise LoadError(f"TLS block of {memsz} bytes does not fit the static TLS area")
        machine.mem.write(self.tp - offset, image + bytes(memsz - len(image)))
        module = self.next_module
        if module >= DTV_ENTRIES:
            raise LoadError(f"more than {DTV_ENTRIES - 1} modules with thread-local storage")
        word = machine.abi.word
        machine.mem.write(self.dtv + 2 * word * module, machine.abi.pack(self.tp - offset))
        machine.mem.write(self.dtv - 2 * word, machine.abi.pack(module))  # the length
        self.offsets[module] = offset
        self.next_module += 1
        self.used = offset
        return module, offset


def set_up_thread(machine: Machine, image: ElfImage, bias: int, base: int) -> StaticTls:
    machine.mem.map(base, REGION, UC_PROT_READ | UC_PROT_WRITE)
    tcb = base + TCB_OFFSET
    word = machine.abi.word
    machine.mem.write(tcb, machine.abi.pack(tcb))
    machine.mem.write(tcb + 5 * word, CANARY[:word])
    dtv = tcb + DTV_OFFSET + 2 * word  # entry -1 (the length) comes first
    machine.mem.write(tcb + word, machine.abi.pack(dtv))
    machine.mem.write(dtv, machine.abi.pack(1))  # generation 1, as ld.so starts
    tls = StaticTls(tcb, dtv)
    segment = image.first(PT_TLS)
    if segment is not None and segment.memsz:
        tls.add(machine, image.data[segment.offset : segment.offset + segment.filesz],
                segment.memsz, segment.align)
    if word == 8:
        machine.uc.reg_write(x.UC_X86_REG_FS_BASE, tcb)
        return tls

    gdt_at = tcb + GDT_OFFSET
    gdt = bytes(8) + descriptor(0, 0x9A) + descriptor(0, 0x92) + descriptor(tcb, 0x92)
    machine.mem.write(gdt_at, gdt + bytes(8 * (GDT_ENTRIES - 4)))
    machine.uc.reg_write(x.UC_X86_REG_GDTR, (0, gdt_at, 8 * GDT_ENTRIES - 1, 0))
    for reg, index in ((x.UC_X86_REG_CS, 1), (x.UC_X86_REG_SS, 2), (x.UC_X86_REG_DS, 2),
                       (x.UC_X86_REG_ES, 2), (x.UC_X86_REG_FS, 2), (x.UC_X86_REG_GS, 3)):
        machine.uc.reg_write(reg, index << 3)
    return tls


def descriptor(seg_base: int, access: int) -> bytes:
    """A 32-bit segment descriptor: 4 GiB limit in pages, this base and access byte."""
    return struct.pack("<HHBBBB", 0xFFFF, seg_base & 0xFFFF, (seg_base >> 16) & 0xFF,
                       access, 0xCF, seg_base >> 24)


def gdt_address(machine: Machine) -> int:
    return int(machine.uc.reg_read(x.UC_X86_REG_GDTR)[1])
