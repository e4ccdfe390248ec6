"""Program header rules: PT_LOAD order, overlap, alignment and sizes; PT_PHDR, PT_INTERP
and PT_DYNAMIC placement."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from oracle.check import consts as c
from oracle.check.image import ElfImage, Segment, per_image
from oracle.check.registry import BINFMT, DL_LOAD, GABI, Finding, rule

TOPIC = "segments"
PAGE = 0x1000  # the smallest page size any x86 kernel maps with


@rule("ELF-SEG-ORDER", TOPIC, "PT_LOAD entries appear in ascending p_vaddr order", GABI)
def load_order(img: ElfImage) -> Iterator[Finding]:
    for prev, seg in zip(img.loads, img.loads[1:]):
        if seg.vaddr < prev.vaddr:
            yield seg.name, f"p_vaddr {seg.vaddr:#x} is below {prev.name}'s {prev.vaddr:#x}"


@rule("ELF-SEG-OVERLAP", TOPIC, "PT_LOAD memory images do not overlap", BINFMT)
def load_overlap(img: ElfImage) -> Iterator[Finding]:
    loads = sorted(img.loads, key=lambda s: s.vaddr)
    for prev, seg in itertools.pairwise(loads):
        if seg.vaddr < prev.vaddr + prev.memsz:
            yield seg.name, (f"[{seg.vaddr:#x}, {seg.vaddr + seg.memsz:#x}) overlaps "
                            f"{prev.name} [{prev.vaddr:#x}, {prev.vaddr + prev.memsz:#x})")


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@rule("ELF-SEG-ALIGN", TOPIC,
      "p_align is 0 or a power of two, and a PT_LOAD's p_offset = p_vaddr modulo p_align and "
      "modulo the page size (mmap maps whole pages)", f"{GABI}, {BINFMT}")
def load_align(img: ElfImage) -> Iterator[Finding]:
    for seg in img.segments:
        if seg.align > 1 and not _is_pow2(seg.align):
            yield seg.name, f"p_align {seg.align:#x} is not a power of two"
            continue
        if seg.type != c.PT_LOAD:
            continue
        for modulus in sorted({max(seg.align, 1), PAGE}):
            if (seg.offset - seg.vaddr) % modulus:
                yield seg.name, (f"p_offset {seg.offset:#x} and p_vaddr {seg.vaddr:#x} differ "
                                f"modulo {modulus:#x}")
                break


@rule("ELF-SEG-SECALIGN", TOPIC,
      "a PIE's or shared object's PT_LOAD p_align is a multiple of the sh_addralign of "
      "every section it maps: a "
      "loader that chooses the address (a PIE) aligns the image only to the largest p_align, "
      "so a segment aligned to less moves an aligned(8192) object off its boundary",
      f"{BINFMT}, {DL_LOAD}")
def load_align_covers_sections(img: ElfImage) -> Iterator[Finding]:
    if img.header.type == c.ET_EXEC:
        # loaded at its own addresses: an aligned sh_addr stays aligned (ELF-SEC-ALIGN
        # judges it), whatever p_align says (node's 2 MiB-aligned lpstub in a 4 KiB one)
        return
    for sec in img.mapped_sections:
        if sec.addralign <= 1 or not _is_pow2(sec.addralign):
            continue  # ELF-SEC-ALIGN judges the field itself
        load = img.load_at(sec.addr, sec.size)
        if load is not None and _is_pow2(load.align) and load.align % sec.addralign:
            yield sec.name, (f"sh_addralign {sec.addralign:#x} exceeds {load.name}'s p_align "
                            f"{load.align:#x}")


@rule("ELF-SEG-SIZE", TOPIC, "p_filesz <= p_memsz", GABI)
def seg_sizes(img: ElfImage) -> Iterator[Finding]:
    for seg in img.segments:
        if seg.type in (c.PT_LOAD, c.PT_TLS) and seg.filesz > seg.memsz:
            yield seg.name, f"p_filesz {seg.filesz:#x} exceeds p_memsz {seg.memsz:#x}"


@rule("ELF-SEG-FILE", TOPIC, "every segment's file image lies inside the file", BINFMT)
def seg_in_file(img: ElfImage) -> Iterator[Finding]:
    for seg in img.segments:
        if seg.filesz and seg.offset + seg.filesz > len(img.data):
            yield seg.name, (f"[{seg.offset:#x}, +{seg.filesz:#x}) runs past end of file "
                            f"({len(img.data):#x})")


def _mapped(img: ElfImage, seg: Segment) -> Segment | None:
    """The PT_LOAD whose file image holds `seg`'s bytes at the matching address."""
    for load in img.loads:
        if (load.covers_file(seg.vaddr, seg.filesz)
                and seg.offset - load.offset == seg.vaddr - load.vaddr):
            return load
    return None


def _before_loads(img: ElfImage, seg: Segment) -> bool:
    return all(seg.index < load.index for load in img.loads)


@rule("ELF-SEG-PHDR", TOPIC,
      "PT_PHDR is unique, precedes every PT_LOAD, describes e_phoff and is mapped by a PT_LOAD",
      f"{GABI}, {DL_LOAD}")
