"""Fields inside the contents of compiler-made files (fuzz.hostile.seeds_real), which the
project's generators never write: COMDAT groups, compression headers, notes (and their GNU
properties), `.eh_frame` CIEs and FDEs, DWARF unit headers (.debug_info, .debug_line,
.debug_rnglists/.debug_loclists, .debug_aranges, .debug_str_offsets), symbol versions and
hash tables of a shared library; in Mach-O, `__compact_unwind` entries and `__eh_frame`;
in an archive, each ELF member's own fields.

Only seeds marked deep get these (fuzz.hostile.mutate.Seed.deep): the other targets' draws
stay what they were, so that a campaign resumed with --start draws the same inputs.
Tolerant like fuzz.hostile.layout: it reads valid seeds and stops at what it does not know.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

Add = Callable[..., None]

SHT_NOTE, SHT_HASH, SHT_GROUP = 7, 5, 17
SHT_GNU_HASH, SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = (
    0x6FFFFFF6, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF)
SHF_COMPRESSED = 0x800
ENTRIES = 64  # entries of one table given fields (enough to reach every reader's loop)


def _u(data: bytes, fmt: str, offset: int) -> int:
    value: int = struct.unpack_from(fmt, data, offset)[0]
    return value


def _eh_frame(data: bytes, start: int, end: int, add: Add, bounds: set[int],
              what: str) -> None:
    """Each CIE and FDE: its length, its CIE id or pointer, then (a CIE) version and the
    augmentation bytes, (an FDE) the initial location and range words."""
    at, k = start, 0
    while at + 8 <= end and k < ENTRIES:
        length = _u(data, "<I", at)
        bounds.add(at)
        add(at, 4, f"{what}[{k}].length", True)
        if length == 0 or length == 0xFFFFFFFF:
            break
        add(at + 4, 4, f"{what}[{k}].cie_pointer", True)
        if _u(data, "<I", at + 4) == 0:  # a CIE: version, augmentation string, factors
            for b in range(at + 8, min(at + 4 + length, at + 20)):
                add(b, 1, f"{what}[{k}].cie+{b - at - 8}", True)
        else:
            add(at + 8, 4, f"{what}[{k}].pc_begin")
            add(at + 12, 4, f"{what}[{k}].pc_range", True)
            add(at + 16, 1, f"{what}[{k}].augmentation_length", True)
        at += 4 + length
        k += 1


def _dwarf_units(data: bytes, start: int, end: int, name: str, add: Add,
                 bounds: set[int]) -> None:
    """The header of each unit of a DWARF section that has units (32-bit DWARF)."""
    at, k = start, 0
    while at + 12 <= end and k < 16:
        length = _u(data, "<I", at)
        bounds.add(at)
        add(at, 4, f"{name}[{k}].unit_length", True)
        add(at + 4, 2, f"{name}[{k}].version", True)
        if name == ".debug_info":  # v5: unit_type, address_size, abbrev_offset
            add(at + 6, 1, f"{name}[{k}].unit_type")
            add(at + 7, 1, f"{name}[{k}].address_size", True)
            add(at + 8, 4, f"{name}[{k}].abbrev_offset", True)
            for b in range(at + 12, min(end, at + 40)):
                add(b, 1, f"{name}[{k}].die+{b - at - 12}", True)
        elif name == ".debug_line":  # v5: address_size, seg size, header_length, ...
            for b in range(at + 6, min(end, at + 40)):
                add(b, 1, f"{name}[{k}].header+{b - at - 6}", True)
        elif name in (".debug_rnglists", ".debug_loclists"):
            add(at + 6, 1, f"{name}[{k}].address_size", True)
            add(at + 8, 4, f"{name}[{k}].offset_entry_count", True)
        elif name == ".debug_aranges":
            add(at + 6, 4, f"{name}[{k}].debug_info_offset", True)
            add(at + 10, 1, f"{name}[{k}].address_size", True)
        if length == 0 or length >= 0xFFFFFFF0:
            break
        at += 4 + length
        k += 1


def _notes(data: bytes, start: int, end: int, add: Add, bounds: set[int]) -> None:
    at, k = start, 0
    while at + 12 <= end and k < 8:
        namesz, descsz = struct.unpack_from("<II", data, at)
        bounds.add(at)
        add(at, 4, f"note[{k}].namesz", True)
        add(at + 4, 4, f"note[{k}].descsz", True)
        add(at + 8, 4, f"note[{k}].type")
        desc = at + 12 + ((namesz + 3) & ~3)
        for b in range(desc, min(end, desc + min(descsz, 16)), 4):  # GNU property words
            add(b, 4, f"note[{k}].desc+{b - desc}", True)
        at = desc + ((descsz + 3) & ~3)
        k += 1


def _versions(data: bytes, start: int, end: int, sh_type: int, add: Add,
              bounds: set[int]) -> None:
    """.gnu.version_d (verdef and its verdaux chain) and .gnu.version_r (verneed and its
    vernaux chain): counts, offsets to the next entry, name offsets."""
    at, k = start, 0
    while at + 16 <= end and k < 16:
        bounds.add(at)
        if sh_type == SHT_GNU_VERDEF:  # vd_version, vd_flags, vd_ndx, vd_cnt, hash, aux, next
            parts = [(0, 2, "vd_version"), (4, 2, "vd_ndx"), (6, 2, "vd_cnt"), (12, 4, "vd_aux"),
                     (16, 4, "vd_next")]
            aux, nxt = _u(data, "<I", at + 12), _u(data, "<I", at + 16)
            aux_parts = [(0, 4, "vda_name"), (4, 4, "vda_next")]
        else:  # vn_version, vn_cnt, vn_file, vn_aux, vn_next
            parts = [(0, 2, "vn_version"), (2, 2, "vn_cnt"), (4, 4, "vn_file"),
                     (8, 4, "vn_aux"), (12, 4, "vn_next")]
            aux, nxt = _u(data, "<I", at + 8), _u(data, "<I", at + 12)
            aux_parts = [(6, 2, "vna_other"), (8, 4, "vna_name"), (12, 4, "vna_next")]
        for rel, width, what in parts:
            add(at + rel, width, f"ver[{k}].{what}", what not in ("vd_version", "vn_version"))
        if at + aux + 8 <= end:
            bounds.add(at + aux)
            for rel, width, what in aux_parts:
                add(at + aux + rel, width, f"ver[{k}].aux.{what}", True)
        if nxt == 0:
            break
        at += nxt
        k += 1


def elf_contents(data: bytes, is64: bool, sections: list[tuple[int, tuple[int, ...]]],
                 add: Add, bounds: set[int]) -> None:
    """The fields inside an ELF file's sections (`sections`: index and header tuple as
    fuzz.hostile.layout reads them: name, type, flags, addr, offset, size, link, info,
    addralign, entsize)."""
    shstrndx = _u(data, "<H", 62 if is64 else 50)
    names: dict[int, str] = {}
    headers = dict(sections)
    if shstrndx in headers:
        strtab = headers[shstrndx][4]
        for i, sh in sections:
            at = strtab + sh[0]
            names[i] = data[at:data.find(b"\0", at)].decode("latin-1") if at < len(data) else ""
    for i, sh in sections:
        _, sh_type, flags, _, offset, size = sh[:6]
        entsize = sh[9]
        end = min(len(data), offset + size)
        name = names.get(i, "")
        if sh_type == 8 or offset >= len(data):  # SHT_NOBITS
            continue
        if flags & SHF_COMPRESSED:  # Elf64_Chdr: type, reserved, size, align (32: 3 words)
            add(offset, 4, f"{name}.ch_type")
            add(offset + (8 if is64 else 4), 8 if is64 else 4, f"{name}.ch_size", True)
            add(offset + (16 if is64 else 8), 8 if is64 else 4, f"{name}.ch_addralign", True)
            bounds.add(offset + (24 if is64 else 12))
            continue
        if sh_type == SHT_GROUP:
            for at in range(offset, min(end, offset + 4 * ENTRIES), 4):
                add(at, 4, f"group[{i}]+{at - offset}", at != offset)
        elif sh_type == SHT_NOTE:
            _notes(data, offset, end, add, bounds)
        elif name == ".eh_frame":
            _eh_frame(data, offset, end, add, bounds, "eh_frame")
        elif name in (".debug_info", ".debug_line", ".debug_rnglists", ".debug_loclists",
                      ".debug_aranges"):
            _dwarf_units(data, offset, end, name, add, bounds)
        elif name in (".debug_str_offsets", ".debug_addr"):
            add(offset, 4, f"{name}.unit_length", True)
        elif sh_type in (SHT_GNU_VERDEF, SHT_GNU_VERNEED):
            _versions(data, offset, end, sh_type, add, bounds)
        elif sh_type == SHT_GNU_VERSYM:
            for at in range(offset, min(end, offset + 2 * ENTRIES), 2):
                add(at, 2, f"versym[{(at - offset) // 2}]", True)
        elif sh_type == SHT_GNU_HASH:  # nbuckets, symoffset, bloom_size, bloom_shift
            for k, what in enumerate(("nbuckets", "symoffset", "bloom_size", "bloom_shift")):
                add(offset + 4 * k, 4, f"gnu_hash.{what}", True)
        elif sh_type == SHT_HASH:
            add(offset, 4, "hash.nbucket", True)
            add(offset + 4, 4, "hash.nchain", True)
        del entsize


def macho_contents(data: bytes, segment: bytes, section: bytes, offset: int, size: int,
                   word: int, add: Add, bounds: set[int]) -> None:
    """`__compact_unwind` entries (address, length, encoding, personality, LSDA) and
    `__eh_frame` records of a Mach-O object's section."""
    end = min(len(data), offset + size)
    if section == b"__compact_unwind":
        entry = 3 * word + 8  # x86-64: 32 bytes; i386: 20
        for k, at in enumerate(range(offset, min(end, offset + entry * ENTRIES), entry)):
            bounds.add(at)
            add(at, word, f"cu[{k}].address")
            add(at + word, 4, f"cu[{k}].length", True)
            add(at + word + 4, 4, f"cu[{k}].encoding")
            add(at + word + 8, word, f"cu[{k}].personality")
            add(at + 2 * word + 8, word, f"cu[{k}].lsda")
    elif section == b"__eh_frame":
        _eh_frame(data, offset, end, add, bounds, "eh_frame")
    del segment
