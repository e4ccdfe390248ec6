"""__LINKEDIT: the last segment, holding every piece of link-edit data, none overlapping."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_LINKEDIT, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage

TOPIC = "linkedit"
LINKEDIT_DATA_COMMANDS = {0x1D: "LC_CODE_SIGNATURE", 0x1E: "LC_SEGMENT_SPLIT_INFO",
                          0x26: "LC_FUNCTION_STARTS", 0x29: "LC_DATA_IN_CODE",
                          mi.LC_DYLD_EXPORTS_TRIE: "LC_DYLD_EXPORTS_TRIE",
                          mi.LC_DYLD_CHAINED_FIXUPS: "LC_DYLD_CHAINED_FIXUPS"}


def linkedit_pieces(img: MachOImage) -> list[tuple[str, int, int]]:
    """(name, file offset, size) of every non-empty piece of link-edit data."""
    pieces: list[tuple[str, int, int]] = []
    info = img.dyld_info
    if info is not None:
        for name, (off, size) in (("rebase", info.rebase), ("bind", info.bind),
                                  ("weak bind", info.weak_bind), ("lazy bind", info.lazy_bind),
                                  ("export trie", info.export)):
            pieces.append((name, off, size))
    if img.symtab is not None:
        symoff, nsyms, stroff, strsize = img.symtab
        nlist = 16 if img.is64 else 12
        pieces += [("symbol table", symoff, nlist * nsyms), ("string table", stroff, strsize)]
    if img.dysymtab is not None:
        pieces.append(("indirect symbol table", img.dysymtab[12], 4 * img.dysymtab[13]))
        pieces.append(("external relocations", img.dysymtab[14], 8 * img.dysymtab[15]))
        pieces.append(("local relocations", img.dysymtab[16], 8 * img.dysymtab[17]))
    for lc in img.commands:
        if lc.cmd in LINKEDIT_DATA_COMMANDS and lc.size >= 16:
            off, size = struct.unpack_from("<II", img.data, lc.offset + 8)
            pieces.append((LINKEDIT_DATA_COMMANDS[lc.cmd], off, size))
    return [p for p in pieces if p[2]]


@rule("MACHO-LINKEDIT", TOPIC,
      "__LINKEDIT is the last segment and holds all link-edit data, without overlaps",
      DYLD_LINKEDIT)
def linkedit(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    seg = img.segment_named("__LINKEDIT")
    pieces = linkedit_pieces(img)
    if seg is None:
        if pieces:
            yield "__LINKEDIT", "missing, but the file has link-edit data"
        return
    others = [s for s in img.segments if s is not seg and s.vmsize]
    if any(s.vmaddr > seg.vmaddr or s.fileoff > seg.fileoff for s in others):
        yield "__LINKEDIT", "not the last segment in memory and in the file"
    lo, hi = seg.fileoff, seg.fileoff + seg.filesize
    for name, off, size in pieces:
        if not (lo <= off and off + size <= hi):
            yield name, (f"[{off:#x}, {off + size:#x}) is outside __LINKEDIT's file range "
                         f"[{lo:#x}, {hi:#x})")
    ordered = sorted(pieces, key=lambda p: p[1])
    for (a, a_off, a_size), (b, b_off, _) in itertools.pairwise(ordered):
        if a_off + a_size > b_off:
            yield f"{a}/{b}", "overlap in __LINKEDIT"
