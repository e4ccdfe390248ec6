"""Program property rules: `.note.gnu.property` and PT_GNU_PROPERTY.

glibc's ld.so (`_dl_process_pt_gnu_property`) finds the note through PT_GNU_PROPERTY only,
and ignores the segment unless its p_align is the word size (8 on ELF64, 4 on ELF32); it
then walks the properties in order, expecting them sorted by pr_type, each pr_datasz
padded to the word size, and stops trusting the note at the first malformed entry.  The
kernel reads the same segment to enable x86 shadow stacks.  A merged note that ld.so cannot
walk silently turns the features off, or worse leaves a half-read IBT/SHSTK state.

ELF-GNU-PROPERTY: the note section (if any) is one NT_GNU_PROPERTY_TYPE_0 note owned by
"GNU", word-aligned, with sorted, well-padded properties, the x86 32-bit ones 4 bytes
long; PT_GNU_PROPERTY exists exactly when the section does, is unique, covers the section
exactly, with p_align the word size, and a PT_NOTE of the same alignment covers it too.
A note with no PT_GNU_PROPERTY at all is inert (ld.so and the kernel never see it; mold 1.10
writes such outputs) and is not reported.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import DL_LOAD, Finding, rule

TOPIC = "property"
NOTE_SECTION = ".note.gnu.property"
PT_GNU_PROPERTY = 0x6474E553
NT_GNU_PROPERTY_TYPE_0 = 5
# x86 psABI: the AND, OR and OR-AND ranges of 32-bit properties
_X86_UINT32 = (0xC0000002, 0xC0017FFF)


@rule("ELF-GNU-PROPERTY", TOPIC,
      ".note.gnu.property is one well-formed, sorted NT_GNU_PROPERTY_TYPE_0 note, found by a "
      "unique PT_GNU_PROPERTY (p_align = word size) covering exactly it", DL_LOAD)
def gnu_property(img: ElfImage) -> Iterator[Finding]:
    sec = img.section(NOTE_SECTION)
    segs = [s for s in img.segments if s.type == PT_GNU_PROPERTY]
    if sec is None:
        if img.sections:  # (a file without section headers: what the loader reads, only)
            for seg in segs:
                yield seg.name, "PT_GNU_PROPERTY without a .note.gnu.property section"
        elif segs and segs[0].offset + segs[0].filesz <= len(img.data):
            seg = segs[0]
            if seg.align != img.word:
                yield seg.name, (f"p_align {seg.align}: ld.so ignores a PT_GNU_PROPERTY not "
                                 f"aligned {img.word}")
            yield from _properties(img, bytes(img.data[seg.offset:seg.offset + seg.filesz]))
        return
    where = NOTE_SECTION
    if sec.type != c.SHT_NOTE or not sec.flags & c.SHF_ALLOC:
        yield where, "not an allocated SHT_NOTE section"
    if sec.addralign != img.word:
        yield where, f"sh_addralign {sec.addralign}, want {img.word} (the word size)"
    if sec.offset + sec.size > len(img.data) or sec.size < 16:
        yield where, f"size {sec.size:#x} cannot hold a note"
        return
    yield from _properties(img, bytes(img.data[sec.offset:sec.offset + sec.size]))
    if not segs:  # the note is then inert (mold 1.10 writes it so): no feature is enabled
        return
    if len(segs) > 1:
        yield segs[1].name, "more than one PT_GNU_PROPERTY"
    seg = segs[0]
    if (seg.offset, seg.vaddr, seg.filesz) != (sec.offset, sec.addr, sec.size):
        yield seg.name, (f"covers [{seg.vaddr:#x}, +{seg.filesz:#x}), the section is "
                         f"[{sec.addr:#x}, +{sec.size:#x})")
    if seg.align != img.word:
        yield seg.name, f"p_align {seg.align}: ld.so ignores a PT_GNU_PROPERTY not aligned {img.word}"
    notes = [s for s in img.segments if s.type == c.PT_NOTE
             and s.offset <= sec.offset and sec.offset + sec.size <= s.offset + s.filesz]
    if not notes:
        yield where, "in no PT_NOTE"
    elif notes[0].align != sec.addralign:
        yield notes[0].name, (f"p_align {notes[0].align} over a {sec.addralign}-aligned note: a "
                              "reader steps between its notes by p_align")


def _properties(img: ElfImage, data: bytes) -> Iterator[Finding]:
    where = NOTE_SECTION
    namesz, descsz, ntype = struct.unpack_from(img.endian + "III", data, 0)
    if namesz != 4 or data[12:16] != b"GNU\0" or ntype != NT_GNU_PROPERTY_TYPE_0:
        yield where, f"note owner/type {data[12:12 + min(namesz, 8)]!r}/{ntype}, want GNU/5"
        return
    if 16 + descsz != len(data):
        yield where, f"descriptor of {descsz} bytes in a {len(data)}-byte section (one note)"
        return
    pos, previous = 16, -1
    while pos < len(data):
        if pos + 8 > len(data):
            yield where, f"property header cut at offset {pos:#x}"
            return
        kind, size = struct.unpack_from(img.endian + "II", data, pos)
        if kind <= previous:
            yield where, f"pr_type {kind:#x} after {previous:#x}: properties must be sorted"
        if _X86_UINT32[0] <= kind <= _X86_UINT32[1] and size != 4:
            yield where, f"x86 property {kind:#x} has pr_datasz {size}, want 4"
        padded = -(-size // img.word) * img.word
        if pos + 8 + padded > len(data):
            yield where, f"property {kind:#x} runs past the note"
            return
        previous, pos = kind, pos + 8 + padded
