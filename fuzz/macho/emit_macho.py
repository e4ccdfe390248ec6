"""A small MH_OBJECT writer (64-bit, CPU_TYPE_X86_64), independent of linker/.

Input is an `MachoImage`: sections with their bytes (in the object's own address space,
laid out one after the other, zerofill last), symbols and relocation entries already in
Mach-O terms.  Output: the header, one LC_SEGMENT_64 holding every section, LC_SYMTAB and
LC_DYSYMTAB, then section contents, relocation entries, nlist_64 symbols (locals, external
definitions, undefined and common symbols, each group sorted by name as ld64 expects) and
the string table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MH_MAGIC_64 = 0xFEEDFACF
CPU_TYPE_X86_64 = 0x01000007
CPU_SUBTYPE_X86_64_ALL = 3
MH_OBJECT = 1
LC_SEGMENT_64 = 0x19
LC_SYMTAB = 0x2
LC_DYSYMTAB = 0xB
S_ZEROFILL = 0x1
S_ATTR_PURE_INSTRUCTIONS = 0x80000000
S_ATTR_SOME_INSTRUCTIONS = 0x00000400
S_ATTR_DEBUG = 0x02000000
VM_PROT_ALL = 7
N_EXT = 0x01
N_ABS = 0x02
N_SECT = 0x0E
N_PEXT = 0x10
N_WEAK_REF = 0x40
N_WEAK_DEF = 0x80
RELOC_TYPES = {"UNSIGNED": 0, "SIGNED": 1, "BRANCH": 2, "GOT_LOAD": 3, "GOT": 4,
               "SUBTRACTOR": 5, "SIGNED_1": 6, "SIGNED_2": 7, "SIGNED_4": 8, "TLV": 9}
PCREL_TYPES = frozenset({"SIGNED", "BRANCH", "GOT_LOAD", "GOT", "SIGNED_1", "SIGNED_2",
                         "SIGNED_4", "TLV"})
# thread-local sections are typed by name (fuzz/macho/tlv_writer.py's objects)
TLV_SECTION_TYPES = {"__thread_data": 0x11, "__thread_bss": 0x12, "__thread_vars": 0x13}


@dataclass(frozen=True)
class MachoReloc:
    """One relocation_info entry.  `symbol` names a symbol (extern) or, when `section` is
    set, the entry is non-extern against that section (1-based ordinal assigned here)."""

    offset: int
    type: str
    length: int  # bytes: 4 or 8
    symbol: str = ""
    section: str = ""  # "SEGMENT,section" of a non-extern entry


@dataclass(frozen=True)
class MachoSection:
    segment: str
    name: str
    align: int
    addr: int  # in the object's address space
    data: bytes  # empty for zerofill
    size: int
    code: bool
    zerofill: bool
    relocs: tuple[MachoReloc, ...]


@dataclass(frozen=True)
class MachoSymbol:
    """kind: "sect" (defined in `section` at absolute address `value`), "abs", "undef",
    "common" (value = size, align in `common_align`)."""

    name: str
    kind: str
    external: bool
    value: int = 0
    section: str = ""  # "SEGMENT,section"
    private_extern: bool = False
    weak_def: bool = False
    weak_ref: bool = False
    common_align: int = 1


@dataclass(frozen=True)
class MachoImage:
    sections: tuple[MachoSection, ...]
    symbols: tuple[MachoSymbol, ...]


def align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def name16(s: str) -> bytes:
    """A segment or section name as its 16-byte field."""
    raw = s.encode()
    assert len(raw) <= 16, s
    return raw.ljust(16, b"\0")


def ordered_symbols(symbols: tuple[MachoSymbol, ...]
                    ) -> tuple[list[MachoSymbol], int, int, int]:
    """The symbol table's order (locals, external definitions, undefined and common, the last
    two groups sorted by name as ld64 expects) and the three groups' sizes."""
    local = [s for s in symbols if not s.external]
    extdef = sorted((s for s in symbols if s.external and s.kind in ("sect", "abs")),
                    key=lambda s: s.name)
    undef = sorted((s for s in symbols if s.external and s.kind in ("undef", "common")),
                   key=lambda s: s.name)
    return local + extdef + undef, len(local), len(extdef), len(undef)


def string_table(symbols: list[MachoSymbol]) -> tuple[bytearray, list[int]]:
    """The string table (a space and a NUL first, as ld64 and llvm-mc write it) and each
    symbol's offset in it."""
    strtab = bytearray(b" \0")
    names: list[int] = []
    for sym in symbols:
        names.append(len(strtab))
        strtab += sym.name.encode() + b"\0"
    return strtab, names


