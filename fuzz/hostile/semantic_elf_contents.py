"""Structure-level rewrites of what an ELF file's sections hold, and of its program
headers (the semantic family's second ELF half; the model is fuzz/hostile/semantic_elf.py):
`.eh_frame` lengths, CIE pointers, augmentations and pointer encodings, note sizes, DWARF
unit headers and abbreviations (overlong ULEBs too), dynamic entries retagged or given
another entry's value, DT_NULL removed, `.hash` chains looping onto themselves, `.gnu.hash`
chains without their end bits, version chains and counts, segments overlapping or out of
order.
"""

from __future__ import annotations

from .mutate import Picker, choose
from .semantic_elf import (
    DT_TAGS,
    EH_ENCODINGS,
    PHDR,
    SHT_DYNAMIC,
    SHT_GNU_HASH,
    SHT_HASH,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_VERDEF,
    SHT_VERNEED,
    SHT_VERSYM,
    Elf,
    Op,
)


def _uleb_at(data: bytearray, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if byte < 0x80 or shift > 63:
            break
    return value, at


def eh_frame(pick: Picker, elf: Elf) -> str | None:
    """A CIE or FDE length, CIE pointer, augmentation or pointer encoding rewritten."""
    frames = [s for s in elf.sections if s.name == b".eh_frame" and s.type != SHT_NOBITS]
    if not frames:
        return None
    s = frames[0]
    start, end = elf.contents(s)
    records: list[tuple[int, int, int]] = []
    at = start
    while at + 8 <= end and len(records) < 256:
        length = elf.get(at, 4)
        if length == 0 or length == 0xFFFFFFFF:
            break
        records.append((at, length, elf.get(at + 4, 4)))
        at += 4 + length
    if not records:
        return None
    at, length, cie = choose(pick, records)
    kind = pick.integer(0, 3)
    if kind == 0:
        value = choose(pick, [0, 0xFFFFFFFF, length + 4, length - 4, 4, 8, end - at,
                              end - at - 3, 0xFFFFFFF0])
        elf.put(at, 4, value)
        return f".eh_frame record at +{at - start:#x} length {length} -> {value:#x}"
    if kind == 1:
        value = choose(pick, [0, at + 4 - start, at + 4 - start + 4, cie + 4, 0xFFFFFFFF,
                              at + 4 - records[0][0] + 1])
        elf.put(at + 4, 4, value)
        return f".eh_frame record at +{at - start:#x} CIE pointer {cie:#x} -> {value:#x}"
    cies = [r for r in records if r[2] == 0]
    if not cies:
        return None
    at, _, _ = choose(pick, cies)
    aug = at + 9
    if kind == 2:
        text = choose(pick, [b"zPLR", b"zR\xff", b"eh", b"zRzR", b"zLLLLLLLLLLLLLLLLLLLLLLLLR",
                             b"z", b"S"])
        elf.data[aug:aug + len(text)] = text
        return f".eh_frame CIE at +{at - start:#x} augmentation -> {text!r}"
    aug_end = elf.data.find(b"\0", aug, end)
    if aug_end < 0 or b"R" not in elf.data[aug:aug_end]:
        return None
    pos = aug_end + 1
    for _ in range(3):  # code alignment, data alignment, return register (ULEBs)
        _, pos = _uleb_at(elf.data, pos)
    _, pos = _uleb_at(elf.data, pos)  # augmentation data length
    for letter in bytes(elf.data[aug + 1:aug_end]):
        if letter == ord("R"):
            value = choose(pick, EH_ENCODINGS)
            elf.put(pos, 1, value)
            return f".eh_frame CIE at +{at - start:#x} FDE encoding -> {value:#x}"
        if letter == ord("P"):
            pos += 1 + {0: elf.word, 3: 4, 0x1B: 4, 0x9B: 4, 0x0B: 4}.get(elf.data[pos], 4)
        elif letter == ord("L"):
            pos += 1
    return None


def notes(pick: Picker, elf: Elf) -> str | None:
    found = [s for s in elf.of_type(SHT_NOTE) if s.size >= 12]
    if not found:
        return None
    s = choose(pick, found)
    what = choose(pick, [0, 4, 8])
    value = choose(pick, [0, 1, 3, s.size, s.size - 11, 0xFFFFFFFF, 0x7FFFFFFF, 5])
    elf.put(s.offset + what, 4, value)
    return f"note [{s.index}] {['namesz', 'descsz', 'type'][what // 4]} -> {value:#x}"


def dwarf(pick: Picker, elf: Elf) -> str | None:
    """A unit's length, version, abbreviation offset or address size; an abbreviation's
    code, tag or form; a ULEB made overlong."""
    info = [s for s in elf.sections if s.name in (b".debug_info", b".debug_abbrev",
                                                   b".debug_line", b".debug_str_offsets",
                                                   b".debug_rnglists", b".debug_aranges")
            and s.size >= 12 and s.type != SHT_NOBITS]
    if not info:
        return None
    s = choose(pick, info)
    start, end = elf.contents(s)
    if s.name == b".debug_abbrev" or pick.integer(0, 3) == 0:
        at = start + pick.integer(0, min(end - start, 96) - 1)
        if pick.integer(0, 2) == 0:
            run = min(end - at, pick.integer(2, 12))
            elf.data[at:at + run] = b"\x80" * (run - 1) + b"\x01"
            return f"{s.name.decode()}+{at - start:#x}: overlong ULEB of {run} bytes"
        value = choose(pick, [0, 0x7F, 0x80, 0xFF, pick.integer(0, 0x30), 0x21, 0x1F])
        elf.data[at] = value
        return f"{s.name.decode()}+{at - start:#x} -> {value:#x}"
    what = choose(pick, [(0, 4), (4, 2), (6, 4), (6, 1), (7, 1), (8, 4), (10, 1)])
    value = choose(pick, [0, 0xFFFFFFFF, s.size, s.size - 3, 1, 6, 0xFFFF, 3, 16, 255,
                          0xFFFFFFF0])
    elf.put(start + what[0], what[1], value)
    return f"{s.name.decode()}+{what[0]} ({what[1]} bytes) -> {value:#x}"


def dynamic(pick: Picker, elf: Elf) -> str | None:
    """A dynamic entry's tag or value set to another entry's, a string table's edge, a
    section's address; the terminating DT_NULL removed; an entry duplicated."""
    found = [s for s in elf.of_type(SHT_DYNAMIC) if s.size]
    if not found:
        return None
    s = found[0]
    entries = elf.entries(s, 2 * elf.word)
    if not entries:
        return None
    at = choose(pick, entries)
    kind = pick.integer(0, 3)
    if kind == 0:
        value = choose(pick, DT_TAGS)
        elf.put(at, elf.word, value)
        return f"dynamic entry at {at:#x} tag -> {value:#x}"
    if kind == 1:
        strtab_ = elf.sections[s.link] if s.link < len(elf.sections) else None
        strsz = strtab_.size if strtab_ else 0
        other = elf.get(choose(pick, entries) + elf.word, elf.word)
        value = choose(pick, [strsz, strsz - 1, strsz + 1, other, other + 1, len(elf.data),
                              0, (1 << (8 * elf.word)) - 1, 1 << 30,
                              choose(pick, elf.sections).addr,
                              choose(pick, elf.sections).addr + 1])
        elf.put(at + elf.word, elf.word, value)
        return f"dynamic entry at {at:#x} value -> {value:#x}"
    if kind == 2:
        for e in entries:
            if elf.get(e, elf.word) == 0:
                elf.put(e, elf.word, 21)  # DT_DEBUG: the array runs to the section's end
        return "dynamic array's DT_NULLs turned to DT_DEBUG"
    src = choose(pick, entries)
    elf.data[at:at + 2 * elf.word] = elf.data[src:src + 2 * elf.word]
    return f"dynamic entry at {src:#x} copied over {at:#x}"


def hashes(pick: Picker, elf: Elf) -> str | None:
    """.hash counts lying or a chain looping onto itself; .gnu.hash's symbol offset,
    bloom size and shift, buckets past the table, chains without their end bit."""
    found = [s for s in elf.of_type(SHT_HASH, SHT_GNU_HASH) if s.size >= 16]
    if not found:
        return None
    s = choose(pick, found)
    start, end = elf.contents(s)
    if s.type == SHT_HASH:
        nbucket, nchain = elf.get(start, 4), elf.get(start + 4, 4)
        kind = pick.integer(0, 2)
        if kind == 0:
            what = choose(pick, [0, 4])
            value = choose(pick, [0, nchain + 1, nchain - 1, 0xFFFFFFFF, 0x40000000,
                                  nbucket * 2])
            elf.put(start + what, 4, value)
            return f".hash {'nchain' if what else 'nbucket'} -> {value:#x}"
        chain = start + 8 + 4 * nbucket
        slots = list(range(chain, end - 3, 4))
        if not slots:
            return None
        at = choose(pick, slots)
        index = (at - chain) // 4
        value = choose(pick, [index, index - 1 if index else 0, nchain, 0xFFFFFFFF])
        elf.put(at, 4, value)
        return f".hash chain[{index}] -> {value} (itself: a loop)"
    nbuckets, symoffset = elf.get(start, 4), elf.get(start + 4, 4)
    bloom_size = elf.get(start + 8, 4)
    kind = pick.integer(0, 3)
    if kind == 0:
        what = choose(pick, [0, 4, 8, 12])
        value = choose(pick, [0, 1, 3, 63, 64, 255, 0xFFFFFFFF, symoffset + 1000,
                              nbuckets + 1, 0x40000000])
        elf.put(start + what, 4, value)
        return f".gnu.hash header word {what // 4} -> {value:#x}"
    buckets = start + 16 + bloom_size * elf.word
    if kind == 1 and nbuckets:
        at = buckets + 4 * pick.integer(0, nbuckets - 1)
        value = choose(pick, [symoffset - 1, 0xFFFFFFFF, 0x10000, symoffset + 500, 1])
        elf.put(at, 4, value)
        return f".gnu.hash bucket at {at:#x} -> {value:#x}"
    chains = buckets + 4 * nbuckets
    if chains >= end:
        return None
    for at in range(chains, end - 3, 4):
        elf.put(at, 4, elf.get(at, 4) & ~1)
    return ".gnu.hash chains without their end bits"


def versions(pick: Picker, elf: Elf) -> str | None:
    """Version indexes past the definitions, chains pointing back or past the section,
    counts lying, names past the string table."""
    found = [s for s in elf.of_type(SHT_VERSYM, SHT_VERDEF, SHT_VERNEED) if s.size >= 2]
    if not found:
        return None
    s = choose(pick, found)
    start, end = elf.contents(s)
    if s.type == SHT_VERSYM:
        at = start + 2 * pick.integer(0, (end - start) // 2 - 1)
        value = choose(pick, [pick.integer(2, 20), 0x7FFF, 0x8000, 0xFFFF, 0x8002, 1, 0])
        elf.put(at, 2, value)
        return f"versym at {at:#x} -> {value:#x}"
    if end - start < 16:
        return None
    # verdef: version 0, flags 2, ndx 4, cnt 6, hash 8, aux 12, next 16;
    # verneed: version 0, cnt 2, file 4, aux 8, next 12; each aux's next at +12 (def: +4)
    fields = ([(0, 2), (2, 2), (4, 2), (6, 2), (12, 4), (16, 4)] if s.type == SHT_VERDEF
              else [(0, 2), (2, 2), (4, 4), (8, 4), (12, 4)])
    off, width = choose(pick, fields)
    value = choose(pick, [0, 1, 0xFFFF, 0xFFFFFFFF, (1 << 32) - 16, end - start,
                          end - start - 4, 0x10000, 2, 20])
    elf.put(start + off, width, value)
    return f"{s.name.decode(errors='replace')} first entry +{off} -> {value:#x}"


def program_headers(pick: Picker, elf: Elf) -> str | None:
    """Segments overlapping, out of order, past the file; PT_DYNAMIC/PT_INTERP/PT_TLS
    pointing elsewhere; alignments that are not powers of two."""
    if not elf.phnum or elf.phoff + elf.phnum * elf.phentsize > len(elf.data):
        return None
    headers = [elf.phoff + i * elf.phentsize for i in range(min(elf.phnum, 64))]
    at, other = choose(pick, headers), choose(pick, headers)
    if pick.integer(0, 4) == 0:
        first = bytes(elf.data[at:at + elf.phentsize])
        elf.data[at:at + elf.phentsize] = elf.data[other:other + elf.phentsize]
        elf.data[other:other + elf.phentsize] = first
        return f"program headers at {at:#x} and {other:#x} swapped"
    layout = PHDR[elf.is64]
    what = choose(pick, list(layout))
    off, width = layout[what]
    current, theirs = elf.get(at + off, width), elf.get(other + off, width)
    value = choose(pick, [theirs, theirs + 1, current + 1, current - 1, len(elf.data),
                          len(elf.data) + 1, 3, 0, 1 << (8 * width - 1), current * 2 + 0x1000,
                          *((1, 2, 3, 4, 6, 7, 0x6474E550, 0x6474E551, 0x6474E552, 0x6474E553)
                            if what == "p_type" else ())])
    elf.put(at + off, width, value)
    return f"program header at {at:#x}.{what} {current:#x} -> {value:#x}"


CONTENT_OPS: tuple[Op, ...] = (eh_frame, notes, dwarf, dynamic, hashes, versions,
                               program_headers)
