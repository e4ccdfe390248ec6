"""Thread-local variable rules: MH_HAS_TLV_DESCRIPTORS says whether the image has
S_THREAD_LOCAL_VARIABLES descriptors (dyld sets them up only when it is set), and each
descriptor {thunk, key, offset} has its thunk bound to `__tlv_bootstrap` (by a bind
opcode or a chained bind), a zero key (dyld fills it) and an offset inside the template
(S_THREAD_LOCAL_REGULAR then S_THREAD_LOCAL_ZEROFILL).  A descriptor is three words: 24
bytes on x86-64, 12 on i386."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import chained
from oracle.emulate.macho.image import MachOImage
from oracle.emulate.macho.opcodes import OpcodeError, decode_binds

TOPIC = "tlv"
DYLD_TLV = "dyld threadLocalVariables.c / ld64 (thread-local variables)"
MH_HAS_TLV_DESCRIPTORS = 0x800000
S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x11, 0x12, 0x13
BOOTSTRAP = "__tlv_bootstrap"
MALLOC_ALIGN = 16  # what dyld's template copy is aligned to


def _bound(img: MachOImage) -> dict[int, str] | None:
    """Address -> symbol of every non-lazy bind, from opcodes or chains (None: they do not
    decode; other rules say so)."""
    try:
        if img.chained_fixups is not None:
            fixups = chained.read_fixups(img)
            return {f.address: fixups.imports[f.value].name for f in fixups.fixups if f.bind}
        if img.dyld_info is None:
            return {}
        return {img.segments[b.segment].vmaddr + b.offset: b.symbol
                for b in decode_binds(img.bytes_at(*img.dyld_info.bind, "bind opcodes"),
                                      pointer_size=img.word, limit=img.fixup_limit)
                if b.segment < len(img.segments)}
    except (chained.ChainError, OpcodeError):
        return None


@rule("MACHO-TLV", TOPIC,
      "MH_HAS_TLV_DESCRIPTORS is set exactly when S_THREAD_LOCAL_VARIABLES descriptors exist; "
      "each descriptor's thunk is bound to __tlv_bootstrap, its key is 0 and its offset lies "
      "in the thread-local template", DYLD_TLV)
def tlv(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    sections = img.sections()
    descriptors = [s for s in sections if s.type == S_THREAD_LOCAL_VARIABLES and s.size]
    flagged = bool(img.flags & MH_HAS_TLV_DESCRIPTORS)
    if flagged != bool(descriptors):
        yield "header flags", (f"MH_HAS_TLV_DESCRIPTORS is {'set' if flagged else 'clear'} "
                               f"but the image has {len(descriptors)} descriptor sections")
    if not descriptors:
        return
    word = img.word
    size_of = 3 * word
    template = [s for s in sections
                if s.type in (S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL)]
    size = (max(s.addr + s.size for s in template) - min(s.addr for s in template)
            if template else 0)
    fields = "<QQQ" if word == 8 else "<III"
    bound = _bound(img)
    for sect in descriptors:
        if sect.size % size_of:
            yield sect.name, f"size {sect.size:#x} is not a multiple of {size_of}"
        raw = img.bytes_at(sect.offset, sect.size - sect.size % size_of, sect.name)
        for k in range(sect.size // size_of):
            at = sect.addr + size_of * k
            where = f"{sect.name}[{k}] at {at:#x}"
            _, key, offset = struct.unpack_from(fields, raw, size_of * k)
            if bound is not None and bound.get(at) != BOOTSTRAP:
                yield where, f"the thunk is bound to {bound.get(at)}, not {BOOTSTRAP}"
            if key:
                yield where, f"key {key:#x} is not 0 (dyld assigns it)"
            if offset >= size:
                yield where, (f"offset {offset:#x} is outside the {size:#x}-byte thread-local "
                              "template")


@rule("MACHO-TLV-TEMPLATE-ALIGN", TOPIC,
      "the thread-local template starts at an address aligned as its most aligned section "
      "(up to 16): dyld copies the template into a block from malloc, 16-byte aligned, and "
      "each variable lands at block + its offset in the template, so a variable keeps its "
      "alignment in every thread only when its offset is a multiple of it (ld64.lld aligns "
      "__thread_data so)", DYLD_TLV)
def tlv_template_align(f: MachOFile) -> Iterator[Finding]:
    template = [s for s in f.img.sections()
                if s.type in (S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL) and s.size]
    if not template:
        return
    first = min(template, key=lambda s: s.addr)
    # (a hostile align of 2**32-2 would make `1 << align` a 512 MiB integer: capped first)
    want = min(MALLOC_ALIGN, max(1 << min(s.align, 63) for s in template))
    if first.addr % want:
        most = max(template, key=lambda s: s.align)
        yield first.name, (f"the template starts at {first.addr:#x}, not a multiple of "
                           f"{want}: {most.name}'s alignment (2^{most.align}) is lost in "
                           f"each thread's copy")
