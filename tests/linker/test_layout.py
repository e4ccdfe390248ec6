"""linker/layout.py: assign_addresses' arithmetic on hand-made segments."""

from __future__ import annotations

from linker.layout import OutputSection, Segment, assign_addresses
from linker.model import InputSection, ObjectFile, SectionFlags, SectionRole

PAGE = 0x1000
BASE = 0x400000
R, X, W = SectionFlags.ALLOC, SectionFlags.ALLOC | SectionFlags.EXEC, \
    SectionFlags.ALLOC | SectionFlags.WRITE
OBJ = ObjectFile("a.o", "x86_64", [], None, ())  # type: ignore[arg-type]


def piece(size: int, align: int, zerofill: bool = False) -> InputSection:
    role = SectionRole.ZEROFILL if zerofill else SectionRole.NORMAL
    return InputSection(OBJ, 1, ".x", R, role, align, size, None if zerofill else bytes(size))


def out(name: str, flags: SectionFlags, *pieces: InputSection,
        nobits: bool = False) -> OutputSection:
    o = OutputSection(name, flags, nobits=nobits)
    for p in pieces:
        o.add(p)
    return o


def test_output_section_add_aligns_each_input() -> None:
    a, b, c = piece(3, 1), piece(8, 8), piece(1, 0)
    o = out(".data", W, a, b, c)
    assert o.offsets == [0, 8, 16]
    assert o.size == 17 and o.align == 8


def test_first_segment_holds_the_headers() -> None:
    text = out(".text", X, piece(0x10, 16))
    seg = Segment(X, [text])
    layout = assign_addresses([seg], base=BASE, page=PAGE, header_size=0x78)
    assert seg.file_offset == 0 and seg.addr == BASE
    assert text.addr == BASE + 0x80 and text.file_offset == 0x80  # 0x78 aligned to 16
    assert seg.filesz == seg.memsz == 0x90
    assert layout.end_of_file_data >= 0x90
    assert layout.address_of(text.inputs[0]) == BASE + 0x80


def test_segments_start_on_pages_with_offset_congruent_to_address() -> None:
    segs = [Segment(R, [out(".rodata", R, piece(0x1234, 8))]),
            Segment(X, [out(".text", X, piece(0x2001, 16))]),
            Segment(W, [out(".data", W, piece(0x10, 8))])]
    assign_addresses(segs, base=BASE, page=PAGE, header_size=0x40)
    for seg in segs:
        assert seg.file_offset % PAGE == 0 and seg.addr % PAGE == 0
        assert (seg.addr - seg.file_offset) % PAGE == 0
    assert [s.file_offset for s in segs] == [0, 0x2000, 0x5000]


def test_zero_fill_takes_memory_not_file() -> None:
    data = out(".data", W, piece(0x18, 8))
    bss_in = piece(0x100, 32, zerofill=True)
    bss = out(".bss", W, bss_in, nobits=True)
    seg = Segment(W, [data, bss])
    layout = assign_addresses([Segment(X, [out(".text", X, piece(4, 1))]), seg], base=BASE,
                              page=PAGE, header_size=0)
    assert seg.filesz == 0x18
    assert bss.addr == seg.addr + 0x20  # aligned to 32 after .data
    assert seg.memsz == 0x20 + 0x100
    assert layout.section_file_offset[id(bss_in)] == -1
    assert layout.section_file_offset[id(data.inputs[0])] == seg.file_offset
    # what follows the segments (section headers, symbols) comes after the file data
    assert layout.end_of_file_data >= seg.file_offset + 0x18


def test_segment_after_zero_fill_does_not_share_its_page() -> None:
    # .bss runs 0x1800 bytes past the file data: the next segment's memory starts on a page
    # past the end of .bss, although its file data could follow directly.
    bss = out(".bss", W, piece(0x1800, 8, zerofill=True), nobits=True)
    first = Segment(W, [out(".data", W, piece(0x10, 8)), bss])
    second = Segment(R, [out(".rodata", R, piece(0x10, 8))])
    assign_addresses([first, second], base=BASE, page=PAGE, header_size=0)
    assert first.addr + first.memsz == BASE + 0x1810
    assert second.addr >= BASE + 0x2000
    assert second.addr % PAGE == 0 and second.file_offset % PAGE == 0
    assert (second.addr - second.file_offset) % PAGE == 0