def phdr(img: ElfImage) -> Iterator[Finding]:
    phdrs = [s for s in img.segments if s.type == c.PT_PHDR]
    for extra in phdrs[1:]:
        yield extra.name, "more than one PT_PHDR"
    for seg in phdrs[:1]:
        if not _before_loads(img, seg):
            yield seg.name, "PT_PHDR does not precede every PT_LOAD"
        if seg.offset != img.header.phoff:
            yield seg.name, f"p_offset {seg.offset:#x} is not e_phoff {img.header.phoff:#x}"
        if _mapped(img, seg) is None:
            yield seg.name, (f"[{seg.vaddr:#x}, +{seg.filesz:#x}) is not mapped from its file "
                            "offset by any PT_LOAD")


@rule("ELF-SEG-INTERP", TOPIC,
      "PT_INTERP is unique, precedes every PT_LOAD, is one NUL-terminated path and is mapped "
      "by a PT_LOAD", f"{GABI}, {BINFMT}")
def interp(img: ElfImage) -> Iterator[Finding]:
    interps = [s for s in img.segments if s.type == c.PT_INTERP]
    for extra in interps[1:]:
        yield extra.name, "more than one PT_INTERP"
    for seg in interps[:1]:
        if not _before_loads(img, seg):
            yield seg.name, "PT_INTERP does not precede every PT_LOAD"
        if seg.filesz < 2 or seg.offset + seg.filesz > len(img.data):
            yield seg.name, f"p_filesz {seg.filesz:#x} cannot hold a path inside the file"
            continue
        path = img.data[seg.offset:seg.offset + seg.filesz]
        if path[-1] != 0 or b"\0" in path[:-1]:
            yield seg.name, f"{path[:64]!r} is not a single NUL-terminated string"
        if _mapped(img, seg) is None:
            yield seg.name, (f"[{seg.vaddr:#x}, +{seg.filesz:#x}) is not mapped from its file "
                            "offset by any PT_LOAD")


@rule("ELF-SEG-DYNAMIC", TOPIC,
      "PT_DYNAMIC is unique, mapped by a writable PT_LOAD (ld.so writes DT_DEBUG) and is where "
      "the .dynamic section is", f"{GABI}, {DL_LOAD}")
def dynamic_seg(img: ElfImage) -> Iterator[Finding]:
    dyns = [s for s in img.segments if s.type == c.PT_DYNAMIC]
    for extra in dyns[1:]:
        yield extra.name, "more than one PT_DYNAMIC"
    for seg in dyns[:1]:
        load = _mapped(img, seg)
        if load is None:
            yield seg.name, (f"[{seg.vaddr:#x}, +{seg.filesz:#x}) is not mapped from its file "
                            "offset by any PT_LOAD")
        elif not load.flags & c.PF_W:
            yield seg.name, f"lies in {load.name}, which is not writable"
        sec = img.section(".dynamic")
        if sec is not None and (sec.addr, sec.size) != (seg.vaddr, seg.filesz):
            yield seg.name, (f"[{seg.vaddr:#x}, +{seg.filesz:#x}) is not the .dynamic section "
                            f"[{sec.addr:#x}, +{sec.size:#x})")


def _page_down(addr: int) -> int:
    return addr & ~(PAGE - 1)


def _page_up(addr: int) -> int:
    return (addr + PAGE - 1) & ~(PAGE - 1)


def relro_pages(img: ElfImage) -> tuple[int, int] | None:
    """The pages ld.so makes read-only after relocation: both ends of PT_GNU_RELRO rounded
    down to a page (glibc _dl_protect_relro), or None when there is no such range."""
    seg = next((s for s in img.segments if s.type == c.PT_GNU_RELRO), None)
    if seg is None:
        return None
    start, end = _page_down(seg.vaddr), _page_down(seg.vaddr + seg.memsz)
    return (start, end) if start < end else None


@rule("ELF-SEG-RELRO", TOPIC,
      "PT_GNU_RELRO is unique and the pages it protects are mapped by one writable PT_LOAD",
      DL_LOAD)
def relro(img: ElfImage) -> Iterator[Finding]:
    segs = [s for s in img.segments if s.type == c.PT_GNU_RELRO]
    for extra in segs[1:]:
        yield extra.name, "more than one PT_GNU_RELRO"
    pages = relro_pages(img)
    if not segs or pages is None:
        return
    start, end = pages
    holders = [load for load in img.loads
               if _page_down(load.vaddr) <= start and end <= _page_up(load.vaddr + load.memsz)]
    if not holders:
        yield segs[0].name, (f"protected pages [{start:#x}, {end:#x}) are not inside the pages "
                            "of one PT_LOAD")
    elif not any(load.flags & c.PF_W for load in holders):
        yield segs[0].name, f"lies in {holders[0].name}, which is not writable"


@rule("ELF-SEG-TLS", TOPIC,
      "PT_TLS is unique, its initialisation image is mapped by a PT_LOAD at p_vaddr, and "
      "every SHF_TLS section lies inside it, one with contents inside its p_filesz (past it "
      "every thread's copy starts zeroed)", f"{GABI}, {DL_LOAD}")
