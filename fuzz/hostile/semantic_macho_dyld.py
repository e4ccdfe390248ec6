"""Structure-level rewrites of what dyld reads in a Mach-O file (the semantic family's
second Mach-O half; the model is fuzz/hostile/semantic_macho.py): dyld-info opcode
streams that loop, repeat a bind 2**62 times or carry overlong ULEBs, export tries whose
children point back at the root, chained-fixup headers, starts, page starts and `next`
fields that leave their page, imports past the tables, dylib name offsets, LC_MAIN's
entry, and fat headers whose slices overlap, repeat an architecture or lie in count.
"""

from __future__ import annotations

from ..leb128 import uleb128 as _uleb
from .mutate import Picker, choose
from .semantic_macho import (
    FAT_MAGIC,
    LC_DYLD_CHAINED_FIXUPS,
    LC_DYLD_EXPORTS_TRIE,
    LC_DYLD_INFO,
    LC_DYLD_INFO_ONLY,
    LC_ID_DYLIB,
    LC_LOAD_DYLIB,
    LC_MAIN,
    MachO,
)


# Opcode streams that loop, repeat, or point past everything.  Rebase: 0x80 is
# DO_REBASE_ULEB_TIMES_SKIPPING_ULEB, 0x60 ULEB_TIMES, 0x20|seg SET_SEGMENT_AND_OFFSET_ULEB;
# bind: 0xC0 DO_BIND_ULEB_TIMES_SKIPPING_ULEB, 0x10|n SET_DYLIB_ORDINAL_IMM, 0x70|seg
# SET_SEGMENT_AND_OFFSET_ULEB, 0x40 SET_SYMBOL_TRAILING_FLAGS_IMM.
def _hostile_streams(pick: Picker) -> list[bytes]:
    huge = _uleb(choose(pick, [1 << 62, 1 << 32, 0xFFFFFFFF, 1 << 20]))
    return [b"\x60" + huge, b"\x80" + huge + _uleb(8), b"\x2f" + huge, b"\x2f\x00\x60" + huge,
            b"\x71\x00\xc0" + huge + _uleb(0), b"\x1f\x40_x\x00\x90",
            b"\x11\x40_x\x00\x7f" + huge + b"\x90", b"\xc0" + huge + huge,
            b"\x72" + b"\x80" * 12 + b"\x01\x90", b"\x30" + b"\xff" * 11, b"\x40" + b"A" * 64,
            b"\x90" * 4 + b"\xa0" + huge, b"\xb0\x00\xb0\x00\x90"]


def dyld_info(pick: Picker, m: MachO) -> str | None:
    found = m.find(LC_DYLD_INFO, LC_DYLD_INFO_ONLY)
    if not found:
        return None
    at = found[0].at
    which = choose(pick, [8, 16, 24, 32, 40])  # rebase, bind, weak bind, lazy bind, export
    off, size = m.get(at + which, 4), m.get(at + which + 4, 4)
    if pick.integer(0, 2) == 0 or not size:
        what = choose(pick, [which, which + 4])
        value = choose(pick, [len(m.data) - m.base, 0, off + 1, size + 1,
                              m.get(at + choose(pick, [8, 16, 24, 32, 40]), 4), 0x7FFFFFFF])
        m.put(at + what, 4, value)
        return f"LC_DYLD_INFO+{what} -> {value:#x}"
    start = m.base + off
    if which == 40:
        return _export_trie(pick, m, start, size)
    stream = choose(pick, _hostile_streams(pick))
    where = start + pick.integer(0, max(size - 1, 0)) if pick.integer(0, 1) else start
    piece = stream[:max(0, start + size - where)]
    m.data[where:where + len(piece)] = piece
    return f"dyld info stream +{which} at {where - start:#x} <- {piece[:16].hex()}"


