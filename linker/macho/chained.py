"""LC_DYLD_CHAINED_FIXUPS: rebases and binds as chains threaded through the pointers
themselves (<mach-o/fixup-chains.h>), the form ld64 writes in place of the dyld-info
opcodes when the deployment target allows it (`-fixup_chains`).

Each pointer to fix becomes a 64-bit DYLD_CHAINED_PTR_64 word:
    rebase: target vmaddr (36 bits) | high8 (8) | reserved (7) | next (12) | bind=0
    bind:   import ordinal (24) | addend (8) | reserved (19) | next (12) | bind=1
`next` is the distance to the next fixup of the same page in 4-byte strides (0 ends the
chain); each page of a segment with fixups names its first one in the segment's starts
table.  Imports are DYLD_CHAINED_IMPORT (library ordinal 8 bits, weak bit, 23-bit name
offset) when every addend fits the pointer's 8 bits, else DYLD_CHAINED_IMPORT_ADDEND
(the addend, 32-bit, in the import; one import per symbol and addend).

There is no lazy binding with chained fixups: the lazy pointers are bound at load like
any other (dyld does the same for an ld64 image; ld64 also stops writing
__stub_helper, which we still write, unused).
"""

from __future__ import annotations

import struct

from ..errors import LinkError
from ..records import dataclass
from .dyldinfo import BindEntry

DYLD_CHAINED_PTR_64 = 2
DYLD_CHAINED_IMPORT, DYLD_CHAINED_IMPORT_ADDEND = 1, 2
DYLD_CHAINED_PTR_START_NONE = 0xFFFF
PAGE_SIZE = 0x1000  # ld64's chain page size for x86_64
STRIDE = 4
HEADER = struct.Struct("<7I")  # dyld_chained_fixups_header
MAX_TARGET = (1 << 36) - 1


@dataclass(frozen=True)
class ChainSegment:
    vmaddr: int
    vmsize: int
    file_offset: int


def encode(image: bytearray, segments: list[ChainSegment], header_addr: int,
           rebases: list[int], binds: list[tuple[int, BindEntry]]) -> bytes:
    """Rewrite every fixed pointer of `image` as a chain entry and return the
    LC_DYLD_CHAINED_FIXUPS payload.  `segments` are the image's segments in load
    command order, __LINKEDIT excepted; `rebases` and `binds` give
    addresses (and, for binds, what is bound there)."""
    use_addend = any(not 0 <= b.addend < 256 for _, b in binds)
    imports: dict[tuple[int, str, bool, int], int] = {}
    fixups: dict[int, int] = {}  # address -> the chain word without its `next`
    for addr, b in binds:
        key = (b.ordinal, b.name, b.weak_import, b.addend if use_addend else 0)
        index = imports.setdefault(key, len(imports))
        inline = 0 if use_addend else b.addend
        fixups[addr] = (1 << 63) | (inline << 24) | index
    for addr in rebases:
        if addr in fixups:
            raise LinkError(f"pointer at {addr:#x} is both rebased and bound")
        value = _read(image, segments, addr)
        high8, target = value >> 56, value & ((1 << 56) - 1)
        if target > MAX_TARGET:
            raise LinkError(f"rebase at {addr:#x}: target {value:#x} does not fit "
                            "DYLD_CHAINED_PTR_64's 36 bits")
        fixups[addr] = (high8 << 36) | target
    if len(imports) >= 1 << 24:
        raise LinkError(f"{len(imports)} imports: more than DYLD_CHAINED_PTR_64 can name")
    starts = _thread_chains(image, segments, header_addr, fixups)
    return _payload(starts, imports, use_addend, len(segments) + 1)


def _locate(segments: list[ChainSegment], addr: int) -> tuple[int, ChainSegment]:
    for index, seg in enumerate(segments):
        if seg.vmaddr <= addr and addr + 8 <= seg.vmaddr + seg.vmsize:
            return index, seg
    raise LinkError(f"fixup at {addr:#x} lies in no segment")


def _read(image: bytearray, segments: list[ChainSegment], addr: int) -> int:
    _, seg = _locate(segments, addr)
    at = seg.file_offset + addr - seg.vmaddr
    return int.from_bytes(image[at:at + 8], "little")


