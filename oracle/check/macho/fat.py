"""Universal (fat) files: the fat header's rules, then every slice the checker reads
(x86-64, i386) checked as a thin file, its violations named `slice ARCH: ...`.

The fat rules are the ones the kernel and dyld apply before they pick a slice: xnu's
fatfile_validate_fatarches (every slice inside the file, no two overlapping, no two for
the same cputype/cpusubtype) and dyld3's FatFile slice checks (each slice at an offset
aligned as its `align` field says; lipo aligns x86 slices to 2**12 and arm64 ones to
2**14).  Slices of other CPUs (arm64, arm64e) are judged by the fat rules only.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterator

from oracle.check.macho.registry import Finding, MachOFile, MachORule, RuleFunc
from oracle.check.violation import Violation
from oracle.emulate.macho import fat as mf

TOPIC = "fat"
FAT_SOURCE = "mach-o/fat.h; xnu mach_fat.c fatfile_validate_fatarches"
DYLD_FAT = "dyld3 FatFile::forEachSlice / isFatFileWithSlice"
MAX_ALIGN = 15  # lipo's largest (2**15); a larger one is a corrupt field, not a choice
FAT_RULES: list[MachORule] = []


def _fat_rule(rule_id: str, rationale: str, source: str) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        FAT_RULES.append(MachORule(rule_id, TOPIC, rationale, source, func))
        return func
    return register


def _slices(f: MachOFile) -> list[mf.FatSlice]:
    try:
        return mf.read_fat(f.data)
    except (mf.FatError, struct.error):
        return []


def _header_end(f: MachOFile, count: int) -> int:
    wide = f.data[:4] == mf.FAT_MAGIC_BYTES[1]
    return 8 + count * (32 if wide else 20)


@_fat_rule("MACHO-FAT-HEADER", "the fat header's records fit in the file and name at least "
           "one slice", FAT_SOURCE)
def fat_header(f: MachOFile) -> Iterator[Finding]:
    try:
        slices = mf.read_fat(f.data)
    except mf.FatError as err:
        yield err.where, err.what
        return
    if not slices:
        yield "fat header", "nfat_arch is 0: no slice"


@_fat_rule("MACHO-FAT-RANGE", "every slice lies inside the file, after the fat header",
           FAT_SOURCE)
def fat_range(f: MachOFile) -> Iterator[Finding]:
    slices = _slices(f)
    start = _header_end(f, len(slices))
    for s in slices:
        where = f"slice {s.index} ({s.arch})"
        if s.offset < start:
            yield where, f"offset {s.offset:#x} is inside the fat header (ends {start:#x})"
        if s.offset + s.size > len(f.data):
            yield where, (f"offset {s.offset:#x} + size {s.size:#x} runs past the file's "
                          f"{len(f.data):#x} bytes")


@_fat_rule("MACHO-FAT-ALIGN", "each slice's offset is a multiple of 2**align, align at most "
           f"{MAX_ALIGN} (the slice is mapped from that offset)", DYLD_FAT)
def fat_align(f: MachOFile) -> Iterator[Finding]:
    for s in _slices(f):
        where = f"slice {s.index} ({s.arch})"
        if s.align > MAX_ALIGN:
            yield where, f"align 2**{s.align} is past lipo's 2**{MAX_ALIGN}"
        elif s.offset % (1 << s.align):
            yield where, f"offset {s.offset:#x} is not a multiple of 2**{s.align}"


@_fat_rule("MACHO-FAT-OVERLAP", "no two slices overlap", FAT_SOURCE)
def fat_overlap(f: MachOFile) -> Iterator[Finding]:
    ordered = sorted(_slices(f), key=lambda s: s.offset)
    for a, b in itertools.pairwise(ordered):
        if a.offset + a.size > b.offset:
            what = (f"starts at {b.offset:#x}, inside slice {a.index} ({a.arch}) "
                    f"[{a.offset:#x}, {a.offset + a.size:#x})")
            yield f"slice {b.index} ({b.arch})", what


@_fat_rule("MACHO-FAT-UNIQUE", "one slice per cputype/cpusubtype (the loader could not "
           "choose between two)", FAT_SOURCE)
def fat_unique(f: MachOFile) -> Iterator[Finding]:
    seen: dict[tuple[int, int], int] = {}
    for s in _slices(f):
        key = (s.cputype, s.cpusubtype & ~mf.CPU_SUBTYPE_MASK & 0xFFFFFFFF)
        if key in seen:
            yield f"slice {s.index} ({s.arch})", f"same cputype/cpusubtype as slice {seen[key]}"
        else:
            seen[key] = s.index


@_fat_rule("MACHO-FAT-SLICE-CPU", "a slice's own mach_header names the cputype and "
           "cpusubtype its fat_arch record names (dyld picks by the record, then maps the "
           "header); a static archive's slice (lipo's universal libraries) has none",
           DYLD_FAT)
def fat_slice_cpu(f: MachOFile) -> Iterator[Finding]:
    for s in _slices(f):
        if s.offset + 12 > len(f.data):
            continue  # MACHO-FAT-RANGE says so
        magic, cputype, cpusubtype = struct.unpack_from("<III", f.data, s.offset)
        where = f"slice {s.index} ({s.arch})"
        if f.data[s.offset:s.offset + 8] == mf.AR_MAGIC:
            continue  # a universal static library's slice: an archive has no mach_header
        if magic not in (0xFEEDFACE, 0xFEEDFACF):
            yield where, f"starts with {magic:#x}, not a little-endian mach_header"
        elif cputype != s.cputype & 0xFFFFFFFF or (cpusubtype ^ s.cpusubtype) & ~mf.CPU_SUBTYPE_MASK & 0xFFFFFFFF:
            yield where, (f"its header says cputype {cputype:#x}/{cpusubtype:#x}, the fat "
                          f"record {s.cputype & 0xFFFFFFFF:#x}/{s.cpusubtype & 0xFFFFFFFF:#x}")


def check_fat(data: bytes, arch: str | None,
              check_thin: Callable[[bytes], list[Violation]]) -> list[Violation]:
    """The fat rules, then `check_thin(slice bytes)` for each readable slice (or only the
    one `arch` names; a missing one is a MACHO-FAT-ARCH violation listing the slices)."""
    from oracle.check.macho import run_rules  # the runner shared with thin files

    found = run_rules(MachOFile(data), FAT_RULES)
    slices = _slices(MachOFile(data))
    chosen = [s for s in slices if (s.arch == arch if arch else s.arch in mf.READABLE_ARCHS)]
    if arch and not chosen:
        found.append(Violation("MACHO-FAT-ARCH", "fat header",
                               f"no {arch} slice (slices present: {mf.slice_names(slices)})"))
    for s in chosen:
        if s.offset + s.size > len(data):
            continue  # MACHO-FAT-RANGE has said so
        thin = data[s.offset:s.offset + s.size]
        if mf.is_fat(thin):  # a slice at offset 0 is the fat file again: checking it would
            continue  # recurse for ever (MACHO-FAT-SLICE-CPU says it is no mach_header)
        found.extend(Violation(v.rule, f"slice {s.arch}: {v.where}", v.what, v.severity)
                     for v in check_thin(thin))
    return found