def _export_trie(pick: Picker, m: MachO, start: int, size: int) -> str | None:
    """A child pointing back at the root or at itself, past the trie; a terminal size
    lying; an overlong ULEB."""
    end = min(len(m.data), start + size)
    if start >= end:
        return None
    terminal, pos = m.get(start, 1), start + 1
    if terminal >= 0x80:
        return None
    pos += terminal
    if pos >= end:
        return None
    children = m.data[pos]
    pos += 1
    kind = pick.integer(0, 2)
    if kind == 0 and children:
        name_end = m.data.find(b"\0", pos, end)
        if name_end < 0 or name_end + 1 >= end:
            return None
        value = choose(pick, [0, 1, size, size + 1, 0x7F])
        m.put(name_end + 1, 1, value)
        return f"export trie root's first child -> node {value:#x}"
    if kind == 1:
        value = choose(pick, [0x7F, size, 0x7E, 1])
        m.put(start, 1, value)
        return f"export trie root terminal size {terminal} -> {value}"
    run = min(end - start, pick.integer(2, 14))
    m.data[start:start + run] = b"\x80" * (run - 1) + b"\x00"
    return f"export trie root: overlong ULEB of {run} bytes"


def exports_trie(pick: Picker, m: MachO) -> str | None:
    found = m.find(LC_DYLD_EXPORTS_TRIE)
    if not found:
        return None
    off, size = m.get(found[0].at + 8, 4), m.get(found[0].at + 12, 4)
    return _export_trie(pick, m, m.base + off, size)


