"""Segment and section rules: what the kernel maps and dyld's validSegments checks."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import (
    DYLD_SEGMENTS,
    KERNEL,
    KERNEL_PAGEZERO,
    Finding,
    MachOFile,
    rule,
)
from oracle.emulate.macho import image as mi

TOPIC = "segments"
PAGE = 0x1000  # x86-64 macOS pages


@rule("MACHO-SEG-ALIGN", TOPIC, "segment vmaddr and fileoff are page-aligned", DYLD_SEGMENTS)
def seg_align(f: MachOFile) -> Iterator[Finding]:
    for seg in f.img.segments:
        if seg.vmaddr % PAGE:
            yield seg.name, f"vmaddr {seg.vmaddr:#x} is not page-aligned"
        if seg.fileoff % PAGE:
            yield seg.name, f"fileoff {seg.fileoff:#x} is not page-aligned"


def file_only(seg: mi.Segment) -> bool:
    """A segment of file bytes that is never mapped: vmsize 0 (Go's linker puts compressed
    DWARF in such a `__DWARF` segment; lldb reads it from the file).  macOS's dyld and the
    kernel skip it, where they refuse any other segment whose filesize exceeds its vmsize;
    its sections then lie outside every vm range, and that is no violation."""
    return seg.vmsize == 0 and seg.filesize > 0


@rule("MACHO-SEG-FILE", TOPIC,
      "a segment's file bytes lie inside the file and filesize <= vmsize, except in a "
      "file-only segment (vmsize 0, which dyld does not map), whose initprot must be 0",
      DYLD_SEGMENTS)
def seg_file(f: MachOFile) -> Iterator[Finding]:
    for seg in f.img.segments:
        if seg.fileoff + seg.filesize > len(f.data):
            yield seg.name, (f"file range [{seg.fileoff:#x}, {seg.fileoff + seg.filesize:#x}) "
                             f"runs past the end of the file ({len(f.data):#x})")
        if file_only(seg):
            if seg.initprot:  # today's dyld maps a vmsize-0 segment only with no access
                yield seg.name, (f"vmsize 0 with {seg.filesize:#x} file bytes, but initprot "
                                 f"{seg.initprot:#x}: a file-only segment has no access")
        elif seg.filesize > seg.vmsize:
            yield seg.name, f"filesize {seg.filesize:#x} > vmsize {seg.vmsize:#x}"


@rule("MACHO-SEG-OVERLAP", TOPIC,
      "no two segments overlap in memory or in the file", DYLD_SEGMENTS)
def seg_overlap(f: MachOFile) -> Iterator[Finding]:
    segs = f.img.segments
    for i, a in enumerate(segs):
        for b in segs[i + 1 :]:
            if a.vmsize and b.vmsize and a.vmaddr < b.vmaddr + b.vmsize \
                    and b.vmaddr < a.vmaddr + a.vmsize:
                yield f"{a.name}/{b.name}", "their vm ranges overlap"
            if a.filesize and b.filesize and a.fileoff < b.fileoff + b.filesize \
                    and b.fileoff < a.fileoff + a.filesize:
                yield f"{a.name}/{b.name}", "their file ranges overlap"


@rule("MACHO-SEG-PROT", TOPIC, "initprot is a subset of maxprot", KERNEL)
def seg_prot(f: MachOFile) -> Iterator[Finding]:
    for seg in f.img.segments:
        if seg.initprot & ~seg.maxprot & 7:
            yield seg.name, f"initprot {seg.initprot:#x} exceeds maxprot {seg.maxprot:#x}"


@rule("MACHO-SECT-IN-SEG", TOPIC,
      "each section lies inside its segment, in memory and (unless zerofill) in the file; "
      "a file-only segment's (vmsize 0) in the file only",
      DYLD_SEGMENTS)
def sect_in_seg(f: MachOFile) -> Iterator[Finding]:
    for seg in f.img.segments:
        for sect in seg.sections:
            where = sect.name
            if sect.segname != seg.name:
                yield where, f"listed in segment {seg.name}"
            if not seg.contains(sect.addr, sect.size) and sect.size and not file_only(seg):
                yield where, (f"[{sect.addr:#x}, {sect.addr + sect.size:#x}) is outside "
                              f"{seg.name}'s vm range")
            if sect.zerofill or not sect.size:
                continue
            end = seg.fileoff + seg.filesize
            if not (seg.fileoff <= sect.offset and sect.offset + sect.size <= end):
                yield where, (f"file range [{sect.offset:#x}, {sect.offset + sect.size:#x}) "
                              f"is outside {seg.name}'s")
            elif sect.offset - seg.fileoff != sect.addr - seg.vmaddr and not file_only(seg):
                yield where, "file offset and address disagree about the place in the segment"


@rule("MACHO-PAGEZERO", TOPIC,
      "a 64-bit executable starts with __PAGEZERO: vmaddr 0, at least a page, no access, no "
      "file; an i386 one need not have it (the kernel demands a hard page zero of 64-bit "
      "processes only), but one it has must have that shape",
      KERNEL_PAGEZERO)
def pagezero(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.filetype != mi.MH_EXECUTE:
        return
    zero = img.segment_named("__PAGEZERO")
    if zero is None:
        if img.is64:
            yield "__PAGEZERO", "missing (a null dereference would not fault)"
        return
    if zero.vmaddr != 0 or zero.vmsize < PAGE:
        yield "__PAGEZERO", (f"[{zero.vmaddr:#x}, {zero.vmaddr + zero.vmsize:#x}) does not "
                             "cover page 0")
    if zero.initprot or zero.maxprot:
        yield "__PAGEZERO", f"initprot {zero.initprot:#x} / maxprot {zero.maxprot:#x} not 0"
    if zero.filesize:
        yield "__PAGEZERO", f"filesize {zero.filesize:#x} is not 0"
