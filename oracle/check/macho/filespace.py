"""What the file holds beyond its segments: an executable's bytes are its segments' file
ranges (the header and load commands are in the first one's).  Bytes no segment maps are
never loaded; more than a page of them in one place is zero-fill written into the file
(the next file offset rounded past a segment's memory instead of its file data).  Less than
a page between two segments is alignment: ld64 rounds each segment's filesize up to the
page, zig's linker (the `zig` executable of the ziglang wheel) leaves it exact and pads."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_SEGMENTS, Finding, MachOFile, rule

TOPIC = "file space"
PAGE = 0x1000


@rule("MACHO-FILE-SPACE", TOPIC,
      "no more than a page of the file in one place lies outside every segment's file "
      "range (zero-fill such as __bss and __common takes no file space; a shorter gap is "
      "the padding that aligns the next segment)",
      f"{DYLD_SEGMENTS}; ld64 (S_ZEROFILL sections have no file offset)")
def file_space(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    ranges = sorted((s.fileoff, min(s.fileoff + s.filesize, len(f.data)))
                    for s in img.segments if s.filesize)
    unmapped: list[tuple[int, int]] = []
    cursor = 0
    for start, end in ranges:
        if start > cursor:
            unmapped.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < len(f.data):
        unmapped.append((cursor, len(f.data)))
    for start, end in unmapped:
        if end - start > PAGE:
            yield "file", (f"{end - start:#x} bytes at [{start:#x}, {end:#x}) lie outside "
                           "every segment; nothing loads them")