def chained_fixups(pick: Picker, m: MachO) -> str | None:
    """The header's offsets and counts, a segment's starts (page size, page count, a
    page's first fixup past the page, the pointer format), a chain's next that runs off
    its page, an import's ordinal or name past the tables."""
    found = m.find(LC_DYLD_CHAINED_FIXUPS)
    if not found:
        return None
    dataoff, datasize = m.get(found[0].at + 8, 4), m.get(found[0].at + 12, 4)
    head = m.base + dataoff
    if head + 28 > len(m.data):
        return None
    starts, imports = head + m.get(head + 4, 4), head + m.get(head + 8, 4)
    kind = pick.integer(0, 3)
    if kind == 0:
        what = choose(pick, [0, 4, 8, 12, 16, 20, 24])
        value = choose(pick, [0, 1, 2, 3, datasize, datasize + 1, 0xFFFFFFFF, 0x10000,
                              m.get(head + choose(pick, [4, 8, 12]), 4)])
        m.put(head + what, 4, value)
        return f"chained fixups header+{what} -> {value:#x}"
    segs = [m.get(starts + 4 + 4 * i, 4) for i in range(min(m.get(starts, 4), 16))]
    seg_starts = [starts + o for o in segs if o and starts + o + 24 <= len(m.data)]
    if kind == 1 or not seg_starts:
        if starts + 8 > len(m.data):
            return None
        what = choose(pick, [0, 4 + 4 * pick.integer(0, max(len(segs) - 1, 0))])
        value = choose(pick, [0, len(segs) + 1, 0xFFFF, datasize, 4, 0xFFFFFFFF])
        m.put(starts + what, 4, value)
        return f"chained starts-in-image+{what} -> {value:#x}"
    seg = choose(pick, seg_starts)
    page_count = m.get(seg + 20, 2)
    if kind == 2:
        what, width = choose(pick, [(0, 4), (4, 2), (6, 2), (8, 8), (16, 4), (20, 2)])
        value = choose(pick, [0, 1, 0x4000, 0x1000, 0xFFFF, 0x8000, page_count + 1,
                              pick.integer(1, 12), 0xFFFFFFFF])
        m.put(seg + what, width, value)
        return f"chained starts-in-segment+{what} -> {value:#x}"
    if page_count:
        at = seg + 22 + 2 * pick.integer(0, min(page_count, 64) - 1)
        first = m.get(at, 2)
        if pick.integer(0, 1) or first == 0xFFFF:
            value = choose(pick, [0x1000, 0x3FFF, 0x4000, 0xFFFE, 0x8000, 0x8001, 0xFFF,
                                  first + 1, first + 4])
            m.put(at, 2, value)
            return f"chained page start at {at:#x} {first:#x} -> {value:#x}"
        # the fixup itself: in the 64-bit formats `next` (stride 4) is bits 51..62
        seg_offset = m.get(seg + 8, 8)
        fixup = m.base + seg_offset + first + m.get(seg + 4, 2) * ((at - seg - 22) // 2)
        if fixup + 8 <= len(m.data):
            old = m.get(fixup, 8)
            value = old | 0xFFF << 51 if pick.integer(0, 1) else old ^ 1 << 63
            m.put(fixup, 8, value)
            return f"chained fixup at {fixup:#x} {old:#x} -> {value:#x}"
    count = m.get(head + 16, 4)
    if count and imports + 4 * count <= len(m.data):
        at = imports + 4 * pick.integer(0, count - 1)
        value = choose(pick, [0xFF, 0xFE, 0xFD, 0x7FFFFF00, 0xFFFFFF00 | 0x20, 0x100,
                              m.get(at, 4) | 0xFFFFFE00])
        m.put(at, 4, value)
        return f"chained import at {at:#x} -> {value:#x}"
    return None


def dylib_commands(pick: Picker, m: MachO) -> str | None:
    """A dylib or dylinker name offset past its command or into its header, a name left
    unterminated; LC_MAIN's entry past the file."""
    found = m.find(LC_LOAD_DYLIB, LC_ID_DYLIB, 0xE, 0x18 | 0x80000000, 0x1F | 0x80000000,
                   LC_MAIN)
    if not found:
        return None
    c = choose(pick, found)
    if c.cmd == LC_MAIN:
        value = choose(pick, [len(m.data), 0, (1 << 64) - 1, 1 << 63, 0x1000])
        m.put(c.at + 8, 8, value)
        return f"LC_MAIN entryoff -> {value:#x}"
    if pick.integer(0, 1):
        value = choose(pick, [0, 4, 8, c.size, c.size + 1, 0xFFFFFFFF, c.size - 1])
        m.put(c.at + 8, 4, value)
        return f"dylib command at {c.at:#x} name offset -> {value:#x}"
    name = m.get(c.at + 8, 4)
    # A cmdsize an earlier mutation of the case set (up to 4 GiB) would make the name a
    # file of gigabytes (a MemoryError in the campaign's own draw): past a MiB beyond the
    # file, the name runs to the file's end instead.  Smaller ones draw as they always did.
    end = c.size if c.at + c.size <= len(m.data) + (1 << 20) else len(m.data) - c.at
    if name < end:
        m.data[c.at + name:c.at + end] = b"A" * (end - name)
    return f"dylib command at {c.at:#x} name unterminated"


def fat(pick: Picker, data: bytearray) -> str | None:
    """nfat_arch lying, slices overlapping or past the file, an architecture twice, an
    alignment of 2**255."""
    if int.from_bytes(data[:4], "big") != FAT_MAGIC or len(data) < 48:
        return None
    count = int.from_bytes(data[4:8], "big")
    k = pick.integer(0, max(min(count, 8) - 1, 0))
    entry = 8 + 20 * k
    other = 8 + 20 * pick.integer(0, max(min(count, 8) - 1, 0))
    what = choose(pick, [None, 0, 4, 8, 12, 16])
    if what is None:
        value = choose(pick, [0, count + 1, 0xFFFFFFFF, 1000, 1])
        data[4:8] = (value & 0xFFFFFFFF).to_bytes(4, "big")
        return f"nfat_arch {count} -> {value}"
    theirs = int.from_bytes(data[other + what:other + what + 4], "big")
    current = int.from_bytes(data[entry + what:entry + what + 4], "big")
    value = choose(pick, [theirs, current + 1, current - 1, len(data), len(data) + 1, 0,
                          0xFFFFFFFF, 255, 12, 4]) & 0xFFFFFFFF
    data[entry + what:entry + what + 4] = value.to_bytes(4, "big")
    return f"fat_arch[{k}]+{what} {current:#x} -> {value:#x}"


DYLD_OPS = (dyld_info, exports_trie, chained_fixups, dylib_commands)