def _thread_chains(image: bytearray, segments: list[ChainSegment], header_addr: int,
                   fixups: dict[int, int]) -> dict[int, bytes]:
    """Write the chain words; the starts_in_segment record of each segment with fixups."""
    by_segment: dict[int, list[int]] = {}
    for addr in sorted(fixups):
        if addr % STRIDE:
            raise LinkError(f"fixup at {addr:#x} is not {STRIDE}-byte aligned")
        by_segment.setdefault(_locate(segments, addr)[0], []).append(addr)
    records = {}
    for index, addrs in by_segment.items():
        seg = segments[index]
        pages = (seg.vmsize + PAGE_SIZE - 1) // PAGE_SIZE
        page_start = [DYLD_CHAINED_PTR_START_NONE] * pages
        for n, addr in enumerate(addrs):
            page = (addr - seg.vmaddr) // PAGE_SIZE
            following = addrs[n + 1] if n + 1 < len(addrs) else None
            same_page = following is not None and (following - seg.vmaddr) // PAGE_SIZE == page
            nxt = (following - addr) // STRIDE if same_page and following is not None else 0
            if page_start[page] == DYLD_CHAINED_PTR_START_NONE:
                page_start[page] = (addr - seg.vmaddr) % PAGE_SIZE
            word = fixups[addr] | (nxt << 51)
            at = seg.file_offset + addr - seg.vmaddr
            image[at:at + 8] = word.to_bytes(8, "little")
        body = struct.pack(f"<IHHQIH{pages}H", 0, PAGE_SIZE, DYLD_CHAINED_PTR_64,
                           seg.vmaddr - header_addr, 0, pages, *page_start)
        records[index] = struct.pack("<I", len(body)) + body[4:]
    return records


def _payload(starts: dict[int, bytes], imports: dict[tuple[int, str, bool, int], int],
             use_addend: bool, segment_count: int) -> bytes:
    # every segment has a slot (__PAGEZERO, __TEXT, __DATA, __LINKEDIT: the last is ours)
    nsegs = max(1 + max(starts, default=0), segment_count)
    image_starts = bytearray(4 + 4 * nsegs)
    struct.pack_into("<I", image_starts, 0, nsegs)
    body = bytearray()
    for index in range(nsegs):
        record = starts.get(index)
        if record is None:
            continue
        while (len(image_starts) + len(body)) % 8:
            body += b"\0"
        struct.pack_into("<I", image_starts, 4 + 4 * index, len(image_starts) + len(body))
        body += record
    starts_blob = bytes(image_starts + body)
    names = bytearray(b"\0")
    table = bytearray()
    for (ordinal, name, weak, addend), _ in sorted(imports.items(), key=lambda kv: kv[1]):
        offset = len(names)
        names += name.encode("utf-8", "surrogateescape") + b"\0"
        if offset >= 1 << 23:
            raise LinkError("imported symbol names exceed DYLD_CHAINED_IMPORT's 23 bits")
        word = (ordinal & 0xFF) | (int(weak) << 8) | (offset << 9)  # -2 (flat): 0xfe
        table += struct.pack("<I", word) + (struct.pack("<i", addend) if use_addend else b"")
    starts_offset = (HEADER.size + 7) & ~7
    imports_offset = starts_offset + len(starts_blob)
    imports_offset = (imports_offset + 3) & ~3
    symbols_offset = imports_offset + len(table)
    header = HEADER.pack(0, starts_offset, imports_offset, symbols_offset, len(imports),
                         DYLD_CHAINED_IMPORT_ADDEND if use_addend else DYLD_CHAINED_IMPORT, 0)
    out = bytearray(header)
    out += bytes(starts_offset - len(out)) + starts_blob
    out += bytes(imports_offset - len(out)) + table + names
    return bytes(out + bytes(-len(out) % 8))


CHAINED_FIXUPS_MIN_OS = 0x000C0000  # macOS 12: ld64's default switches to chained fixups


def chained_fixups_wanted(classic: bool, has_format: bool, asked: bool | None, min_os: int,
                          dynamic_lookup: bool = False) -> bool:
    """LC_DYLD_CHAINED_FIXUPS rather than dyld-info opcodes: asked for (`-fixup_chains`),
    or (neither -fixup_chains nor -no_fixup_chains) the deployment target is macOS 12 or
    later, from which Apple's linker writes chained fixups by default (Xcode 13 release
    notes: "all programs and dylibs built with a deployment target of macOS 12 or iOS 15
    or later now use the chained fixups format"), unless `-undefined dynamic_lookup` is
    given, with which ld64 keeps the opcodes from Xcode 14.3 on (it had warned "may not
    work with chained fixups"; Python extensions link so, and numpy's macOS 14 wheels
    carry opcodes).  Only for an arch with a chained pointer format (`has_format`:
    x86_64's 64-bit ones) and never in classic mode."""
    if classic or not has_format:
        return False
    if asked is not None:
        return asked
    return min_os >= CHAINED_FIXUPS_MIN_OS and not dynamic_lookup


def image_fixups(image: bytearray, segments: list[ChainSegment], header_addr: int,
                 rebases: list[int], binds: list[tuple[int, BindEntry]],
                 lazy: list[tuple[int, BindEntry]]) -> bytes:
    """The payload for a linked image: a lazy pointer's rebase (of its initial
    __stub_helper target) gives way to its bind, since with chained fixups every lazy
    pointer is bound at load.  `segments` as for `encode`."""
    lazy_slots = {addr for addr, _ in lazy}
    return encode(image, segments, header_addr, [a for a in rebases if a not in lazy_slots],
                  binds + lazy)