def test_segments_never_share_a_page_in_memory() -> None:
    segs = [Segment(R, [out(".rodata", R, piece(0x10, 8))]),
            Segment(X, [out(".text", X, piece(0x1001, 16))]),
            Segment(W, [out(".data", W, piece(1, 1))])]
    assign_addresses(segs, base=BASE, page=PAGE, header_size=0x40)
    pages = [set(range(s.addr // PAGE, (s.addr + s.memsz - 1) // PAGE + 1)) for s in segs]
    for n in range(len(pages)):
        for m in range(n + 1, len(pages)):
            assert not pages[n] & pages[m]


def test_input_addresses_are_section_address_plus_offset() -> None:
    a, b = piece(5, 1), piece(4, 4)
    data = out(".data", W, a, b)
    layout = assign_addresses([Segment(W, [data])], base=0x8048000, page=PAGE, header_size=0)
    assert layout.address_of(a) == 0x8048000 and layout.address_of(b) == 0x8048008
    assert layout.section_file_offset[id(b)] == 8


def test_alignment_larger_than_a_page_is_honoured() -> None:
    # __attribute__((aligned(8192))) data: the segment must start on that boundary, since
    # alignment inside a segment is relative to its start
    big = out(".data", W, piece(0x10, 0x2000))
    segs = [Segment(X, [out(".text", X, piece(0x10, 16))]), Segment(W, [big])]
    assign_addresses(segs, base=BASE, page=PAGE, header_size=0x40)
    assert big.addr % 0x2000 == 0
    assert (big.addr - big.file_offset) % PAGE == 0


def test_zero_fill_gets_no_file_offsets() -> None:
    # 16 MB of .bss in the first segment: the next segment's memory starts past it, but its
    # file data follows the first segment's file data (issue 19: zero-fill was written out)
    bss = out(".bss", W, piece(16 << 20, 32, zerofill=True), nobits=True)
    first = Segment(W, [out(".data", W, piece(0x10, 8)), bss])
    second = Segment(R, [out(".rodata", R, piece(0x10, 8))])
    layout = assign_addresses([first, second], base=BASE, page=PAGE, header_size=0x40)
    assert second.addr >= bss.addr + (16 << 20)
    assert second.file_offset == PAGE  # the page after the first segment's 0x50 file bytes
    assert layout.end_of_file_data == PAGE + 0x10
    for seg in (first, second):
        assert (seg.addr - seg.file_offset) % seg.align == 0


def test_tbss_takes_no_memory_in_its_segment() -> None:
    tls = SectionFlags.TLS
    tdata = out(".tdata", W | tls, piece(4, 4))
    tbss = out(".tbss", W | tls, piece(0x5000, 16, zerofill=True), nobits=True)
    data = out(".data", W, piece(8, 8))
    seg = Segment(W, [tdata, tbss, data])
    assign_addresses([seg], base=BASE, page=PAGE, header_size=0)
    assert tbss.addr == BASE + 0x10 and tbss.size == 0x5000
    assert data.addr == BASE + 8  # reuses .tbss's addresses, as GNU ld and lld
    assert seg.filesz == seg.memsz == 0x10


def test_segment_alignment_is_its_most_aligned_section() -> None:
    big = out(".data", W, piece(0x10, 0x10000))
    segs = [Segment(X, [out(".text", X, piece(0x10, 16))]), Segment(W, [big])]
    assign_addresses(segs, base=BASE, page=PAGE, header_size=0x40)
    assert segs[0].align == PAGE and segs[1].align == 0x10000
    assert segs[1].file_offset % 0x10000 == 0 == big.addr % 0x10000