def nlist(sym: MachoSymbol, strx: int, ordinal: dict[str, int], wide: bool = True) -> bytes:
    """The symbol's nlist_64 (`wide`) or 12-byte nlist entry."""
    n_type = N_EXT if sym.external else 0
    if sym.private_extern:
        n_type |= N_PEXT
    desc, sect, value = 0, 0, sym.value
    if sym.kind == "sect":
        n_type |= N_SECT
        sect = ordinal[sym.section]
    elif sym.kind == "abs":
        n_type |= N_ABS
    elif sym.kind == "common":
        desc = (sym.common_align.bit_length() - 1) << 8  # SET_COMM_ALIGN
    if sym.weak_def:
        desc |= N_WEAK_DEF
    if sym.weak_ref:
        desc |= N_WEAK_REF
    if wide:
        return struct.pack("<IBBHQ", strx, n_type, sect, desc, value)
    return struct.pack("<IBBHI", strx, n_type, sect, desc, value & 0xFFFFFFFF)


def _reloc(r: MachoReloc, ordinal: dict[str, int], index: dict[str, int]) -> bytes:
    extern = not r.section
    num = index[r.symbol] if extern else ordinal[r.section]
    packed = (num | (int(r.type in PCREL_TYPES) << 24) | ({4: 2, 8: 3}[r.length] << 25)
              | (int(extern) << 27) | (RELOC_TYPES[r.type] << 28))
    return struct.pack("<iI", r.offset, packed)


def write_macho(image: MachoImage) -> bytes:
    """The bytes of the MH_OBJECT file."""
    secs = image.sections
    ordinal = {f"{s.segment},{s.name}": i + 1 for i, s in enumerate(secs)}
    symbols, n_local, n_ext, n_undef = ordered_symbols(image.symbols)
    index = {s.name: i for i, s in enumerate(symbols)}
    seg_cmd_size = 72 + 80 * len(secs)
    cmds_size = seg_cmd_size + 24 + 80
    at = 32 + cmds_size
    offsets = []
    for s in secs:  # file contents follow the same alignment as the addresses
        if s.zerofill:
            offsets.append(0)
            continue
        at = align_up(at, s.align)
        offsets.append(at)
        at += len(s.data)
    reloc_at = []
    at = align_up(at, 8)
    for s in secs:
        reloc_at.append(at if s.relocs else 0)
        at += 8 * len(s.relocs)
    symoff = at
    strtab, names = string_table(symbols)
    stroff = symoff + 16 * len(symbols)
    vmsize = max((s.addr + s.size for s in secs), default=0)
    filesize = max((o + len(s.data) for o, s in zip(offsets, secs) if not s.zerofill),
                   default=32 + cmds_size) - (32 + cmds_size)
    # The file's padding to a large alignment can exceed the addresses' (they start at 0,
    # the file after the load commands); llvm-ar refuses filesize > vmsize (found archiving
    # these objects: fuzz/macho/archive.py's llvm-ar archives).
    vmsize = max(vmsize, filesize)
    out = bytearray(struct.pack("<IiiIIIII", MH_MAGIC_64, CPU_TYPE_X86_64,
                                CPU_SUBTYPE_X86_64_ALL, MH_OBJECT, 3, cmds_size, 0, 0))
    out += struct.pack("<II16sQQQQiiII", LC_SEGMENT_64, seg_cmd_size, b"\0" * 16, 0, vmsize,
                       32 + cmds_size, filesize, VM_PROT_ALL, VM_PROT_ALL, len(secs), 0)
    for s, off, rel in zip(secs, offsets, reloc_at):
        flags = TLV_SECTION_TYPES.get(s.name, S_ZEROFILL if s.zerofill else 0)
        if s.code:
            flags |= S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS
        if s.segment == "__DWARF":
            flags |= S_ATTR_DEBUG  # fuzz/macho/dwarf.py's sections
        out += name16(s.name) + name16(s.segment)
        out += struct.pack("<QQIIIIIIII", s.addr, s.size, off, s.align.bit_length() - 1, rel,
                           len(s.relocs), flags, 0, 0, 0)
    out += struct.pack("<IIIIII", LC_SYMTAB, 24, symoff, len(symbols), stroff, len(strtab))
    out += struct.pack("<II18I", LC_DYSYMTAB, 80, 0, n_local, n_local, n_ext,
                       n_local + n_ext, n_undef, *([0] * 12))
    for s, off in zip(secs, offsets):
        if not s.zerofill:
            out += bytes(off - len(out)) + s.data
    out += bytes(align_up(len(out), 8) - len(out))
    for s in secs:
        for r in s.relocs:
            out += _reloc(r, ordinal, index)
    assert len(out) == symoff, (len(out), symoff)
    for sym, strx in zip(symbols, names):
        out += nlist(sym, strx, ordinal)
    out += strtab
    return bytes(out)
