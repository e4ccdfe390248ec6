"""The parts of an ELF executable the kernel and ld.so look at before running it:
the file header and the program headers (nothing from section headers is needed to run).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from oracle.records import quick_init

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PT_PHDR = 6
PT_GNU_RELRO = 0x6474E552
ET_EXEC = 2
ET_DYN = 3
EM_386 = 3
EM_X86_64 = 62


class ImageError(Exception):
    """The file is not an executable this loader can run."""


@quick_init
@dataclass(frozen=True)
class Segment:
    p_type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclass(frozen=True)
class ElfImage:
    data: bytes
    elfclass: int  # 32 or 64
    e_type: int
    machine: int
    entry: int
    phoff: int
    phentsize: int
    segments: tuple[Segment, ...]

    @property
    def word(self) -> int:
        return self.elfclass // 8

    def first(self, p_type: int) -> Segment | None:
        return next((s for s in self.segments if s.p_type == p_type), None)

    def loads(self) -> list[Segment]:
        return [s for s in self.segments if s.p_type == PT_LOAD]

    def interp(self) -> bytes | None:
        seg = self.first(PT_INTERP)
        if seg is None:
            return None
        return self.data[seg.offset : seg.offset + seg.filesz].rstrip(b"\0")

    def phdr_vaddr(self) -> int:
        """Where the program headers are in memory (AT_PHDR), as the kernel computes it."""
        phdr = self.first(PT_PHDR)
        if phdr is not None:
            return phdr.vaddr
        for seg in self.loads():
            if seg.offset <= self.phoff < seg.offset + seg.filesz:
                return seg.vaddr + (self.phoff - seg.offset)
        return 0


def parse(data: bytes) -> ElfImage:
    if data[:4] != b"\x7fELF":
        raise ImageError("not an ELF file")
    if len(data) < 52 or data[5] != 1:
        raise ImageError("not a little-endian ELF file")
    cls = {1: 32, 2: 64}.get(data[4])
    if cls is None:
        raise ImageError(f"bad ELF class {data[4]}")
    try:
        if cls == 64:
            e_type, machine, _, entry, phoff, _, _, _, phentsize, phnum = struct.unpack_from(
                "<HHIQQQIHHH", data, 16
            )
            fmt, size = "<IIQQQQQQ", 56
        else:
            e_type, machine, _, entry, phoff, _, _, _, phentsize, phnum = struct.unpack_from(
                "<HHIIIIIHHH", data, 16
            )
            fmt, size = "<IIIIIIII", 32
        if (cls, machine) not in ((64, EM_X86_64), (32, EM_386)):
            raise ImageError(f"unsupported machine {machine} for ELFCLASS{cls}")
        if e_type not in (ET_EXEC, ET_DYN):
            raise ImageError(f"not an executable (e_type {e_type})")
        if phentsize != size:
            raise ImageError(f"e_phentsize {phentsize}, expected {size}")
        if phoff + phnum * size > len(data):  # before unpack_from meets a huge offset
            raise ImageError(f"program headers ({phnum} at {phoff:#x}) run past the end "
                             "of the file")
        segments = []
        for i in range(phnum):
            fields = struct.unpack_from(fmt, data, phoff + i * size)
            if cls == 64:
                p_type, flags, offset, vaddr, _, filesz, memsz, align = fields
            else:
                p_type, offset, vaddr, _, filesz, memsz, flags, align = fields
            segments.append(Segment(p_type, flags, offset, vaddr, filesz, memsz, align))
    except struct.error as err:
        raise ImageError(f"truncated ELF headers: {err}") from err
    return ElfImage(data, cls, e_type, machine, entry, phoff, phentsize, tuple(segments))
