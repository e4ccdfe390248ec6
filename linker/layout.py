"""Layout: output sections -> segments -> addresses and file offsets.

Format-neutral.  The format decides which output sections exist and which segment each
goes to (linker/elf/sections.py); this module only does arithmetic.  Every segment starts
on its alignment (the page, or its most aligned section if that is more) in memory *and* in
the file, so p_offset ≡ p_vaddr (mod p_align) holds trivially.  Memory and file advance
separately: zero-fill sections (last in their segment) take addresses but no file bytes, so
the next segment's file data follows the previous one's file data, not its zero-fill.  TLS
zero-fill (.tbss) takes neither: its addresses only describe the TLS template, and the
sections after it reuse them, as GNU ld and lld lay it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .errors import LinkError
from .model import InputSection, SectionFlags
from .records import dataclass, field


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
    align: int = 0  # p_align: a power of two that divides both addr and file_offset


@dataclass
class Layout:
    segments: list[Segment]
    end_of_file_data: int  # first free file offset after the segments
    section_address: dict[int, int]  # id(InputSection) -> address
    section_file_offset: dict[int, int]  # id(InputSection) -> file offset (-1: zero-fill)
    # What later steps derive from the finished layout and would otherwise compute twice
    # (apply.all_local_addresses: the relocation pass and .symtab both want it).
    derived: dict[str, object] = field(default_factory=dict)

    def address_of(self, sec: InputSection) -> int:
        return self.section_address[id(sec)]


def assign_addresses(
    segments: list[Segment], *, base: int, page: int, header_size: int,
    fixed: Mapping[int, int] | None = None,
) -> Layout:
    """Give every section of every segment an address and a file offset.

    The first segment begins at file offset 0 and address `base` and holds the file's headers
    (`header_size` bytes) before its first section, as the ELF header and program headers
    are mapped.  Each later segment starts on its alignment both past the previous segment's
    memory (so no two segments share a page) and past the previous segment's *file* data:
    zero-fill is never given file space.  `fixed` (id(segment) -> address) pins a later
    segment's start (--section-start, linker/elf/placement.py).
    """
    offset = 0  # next free file offset
    mem = base  # next free address
    sec_addr: dict[int, int] = {}
    sec_off: dict[int, int] = {}
    for n, seg in enumerate(segments):
        want = segment_alignment(seg, page)
        if n == 0:
            seg.align = _largest_dividing_power(base, want) if base else want
            seg.file_offset, seg.addr = 0, base
        elif fixed and id(seg) in fixed:
            seg.addr = fixed[id(seg)]
            seg.align = page
            seg.file_offset = _fixed_file_offset(seg.addr, seg.sections[0].name, mem, offset,
                                                page, segments[n - 1], seg.flags)
        else:
            seg.align = want
            seg.file_offset = _align_up(offset, want)
            seg.addr = _align_up(mem, want)
        cursor = header_size if n == 0 else 0  # relative to the segment start
        file_end = mem_end = cursor
        tbss_end = 0  # where the TLS zero-fill laid out so far ends (relative)
        for out in seg.sections:
            tbss = out.nobits and SectionFlags.TLS in out.flags
            # Aligned as an address: the segment's start may be less aligned than a section
            # in the first segment, whose start is the image base.  A second TLS zero-fill
            # section (an orphan after .tbss) follows the first within the template.
            base = max(cursor, tbss_end) if tbss else cursor
            start = _align_up(seg.addr + base, out.align) - seg.addr
            out.addr = seg.addr + start
            out.file_offset = seg.file_offset + start
            for sec, off in zip(out.inputs, out.offsets):
                sec_addr[id(sec)] = out.addr + off
                sec_off[id(sec)] = -1 if out.nobits else out.file_offset + off
            if tbss:
                tbss_end = start + out.size
                continue  # .tbss: no memory of its own; what follows overlaps it
            cursor = start + out.size
            mem_end = cursor
            if not out.nobits:
                file_end = cursor
        seg.filesz = file_end
        seg.memsz = mem_end
        offset = seg.file_offset + seg.filesz
        mem = seg.addr + seg.memsz
    return Layout(segments, offset, sec_addr, sec_off)


def _fixed_file_offset(address: int, name: str, mem: int, offset: int, page: int,
                      previous: Segment, flags: object) -> int:
    """The file offset of a segment that must start at `address`, after a `previous`
    segment ending at `mem` in memory and `offset` in the file."""
    if address < mem:
        raise LinkError(f"--section-start {name}={address:#x} is below {mem:#x}, where the "
                        "sections placed before it end (linkharness only moves sections "
                        "forward)")
    if address // page != (mem - 1) // page:
        return offset + (address - offset) % page  # a page of its own
    # The page of the previous segment's end: the loader maps that page twice, so both
    # mappings must show the same file bytes with the same permissions.
    if previous.flags != flags or previous.memsz != previous.filesz:
        raise LinkError(f"--section-start {name}={address:#x} shares a page with the "
                        "end of a segment of other permissions or with zero-fill")
    return offset + (address - mem)


def merge_read_only_into_code(read_only: Segment, code: Segment) -> Segment:
    """GNU ld's -z noseparate-code: the headers, read-only data and code in one R+X
    segment (separate-code, the default, keeps non-code out of executable pages)."""
    assert SectionFlags.EXEC in code.flags and SectionFlags.EXEC not in read_only.flags
    return Segment(code.flags, read_only.sections + code.sections)


def segment_alignment(seg: Segment, page: int) -> int:
    """Where a segment may start: a page, or its most aligned section's boundary if that is
    more.  A section aligned past the page size (aligned(8192) data) needs it: p_offset ≡
    p_vaddr must hold modulo that alignment, and a loader that places the image (PIE) keeps
    only p_align."""
    return max([page, *(o.align for o in seg.sections)])


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) & -align


def _largest_dividing_power(value: int, cap: int) -> int:
    """The largest power of two that divides `value`, at most `cap`."""
    return min(value & -value, cap)
