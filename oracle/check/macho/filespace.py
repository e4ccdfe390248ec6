"""What the file holds beyond its segments: an executable's bytes are its segments' file
ranges (the header and load commands are in the first one's).  Bytes no segment maps are
never loaded; more than a page of them is zero-fill written into the file (the next file
offset rounded past a segment's memory instead of its file data)."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_SEGMENTS, Finding, MachOFile, rule

TOPIC = "file space"
PAGE = 0x1000


@rule("MACHO-FILE-SPACE", TOPIC,
      "at most a page of the file lies outside every segment's file range (zero-fill such "
      "as __bss and __common takes no file space)",
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
    total = sum(end - start for start, end in unmapped)
    if total > PAGE:
        start, end = max(unmapped, key=lambda r: r[1] - r[0])
        yield "file", (f"{total:#x} bytes lie outside every segment, the most at "
                       f"[{start:#x}, {end:#x}); nothing loads them")
