"""LC_DYLD_CHAINED_FIXUPS rules, on the emulated dyld's own reading of the chains
(oracle.emulate.macho.chained): each chain stays inside its page, every import ordinal
(the pointer's index into the imports, and the import's library ordinal) is in range,
the starts table matches the segments, and no pointer is both rebased and bound (twice
in the chains, or once in the chains and again in dyld-info opcodes)."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import chained as ch

TOPIC = "chains"
FIXUP_CHAINS = "dyld MachOAnalyzer::validChainedFixupsInfo / forEachFixupInSegmentChains"
SPECIAL_ORDINALS = (0, -1, -2, -3)  # self, main executable, flat lookup, weak lookup


def _read(f: MachOFile) -> ch.ChainedFixups | ch.ChainError | None:
    if f.img.chained_fixups is None:
        return None
    key = "chained"
    if key not in f.memo:
        try:
            f.memo[key] = ch.read_fixups(f.img)
        except ch.ChainError as err:
            f.memo[key] = err
    found = f.memo[key]
    assert found is None or isinstance(found, ch.ChainedFixups | ch.ChainError)
    return found


def _errors(f: MachOFile, kind: str) -> Iterator[Finding]:
    found = _read(f)
    if isinstance(found, ch.ChainError) and found.kind == kind:
        yield found.where, found.what


@rule("MACHO-CHAIN-DECODE", TOPIC,
      "LC_DYLD_CHAINED_FIXUPS decodes: version 0, uncompressed names, a known imports format "
      "(DYLD_CHAINED_IMPORT, _ADDEND, _ADDEND64) and pointer format (DYLD_CHAINED_PTR_64, "
      "_64_OFFSET), every table inside the payload", FIXUP_CHAINS)
def chain_decode(f: MachOFile) -> Iterator[Finding]:
    yield from _errors(f, "decode")


@rule("MACHO-CHAIN-PAGE", TOPIC,
      "each chain stays in its page: a fixup and the 8 bytes it rewrites lie inside the page "
      "its starts entry names (dyld walks one page at a time)", FIXUP_CHAINS)
def chain_page(f: MachOFile) -> Iterator[Finding]:
    yield from _errors(f, "page")


@rule("MACHO-CHAIN-ORDINAL", TOPIC,
      "every bind names an import that exists, and every import's library ordinal names an "
      "LC_LOAD_DYLIB (or self, the executable, flat or weak lookup)", FIXUP_CHAINS)
def chain_ordinal(f: MachOFile) -> Iterator[Finding]:
    yield from _errors(f, "ordinal")
    found = _read(f)
    if not isinstance(found, ch.ChainedFixups):
        return
    for n, imp in enumerate(found.imports):
        if imp.ordinal not in SPECIAL_ORDINALS and not 1 <= imp.ordinal <= len(f.img.dylibs):
            what = (f"library ordinal {imp.ordinal} names no LC_LOAD_DYLIB "
                    f"({len(f.img.dylibs)})")
            yield f"chained import {n} ({imp.name})", what


@rule("MACHO-CHAIN-STARTS", TOPIC,
      "the starts table matches the segments: one slot per segment, each record's "
      "segment_offset the segment's offset from the header, enough pages to cover it, and "
      "fixups only in writable segments", FIXUP_CHAINS)
def chain_starts(f: MachOFile) -> Iterator[Finding]:
    yield from _errors(f, "starts")
    found = _read(f)
    if not isinstance(found, ch.ChainedFixups):
        return
    img = f.img
    if found.seg_count != len(img.segments):
        yield "chained starts", (f"seg_count {found.seg_count}, the image has "
                                 f"{len(img.segments)} segments")
    base = img.header_address()
    for s in found.starts:
        seg = img.segments[s.segment]
        where = f"chained starts of segment {s.segment} ({seg.name})"
        if s.segment_offset != seg.vmaddr - base:
            yield where, (f"segment_offset {s.segment_offset:#x}, the segment is at "
                          f"{seg.vmaddr - base:#x} from the header")
        if s.page_size and len(s.page_starts) * s.page_size < seg.vmsize:
            yield where, (f"{len(s.page_starts)} pages of {s.page_size:#x} do not cover "
                          f"vmsize {seg.vmsize:#x}")
        if not seg.writable and any(p != ch.DYLD_CHAINED_PTR_START_NONE for p in s.page_starts):
            yield where, f"{seg.name} is not writable"


@rule("MACHO-CHAIN-EXCLUSIVE", TOPIC,
      "no pointer is both rebased and bound: each address appears once in the chains, and "
      "an image with chained fixups has no dyld-info rebase or bind opcodes", FIXUP_CHAINS)
def chain_exclusive(f: MachOFile) -> Iterator[Finding]:
    found = _read(f)
    if not isinstance(found, ch.ChainedFixups):
        return
    seen: set[int] = set()
    for fix in found.fixups:
        if fix.address in seen:
            yield f"fixup at {fix.address:#x}", "reached twice by the chains"
        seen.add(fix.address)
    info = f.img.dyld_info
    if info is not None and (info.rebase[1] or info.bind[1] or info.lazy_bind[1]):
        yield "LC_DYLD_INFO", ("rebase/bind opcodes beside LC_DYLD_CHAINED_FIXUPS: the pointers "
                               "would be fixed twice")
