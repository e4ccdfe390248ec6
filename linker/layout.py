"""Layout: output sections -> segments -> addresses and file offsets.

Format-neutral.  The format decides which output sections exist and which segment each
goes to (linker/elf/sections.py); this module only does arithmetic: every segment starts on
a page boundary in memory *and* in the file, so p_offset ≡ p_vaddr (mod page) holds
trivially, and zero-fill sections come last in their segment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import InputSection, SectionFlags


@dataclass(eq=False)
class OutputSection:
    name: str
    flags: SectionFlags
    align: int = 1
    nobits: bool = False
    inputs: list[InputSection] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # of each input within the section
    size: int = 0
    addr: int = 0
    file_offset: int = 0
    # For sections the format writes itself (.dynsym, .dynamic, ...): rendered after layout.
    render: Callable[[], bytes] | None = None
    # Format-specific header fields (ELF sh_type, sh_entsize, sh_link, sh_info) set by writers.
    meta: dict[str, int] = field(default_factory=dict)

    def add(self, sec: InputSection) -> None:
        align = max(1, sec.align)
        offset = (self.size + align - 1) & -align
        self.inputs.append(sec)
        self.offsets.append(offset)
        self.size = offset + sec.size
        self.align = max(self.align, align)

    @property
    def end(self) -> int:
        return self.addr + self.size


@dataclass(eq=False)
class Segment:
    flags: SectionFlags  # ALLOC plus WRITE / EXEC
    sections: list[OutputSection] = field(default_factory=list)
    addr: int = 0
    file_offset: int = 0
    filesz: int = 0
    memsz: int = 0


@dataclass
class Layout:
    segments: list[Segment]
    end_of_file_data: int  # first free file offset after the segments
    section_address: dict[int, int]  # id(InputSection) -> address
    section_file_offset: dict[int, int]  # id(InputSection) -> file offset (-1: zero-fill)

    def address_of(self, sec: InputSection) -> int:
        return self.section_address[id(sec)]


def assign_addresses(
    segments: list[Segment], *, base: int, page: int, header_size: int
) -> Layout:
    """Give every section of every segment an address and a file offset.

    The first segment begins at file offset 0 and holds the file's headers (`header_size`
    bytes) before its first section, as the ELF header and program headers are mapped.
    """
    offset = 0
    sec_addr: dict[int, int] = {}
    sec_off: dict[int, int] = {}
    for n, seg in enumerate(segments):
        # A section aligned past the page size (aligned(8192) data) needs its segment to
        # start on that boundary: alignments inside a segment are relative to its start.
        seg_align = max([page, *(o.align for o in seg.sections)]) if n else page
        offset = (offset + seg_align - 1) & -seg_align
        seg.file_offset = offset
        seg.addr = base + offset
        cursor = header_size if n == 0 else 0  # relative to the segment start
        file_end = cursor
        for out in seg.sections:
            cursor = (cursor + out.align - 1) & -out.align
            out.addr = seg.addr + cursor
            out.file_offset = seg.file_offset + cursor
            cursor += out.size
            if not out.nobits:
                file_end = cursor
            for sec, off in zip(out.inputs, out.offsets):
                sec_addr[id(sec)] = out.addr + off
                sec_off[id(sec)] = -1 if out.nobits else out.file_offset + off
        seg.filesz = file_end
        seg.memsz = cursor
        offset = seg.file_offset + seg.filesz
        # The next segment must not share this one's last page in memory.
        base_next = (seg.addr + seg.memsz + page - 1) & -page
        offset = max(offset, base_next - base)
    return Layout(segments, offset, sec_addr, sec_off)
