"""LC_DYLD_CHAINED_FIXUPS as dyld reads it (<mach-o/fixup-chains.h>): the header, the
imports table (DYLD_CHAINED_IMPORT, _ADDEND, _ADDEND64), each segment's starts table,
and the chains through the pointers (DYLD_CHAINED_PTR_64 and DYLD_CHAINED_PTR_64_OFFSET).

`read_fixups` decodes everything into records, checking what dyld checks (offsets inside
the payload, ordinals in range, chains inside their page, a known pointer format) and
raising ChainError otherwise; the binder then writes each pointer, the checker judges the
same records.  Bit layouts, 64-bit pointer formats:
    rebase: target (36) | high8 (8) | reserved (7) | next (12) | bind=0
    bind:   ordinal (24) | addend (8) | reserved (19) | next (12) | bind=1
DYLD_CHAINED_PTR_64's target is an unslid vmaddr; _64_OFFSET's is an offset from the
mach header.  `next` counts 4-byte strides.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from oracle.emulate.macho.image import MachOImage
from oracle.emulate.macho.slide import slide_of
from oracle.records import quick_init

DYLD_CHAINED_PTR_64, DYLD_CHAINED_PTR_64_OFFSET = 2, 6
POINTER_FORMATS = {DYLD_CHAINED_PTR_64: "DYLD_CHAINED_PTR_64",
                   DYLD_CHAINED_PTR_64_OFFSET: "DYLD_CHAINED_PTR_64_OFFSET"}
DYLD_CHAINED_IMPORT, DYLD_CHAINED_IMPORT_ADDEND, DYLD_CHAINED_IMPORT_ADDEND64 = 1, 2, 3
IMPORT_SIZES = {DYLD_CHAINED_IMPORT: 4, DYLD_CHAINED_IMPORT_ADDEND: 8,
                DYLD_CHAINED_IMPORT_ADDEND64: 16}
DYLD_CHAINED_PTR_START_NONE, DYLD_CHAINED_PTR_START_MULTI = 0xFFFF, 0x8000
STRIDE = 4
MAX_FIXUPS = 1 << 22  # a corrupt chain must not loop for ever


class ChainError(Exception):
    """`kind`: "page" (a chain leaves its page), "ordinal" (an import index or library
    ordinal out of range), "starts" (the starts table disagrees with the segments), or
    "decode" (anything else that cannot be read)."""

    def __init__(self, where: str, what: str, kind: str = "decode") -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what
        self.kind = kind


@quick_init
@dataclass(frozen=True)
class Import:
    ordinal: int  # signed: 0 self, -1 main executable, -2 flat lookup, -3 weak lookup
    name: str
    weak: bool
    addend: int


@dataclass(frozen=True)
class SegmentStarts:
    segment: int  # index in the image's segments
    page_size: int
    pointer_format: int
    segment_offset: int  # from the mach header
    page_starts: tuple[int, ...]


@quick_init
@dataclass(frozen=True)
class Fixup:
    address: int  # the pointer's address in the image as loaded (slid)
    page: int  # its page's index within the segment
    bind: bool
    value: int  # rebase: the unslid target vmaddr (high8 included); bind: the import's index
    addend: int  # bind: the pointer's inline addend


@dataclass(frozen=True)
class ChainedFixups:
    imports: tuple[Import, ...]
    starts: tuple[SegmentStarts, ...]
    seg_count: int
    fixups: tuple[Fixup, ...]


def _signed_ordinal(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw >= (1 << bits) - 15 else raw  # 0xF0..0xFF are special


def read_fixups(img: MachOImage) -> ChainedFixups:
    assert img.chained_fixups is not None
    offset, size = img.chained_fixups
    blob = img.bytes_at(offset, size, "LC_DYLD_CHAINED_FIXUPS data")
    if size < 28:
        raise ChainError("chained fixups header", f"{size} bytes is shorter than the header")
    (version, starts_off, imports_off, symbols_off, count, imports_format,
     symbols_format) = struct.unpack_from("<7I", blob, 0)
    if version != 0:
        raise ChainError("chained fixups header", f"fixups_version {version} is not 0")
    if symbols_format != 0:
        raise ChainError("chained fixups header", f"symbols_format {symbols_format} "
                                                  "(compressed) is not supported")
    imports = _imports(blob, imports_off, symbols_off, count, imports_format)
    starts, seg_count = _starts(img, blob, starts_off)
    fixups = []
    for seg_starts in starts:
        fixups += _walk(img, seg_starts, len(imports))
    return ChainedFixups(tuple(imports), tuple(starts), seg_count, tuple(fixups))


def _imports(blob: bytes, at: int, symbols: int, count: int, fmt: int) -> list[Import]:
    if fmt not in IMPORT_SIZES:
        raise ChainError("chained fixups header", f"imports_format {fmt} is not "
                                                  "DYLD_CHAINED_IMPORT(_ADDEND, _ADDEND64)")
    each = IMPORT_SIZES[fmt]
    if at + count * each > len(blob) or symbols > len(blob):
        raise ChainError("chained imports", f"{count} imports at {at:#x} (or the names at "
                                            f"{symbols:#x}) run past the payload")
    out = []
    for n in range(count):
        pos = at + n * each
        if fmt == DYLD_CHAINED_IMPORT_ADDEND64:
            raw, addend = struct.unpack_from("<Qq", blob, pos)
            ordinal, weak, name_off = raw & 0xFFFF, raw >> 16 & 1, raw >> 32
            ordinal = _signed_ordinal(ordinal, 16)
        else:
            (raw,) = struct.unpack_from("<I", blob, pos)
            addend = struct.unpack_from("<i", blob, pos + 4)[0] if fmt == DYLD_CHAINED_IMPORT_ADDEND else 0
            ordinal, weak, name_off = _signed_ordinal(raw & 0xFF, 8), raw >> 8 & 1, raw >> 9
        start = symbols + name_off
        end = blob.find(b"\0", start)
        if start >= len(blob) or end < 0:
            raise ChainError(f"chained import {n}", f"name offset {name_off:#x} is outside "
                                                    "the symbol strings")
        out.append(Import(ordinal, blob[start:end].decode("utf-8", "replace"), bool(weak),
                          addend))
    return out


def _starts(img: MachOImage, blob: bytes, at: int) -> tuple[list[SegmentStarts], int]:
    if at + 4 > len(blob):
        raise ChainError("chained starts", f"starts_offset {at:#x} is outside the payload")
    (seg_count,) = struct.unpack_from("<I", blob, at)
    if at + 4 + 4 * seg_count > len(blob):
        raise ChainError("chained starts", f"{seg_count} segment offsets run past the payload")
    out = []
    for index in range(seg_count):
        (info,) = struct.unpack_from("<I", blob, at + 4 + 4 * index)
        if not info:
            continue
        pos = at + info
        if pos + 22 > len(blob):
            raise ChainError(f"chained starts of segment {index}",
                             f"record at {pos:#x} runs past the payload")
        _, page_size, fmt, seg_offset, _, page_count = struct.unpack_from("<IHHQIH", blob, pos)
        if pos + 22 + 2 * page_count > len(blob):
            raise ChainError(f"chained starts of segment {index}",
                             f"{page_count} page starts run past the payload")
        pages = struct.unpack_from(f"<{page_count}H", blob, pos + 22)
        out.append(SegmentStarts(index, page_size, fmt, seg_offset, pages))
    return out, seg_count


def _walk(img: MachOImage, starts: SegmentStarts, nimports: int) -> list[Fixup]:
    where = f"chained starts of segment {starts.segment}"
    if starts.segment >= len(img.segments):
        raise ChainError(where, f"the image has {len(img.segments)} segments", "starts")
    if starts.pointer_format not in POINTER_FORMATS:
        raise ChainError(where, f"pointer_format {starts.pointer_format} is not "
                                "DYLD_CHAINED_PTR_64 or _64_OFFSET")
    base = img.header_address()
    unslid_base = base - slide_of(img)
    out: list[Fixup] = []
    for page, first in enumerate(starts.page_starts):
        if first == DYLD_CHAINED_PTR_START_NONE:
            continue
        if first & DYLD_CHAINED_PTR_START_MULTI:
            raise ChainError(where, f"page {page}: DYLD_CHAINED_PTR_START_MULTI is for 32-bit "
                                    "formats")
        page_addr = base + starts.segment_offset + page * starts.page_size
        offset = first
        while True:
            if offset + 8 > starts.page_size:
                raise ChainError(where, f"page {page}: a fixup at +{offset:#x} leaves its "
                                        f"{starts.page_size:#x}-byte page", "page")
            addr = page_addr + offset
            # dyld finds the pages from segment_offset (MACHO-CHAIN-STARTS compares it
            # with the segment of the record's slot)
            seg = img.segment_at(addr, 8)
            if seg is None:
                raise ChainError(where, f"fixup at {addr:#x} is in no segment", "starts")
            file_at = seg.fileoff + addr - seg.vmaddr
            (raw,) = struct.unpack_from("<Q", img.bytes_at(file_at, 8, where))
            nxt = raw >> 51 & 0xFFF
            if raw >> 63:
                index, addend = raw & 0xFFFFFF, raw >> 24 & 0xFF
                if index >= nimports:
                    raise ChainError(where, f"bind at {addr:#x}: import ordinal {index} is "
                                            f"past the {nimports} imports", "ordinal")
                out.append(Fixup(addr, page, True, index, addend))
            else:
                target = raw & ((1 << 36) - 1)
                if starts.pointer_format == DYLD_CHAINED_PTR_64_OFFSET:
                    target += unslid_base
                out.append(Fixup(addr, page, False, target | (raw >> 36 & 0xFF) << 56, 0))
            if len(out) > MAX_FIXUPS:
                raise ChainError(where, f"more than {MAX_FIXUPS} fixups")
            if not nxt:
                break
            offset += nxt * STRIDE
    return out