def tls(img: ElfImage) -> Iterator[Finding]:
    segs = [s for s in img.segments if s.type == c.PT_TLS]
    for extra in segs[1:]:
        yield extra.name, "more than one PT_TLS"
    tls_sections = [s for s in img.sections if s.flags & c.SHF_TLS and s.size]
    if not segs:
        for sec in tls_sections:
            yield sec.name, "SHF_TLS section but no PT_TLS segment"
        return
    seg = segs[0]
    if seg.filesz and _mapped(img, seg) is None:
        yield seg.name, (f"image [{seg.vaddr:#x}, +{seg.filesz:#x}) is not mapped from its "
                        "file offset by any PT_LOAD")
    for sec in tls_sections:
        if not (seg.vaddr <= sec.addr and sec.addr + sec.size <= seg.vaddr + seg.memsz):
            yield sec.name, (f"[{sec.addr:#x}, +{sec.size:#x}) is outside {seg.name} "
                            f"[{seg.vaddr:#x}, +{seg.memsz:#x})")
        elif sec.type != c.SHT_NOBITS and sec.addr + sec.size > seg.vaddr + seg.filesz:
            yield sec.name, (f"initial values [{sec.addr:#x}, +{sec.size:#x}) run past "
                            f"{seg.name}'s file image [{seg.vaddr:#x}, +{seg.filesz:#x}): "
                            "threads would see zeros")


@per_image
def _file_extents(img: ElfImage) -> list[tuple[int, int, int]]:
    """(start, end, alignment) of everything the headers say the file holds: the header
    tables, every segment's file image and every section with contents, clipped to the
    file (other rules judge what runs past it)."""
    h, size = img.header, len(img.data)
    out = [(0, h.ehsize, 1)]
    if h.phnum:
        out.append((h.phoff, h.phoff + h.phnum * h.phentsize, img.word))
    if h.shoff and h.shnum:
        out.append((h.shoff, h.shoff + h.shnum * h.shentsize, img.word))
    out += [(s.offset, s.offset + s.filesz, s.align if s.type == c.PT_LOAD else 1)
            for s in img.segments if s.filesz]
    out += [(s.offset, s.offset + s.size, s.addralign) for s in img.sections if s.file_size]
    return [(min(a, size), min(b, size), max(al, 1)) for a, b, al in out]


def _unneeded_zero_runs(img: ElfImage) -> Iterator[tuple[int, int]]:
    """Stretches [a, b) of zero bytes that nothing in the file needs, longer than a page and
    than the alignment of what follows (which could have started that much earlier)."""
    extents = _file_extents(img)
    align_at: dict[int, int] = {}
    for start, _, align in extents:
        align_at[start] = max(align_at.get(start, 1), align)
    covered = 0
    gaps = []
    for start, end, _ in sorted(extents):
        if start > covered:
            gaps.append((covered, start, align_at[start]))
        covered = max(covered, end)
    gaps.append((covered, len(img.data), 1))
    for a, b, align in gaps:
        if b - a > PAGE and b - a >= align and img.data.count(0, a, b) == b - a:
            yield a, b


def _zero_tails(img: ElfImage) -> Iterator[tuple[Segment, int]]:
    """PT_LOADs whose file image runs more than a page of zeros past the last byte that any
    section with contents (or a header table) it holds needs: zero-fill written as file
    bytes.  Files without section headers are not judged."""
    if not img.sections:
        return
    starts = ends = np.zeros(0, dtype=np.int64)
    for seg in img.loads:
        start, end = seg.offset, min(seg.offset + seg.filesz, len(img.data))
        if end - start <= PAGE:
            continue  # (a small output's every segment: no arrays made)
        if not len(starts):
            # vectorised: a hostile file may pair thousands of segments with thousands of
            # sections
            extents = _file_extents(img)
            starts = np.array([a for a, _, _ in extents], dtype=np.int64)
            ends = np.array([b for _, b, _ in extents], dtype=np.int64)
        inside = ((starts >= start) & (starts < end) & (ends <= end)
                  & ~((starts == start) & (ends == end)))
        last = int(ends[inside].max()) if inside.any() else start
        if end - last > PAGE and img.data.count(0, last, end) == end - last:
            yield seg, end - last


@rule("ELF-ZERO-FILL", TOPIC,
      "zero-fill takes no file space (SHT_NOBITS occupies none; p_memsz past p_filesz is "
      "zeroed by the loader): no run of more than a page of zeros lies outside everything the "
      "headers describe (beyond what the next item's alignment needs), nor at the end of a "
      "PT_LOAD's file image past its last section with contents", GABI)
def zero_fill_in_file(img: ElfImage) -> Iterator[Finding]:
    for a, b in _unneeded_zero_runs(img):
        yield f"file[{a:#x}, {b:#x})", (f"{b - a:#x} zero bytes that no segment, section or "
                                        "header table needs")
    for seg, tail in _zero_tails(img):
        yield seg.name, (f"the last {tail:#x} bytes of p_filesz {seg.filesz:#x} are zeros no "
                         "section with contents needs (zero-fill written to the file)")
