"""Mach-O relocatable objects (MH_OBJECT, CPU_TYPE_X86_64 or CPU_TYPE_I386) -> ObjectFile.

The two differ in word size (mach_header 32 or 28 bytes, LC_SEGMENT_64 or LC_SEGMENT, 80- or
68-byte section headers, 16- or 12-byte nlist: `_LAYOUTS`) and in their relocations: the
x86-64 ones are read here, the i386 "generic" ones (scattered entries, SECTDIFF pairs) and
the sections the i386 assembler makes indirect (`__IMPORT,__pointers`, `__jump_table`) in
read_generic.py.

Sections come from the one LC_SEGMENT(_64) of an object; their ordinals (1-based, in load
command order) are the native indices, so `ObjectFile.sections[0]` is unused.  Symbol
values in an object are addresses in the object's own address space; the model wants
section offsets, so the section's `addr` is subtracted.  Each section also gets a
synthetic local "section symbol" appended after the real ones, which non-extern
relocations (those naming a section ordinal instead of a symbol) are re-expressed against.

Dropped, by design:
- `__LD,__compact_unwind` and `__TEXT,__eh_frame`: we write no `__unwind_info`, and an
  `__eh_frame` without it would be half an unwinding story; programs run, but C++
  exceptions and backtraces through our Mach-O outputs are not supported.
- S_ATTR_DEBUG sections (DWARF) and N_STAB symbols: as ld64 does, the DWARF stays in the
  object, and the output's debug map (debug_map.py) names the object; only the compile
  unit's directory and file are read here (`ObjectFile.debug_origin`).
MH_SUBSECTIONS_VIA_SYMBOLS is accepted and ignored (no dead stripping).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

from ..errors import LinkError
from ..kinds import Howto
from ..model import (
    ABS,
    COMMON,
    RELOC_DTYPE,
    UNDEF,
    Binding,
    DebugOrigin,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
    Visibility,
)
from . import read_generic, relocs_i386
from . import relocs_x86_64 as R
from .dwarf_unit import ABBREV, INFO, LINE_STR, STR, STR_OFFSETS, compile_unit_source

MH_MAGIC, MH_MAGIC_64, MH_OBJECT = 0xFEEDFACE, 0xFEEDFACF, 1
CPU_TYPE_X86_64, CPU_TYPE_I386 = 0x01000007, 7
LC_SEGMENT, LC_SEGMENT_64, LC_SYMTAB, LC_DYSYMTAB = 0x1, 0x19, 0x2, 0xB
LC_BUILD_VERSION = 0x32
# The platform an object was built for (LC_BUILD_VERSION's platform, or the older
# LC_VERSION_MIN_* command's kind): only macOS objects (or ones that name none) go into a
# macOS image; ld64 and ld64.lld refuse the rest, as code built against another platform's
# SDK and ABI choices may link and then misbehave.
PLATFORM_MACOS = 1
PLATFORM_NAMES = {1: "macOS", 2: "iOS", 3: "tvOS", 4: "watchOS", 5: "bridgeOS",
                  6: "Mac Catalyst", 7: "iOS Simulator", 8: "tvOS Simulator",
                  9: "watchOS Simulator", 10: "DriverKit", 11: "visionOS",
                  12: "visionOS Simulator"}
VERSION_MIN_PLATFORM = {0x24: 1, 0x25: 2, 0x2F: 3, 0x30: 4}  # LC_VERSION_MIN_{MACOSX,...}
SECTION_TYPE = 0xFF
S_ZEROFILL, S_CSTRING_LITERALS, S_MOD_INIT_FUNC_POINTERS, S_MOD_TERM_FUNC_POINTERS = 1, 2, 9, 10
S_GB_ZEROFILL, S_THREAD_LOCAL_REGULAR = 0xC, 0x11
S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x12, 0x13
TLV_KINDS = (S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES)
# __thread_ptrs (a TLV of another image) and C++ thread_local's dynamic initialisers
TLV_REFUSED = {0x14: "S_THREAD_LOCAL_VARIABLE_POINTERS (thread-local variables of a dylib)",
               0x15: "S_THREAD_LOCAL_INIT_FUNCTION_POINTERS (dynamically initialised "
                     "thread_local)"}
S_ATTR_PURE_INSTRUCTIONS, S_ATTR_SOME_INSTRUCTIONS, S_ATTR_DEBUG = 0x80000000, 0x400, 0x02000000
N_STAB, N_PEXT, N_TYPE, N_EXT = 0xE0, 0x10, 0x0E, 0x01
N_UNDF, N_ABS, N_SECT, N_INDR = 0x0, 0x2, 0xE, 0xA
N_WEAK_REF, N_WEAK_DEF = 0x40, 0x80
DROPPED = {("__LD", "__compact_unwind"), ("__TEXT", "__eh_frame")}
DEBUG_MAP_SECTIONS = (INFO, ABBREV, STR, LINE_STR, STR_OFFSETS)  # read for the debug map



class SectionHeader(NamedTuple):
    segname: str
    sectname: str
    addr: int  # in the object's own address space
    size: int
    offset: int
    align: int  # log2
    reloff: int
    nreloc: int
    flags: int
    reserved1: int  # first index into the indirect symbol table (pointer and stub sections)
    reserved2: int  # stub size (S_SYMBOL_STUBS)


class _Layout(NamedTuple):
    """Where the word size shows in an MH_OBJECT."""

    arch: str
    word: int
    cputype: int
    header_size: int
    segment_cmd: int
    segment_nsects_at: int  # offset of nsects in the segment command
    segment_size: int  # the command without its sections
    section: struct.Struct
    nlist: np.dtype
    howtos: tuple[Howto, ...]  # the arch's relocation table (relocs_*.py)
    generic_relocs: bool  # i386's "generic" relocations (read_generic.py), else x86-64's


MAX_ADDRESS = 1 << 48  # x86-64's canonical user addresses: past that, a header is corrupt
MAX_COMMON = 1 << 40
MAX_COMMON_32 = 1 << 28  # i386: a quarter of the address space, so a few still fit

_LAYOUTS = {
    MH_MAGIC_64: _Layout("x86_64", 8, CPU_TYPE_X86_64, 32, LC_SEGMENT_64, 64, 72,
                         struct.Struct("<16s16sQQIIIIIIII"),
                         np.dtype([("strx", "<u4"), ("type", "u1"), ("sect", "u1"),
                                   ("desc", "<u2"), ("value", "<u8")]),
                         R.HOWTO_LIST, False),
    MH_MAGIC: _Layout("i386", 4, CPU_TYPE_I386, 28, LC_SEGMENT, 48, 56,
                      struct.Struct("<16s16sIIIIIIIII"),
                      np.dtype([("strx", "<u4"), ("type", "u1"), ("sect", "u1"),
                                ("desc", "<u2"), ("value", "<u4")]),
                      relocs_i386.HOWTO_LIST, True),
}


def is_macho_object(data: bytes | memoryview) -> bool:
    return len(data) >= 16 and struct.unpack_from("<I", data, 0)[0] in _LAYOUTS \
        and struct.unpack_from("<I", data, 12)[0] == MH_OBJECT


class _Reader:
    def __init__(self, data: memoryview, path: str) -> None:
        self.data, self.path = data, path

    def fail(self, rule: str, section: str | None = None, offset: int | None = None,
             symbol: str | None = None) -> LinkError:
        return LinkError(rule, file=self.path, section=section, offset=offset, symbol=symbol)


def read_macho_object(data: memoryview, path: str, debug: bool = True) -> ObjectFile:
    """`debug`: read the compile unit's source for the debug map (an archive's index,
    which only wants the names a member defines, does not)."""
    r = _Reader(data, path)
    if len(data) < 28:
        raise r.fail("truncated Mach-O header", offset=0)
    magic = struct.unpack_from("<I", data, 0)[0]
    lay = _LAYOUTS.get(magic)
    if lay is None:
        raise r.fail(f"not a little-endian Mach-O file (magic {magic:#x})", offset=0)
    if len(data) < lay.header_size:
        raise r.fail("truncated Mach-O header", offset=0)
    _, cputype, _sub, filetype, ncmds, sizeofcmds = struct.unpack_from("<IiiIII", data, 0)
    if cputype != lay.cputype:
        cpu = "CPU_TYPE_X86_64" if lay.cputype == CPU_TYPE_X86_64 else "CPU_TYPE_I386"
        raise r.fail(f"Mach-O cputype {cputype:#x} is not {cpu} (the header's word size)",
                     offset=4)
    if filetype != MH_OBJECT:
        raise r.fail(f"Mach-O filetype {filetype} is not MH_OBJECT", offset=12)
    start = lay.header_size
    if start + sizeofcmds > len(data):
        raise r.fail("load commands run past end of file", offset=start)
    obj = ObjectFile(path=path, arch=lay.arch, sections=[None], symbols=_empty(),
                     howtos=lay.howtos)
    headers: list[SectionHeader] = []
    symtab: tuple[int, int, int, int] | None = None
    indirect_table: tuple[int, int] = (0, 0)
    pos = start
    for _ in range(ncmds):
        if pos + 8 > start + sizeofcmds:
            raise r.fail("load command runs past sizeofcmds", offset=pos)
        cmd, cmdsize = struct.unpack_from("<II", data, pos)
        if cmdsize < 8 or cmdsize % 4 or pos + cmdsize > start + sizeofcmds:
            raise r.fail(f"load command {cmd:#x} has bad cmdsize {cmdsize}", offset=pos)
        if cmd == lay.segment_cmd:
            nsects = struct.unpack_from("<I", data, pos + lay.segment_nsects_at)[0]
            if lay.segment_size + nsects * lay.section.size > cmdsize:
                raise r.fail("segment's sections exceed its cmdsize", offset=pos)
            for n in range(nsects):
                f = lay.section.unpack_from(data, pos + lay.segment_size + n * lay.section.size)
                sect, seg = (x.rstrip(b"\0").decode("ascii", "replace") for x in f[:2])
                headers.append(SectionHeader(seg, sect, *f[2:11]))
        elif cmd == LC_SYMTAB:
            symtab = struct.unpack_from("<IIII", data, pos + 8)
        elif cmd == LC_DYSYMTAB and cmdsize >= 64:
            indirect_table = struct.unpack_from("<II", data, pos + 56)
        elif cmd == LC_BUILD_VERSION and cmdsize >= 12 or cmd in VERSION_MIN_PLATFORM:
            platform = struct.unpack_from("<I", data, pos + 8)[0] \
                if cmd == LC_BUILD_VERSION else VERSION_MIN_PLATFORM[cmd]
            if platform not in (0, PLATFORM_MACOS):
                name = PLATFORM_NAMES.get(platform, f"platform {platform}")
                raise r.fail(f"object built for {name}, not macOS (load command {cmd:#x})",
                             offset=pos)
        pos += cmdsize
    for h in headers:
        if h.addr + h.size >= (MAX_ADDRESS if lay.word == 8 else 1 << 32):
            raise r.fail(f"section {h.segname},{h.sectname} spans {h.addr:#x}+{h.size:#x}, "
                         "past any address space", offset=start)
        obj.sections.append(_section(r, obj, len(obj.sections), h.segname, h.sectname, h.addr,
                                     h.size, h.offset, h.align, h.flags))
    obj.debug_origin = _debug_origin(r, headers) if debug else None
    names, raw = _symbols(r, symtab, lay.nlist)
    obj.symbols = _symbol_table(r, obj, names, raw, headers)
    places = read_generic.Places(obj, headers, len(raw)) if lay.generic_relocs else None
    for n, h in enumerate(headers, start=1):
        target = obj.sections[n]
        if target is None or not h.nreloc:
            continue
        if places is not None:
            target.relocs = read_generic.relocations(r.fail, data, obj, target, headers, h.reloff,
                                                     h.nreloc, len(raw), places)
        else:
            target.relocs = _relocations(r, obj, target, headers, h.reloff, h.nreloc, len(raw))
    read_generic.indirect_sections(r.fail, obj, headers, _indirect_symbols(r, indirect_table),
                                   len(raw), lay.word)
    return obj


def _debug_origin(r: _Reader, headers: list[SectionHeader]) -> DebugOrigin | None:
    """The compile unit's directory and file, for the output's debug map (the DWARF itself
    is not loaded: it stays in the object, where dsymutil reads it)."""
    dwarf = {}
    for h in headers:
        if h.segname == "__DWARF" and h.sectname in DEBUG_MAP_SECTIONS:
            if h.offset + h.size > len(r.data):
                raise r.fail(f"section data ({h.size:#x} bytes at {h.offset:#x}) runs past "
                             "end of file", section=f"__DWARF,{h.sectname}", offset=h.offset)
            dwarf[h.sectname] = bytes(r.data[h.offset:h.offset + h.size])
    source = compile_unit_source(
        dwarf, lambda rule, section, offset: r.fail(rule, section=section, offset=offset))
    return DebugOrigin(*source) if source is not None else None


def _indirect_symbols(r: _Reader, table: tuple[int, int]) -> list[int]:
    offset, count = table
    if offset + 4 * count > len(r.data):
        raise r.fail("indirect symbol table runs past end of file", offset=offset)
    return list(struct.unpack_from(f"<{count}I", r.data, offset)) if count else []


def _empty() -> SymbolTable:
    z = np.zeros(0, np.uint64)
    return SymbolTable([], z, z, z.astype(np.int32), z.astype(np.uint8), z.astype(np.uint8),
                       z.astype(np.uint8))


def _section(r: _Reader, obj: ObjectFile, ordinal: int, seg: str, sect: str, addr: int,
             size: int, offset: int, align: int, flags: int) -> InputSection | None:
    name = f"{seg},{sect}"
    kind = flags & SECTION_TYPE
    if (seg, sect) in DROPPED or flags & S_ATTR_DEBUG or seg == "__DWARF":
        return None
    if kind in TLV_REFUSED:
        raise r.fail(f"{TLV_REFUSED[kind]} is not supported", section=name)
    zerofill = kind in (S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL)
    if not zerofill and offset + size > len(r.data):
        raise r.fail(f"section data ({size:#x} bytes at {offset:#x}) runs past end of file",
                     section=name, offset=offset)
    if align > 15:
        raise r.fail(f"section alignment 2^{align} is too large", section=name)
    sflags = SectionFlags.ALLOC
    if seg == "__DATA" or seg == "__DATA_CONST" or zerofill:
        sflags |= SectionFlags.WRITE
    if flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS):
        sflags |= SectionFlags.EXEC
    role = {S_MOD_INIT_FUNC_POINTERS: SectionRole.INIT_ARRAY,
            S_MOD_TERM_FUNC_POINTERS: SectionRole.FINI_ARRAY}.get(kind, SectionRole.NORMAL)
    if zerofill:
        role = SectionRole.ZEROFILL
    return InputSection(file=obj, index=ordinal, name=name, flags=sflags, role=role,
                        align=1 << align, size=size,
                        data=None if zerofill else r.data[offset:offset + size])


def _symbols(r: _Reader, symtab: tuple[int, int, int, int] | None,
             nlist: np.dtype) -> tuple[list[str], np.ndarray]:
    if symtab is None:
        return [], np.zeros(0, nlist)
    symoff, nsyms, stroff, strsize = symtab
    if symoff + nsyms * nlist.itemsize > len(r.data) or stroff + strsize > len(r.data):
        raise r.fail("symbol or string table runs past end of file", offset=symoff)
    raw = np.frombuffer(r.data, nlist, nsyms, symoff)
    strings = bytes(r.data[stroff:stroff + strsize])
    names = []
    for n, strx in enumerate(raw["strx"].tolist()):
        end = strings.find(b"\0", strx)
        if strx >= len(strings) or end < 0:
            raise r.fail(f"symbol {n} name offset {strx:#x} outside the string table",
                         offset=symoff + n * nlist.itemsize)
        names.append(strings[strx:end].decode("utf-8", "surrogateescape"))
    return names, raw


def _symbol_table(r: _Reader, obj: ObjectFile, names: list[str], raw: np.ndarray,
                  headers: list[SectionHeader]) -> SymbolTable:
    nsect = len(headers)
    ntype = raw["type"]
    stab = (ntype & N_STAB) != 0
    kind = ntype & N_TYPE
    ext = (ntype & N_EXT) != 0
    pext = (ntype & N_PEXT) != 0
    sect = raw["sect"].astype(np.int32)
    if ((kind == N_INDR) & ~stab).any():
        n = int(np.nonzero((kind == N_INDR) & ~stab)[0][0])
        raise r.fail("N_INDR (re-exported) symbols are not supported", symbol=names[n])
    bad = (kind == N_SECT) & ~stab & ((sect < 1) | (sect > nsect))
    if bad.any():
        n = int(np.nonzero(bad)[0][0])
        raise r.fail(f"symbol {n} names section {int(sect[n])}, outside 1..{nsect}",
                     symbol=names[n])
    section = np.full(len(raw), UNDEF, np.int32)
    value = raw["value"].astype(np.uint64)
    size = np.zeros(len(raw), np.uint64)
    in_sect = (kind == N_SECT) & ~stab
    section[in_sect] = sect[in_sect]
    addrs = np.array([0] + [h[2] for h in headers], dtype=np.uint64)
    ends = np.array([0] + [h[2] + h[3] for h in headers], dtype=np.uint64)
    outside = in_sect & ((value < addrs[np.where(in_sect, sect, 0)])
                         | (value > ends[np.where(in_sect, sect, 0)]))
    if outside.any():
        n = int(np.nonzero(outside)[0][0])
        raise r.fail(f"symbol {n} value {int(value[n]):#x} lies outside its section "
                     f"{int(sect[n])}", symbol=names[n])
    value[in_sect] = value[in_sect] - addrs[sect[in_sect]]
    section[(kind == N_ABS) & ~stab] = ABS
    common = (kind == N_UNDF) & ext & (raw["value"] != 0) & ~stab
    section[common] = COMMON
    size[common] = raw["value"][common]
    too_large = size > (MAX_COMMON_32 if obj.arch == "i386" else MAX_COMMON)
    if too_large.any():
        n = int(np.nonzero(too_large)[0][0])
        raise r.fail(f"COMMON symbol of {int(size[n]):#x} bytes is too large", symbol=names[n])
    value[common] = (1 << ((raw["desc"][common].astype(np.uint64) >> np.uint64(8)) & np.uint64(0xF)))
    # A symbol in a dropped section (e.g. __eh_frame's) is as good as absent.
    for ordinal, sec in enumerate(obj.sections):
        if ordinal and sec is None:
            section[in_sect & (sect == ordinal)] = UNDEF
            stab |= in_sect & (sect == ordinal)  # and never referenced as a definition
    weak = ((raw["desc"] & N_WEAK_DEF) != 0) & (kind == N_SECT) | \
        ((raw["desc"] & N_WEAK_REF) != 0) & (kind == N_UNDF)
    binding = np.where(ext & ~pext, np.where(weak, Binding.WEAK, Binding.GLOBAL), Binding.LOCAL)
    visibility = np.where(pext & ext, Visibility.HIDDEN, Visibility.DEFAULT)
    # A private-extern symbol is global within the link (it resolves across objects) but
    # hidden from the output's exports: keep it global with hidden visibility.
    binding = np.where(pext & ext, np.where(weak, Binding.WEAK, Binding.GLOBAL), binding)
    binding = np.where(stab, Binding.LOCAL, binding)
    section = np.where(stab & (kind != N_SECT), UNDEF, section).astype(np.int32)
    types = np.where(in_sect, SymType.NOTYPE, SymType.NOTYPE).astype(np.uint8)
    for n, sec in enumerate(obj.sections):
        if n and sec is not None and SectionFlags.EXEC in sec.flags:
            types[in_sect & (sect == n)] = SymType.FUNC
        elif n and sec is not None:
            types[in_sect & (sect == n)] = SymType.OBJECT
    # One section symbol per section, for non-extern relocations.
    extra = len(obj.sections) - 1
    return SymbolTable(
        names=names + [f"<section {h[0]},{h[1]}>" for h in headers],
        value=np.concatenate([value, np.zeros(extra, np.uint64)]),
        size=np.concatenate([size, np.zeros(extra, np.uint64)]),
        section=np.concatenate([section, np.array([n if obj.sections[n] is not None else UNDEF
                                                   for n in range(1, extra + 1)], np.int32)]),
        binding=np.concatenate([binding.astype(np.uint8), np.zeros(extra, np.uint8)]),
        type=np.concatenate([types, np.full(extra, SymType.SECTION, np.uint8)]),
        visibility=np.concatenate([visibility.astype(np.uint8), np.zeros(extra, np.uint8)]))


def _relocations(r: _Reader, obj: ObjectFile, sec: InputSection, headers: list[SectionHeader],
                 reloff: int, nreloc: int, nsyms: int) -> RelocTable:
    if reloff + nreloc * 8 > len(r.data):
        raise r.fail("relocation entries run past end of file", section=sec.name,
                     offset=reloff)
    raw = np.frombuffer(r.data, np.dtype([("address", "<i4"), ("info", "<u4")]), nreloc, reloff)
    rows: list[tuple[int, int, int, int]] = []
    subtrahends: list[int] = []
    pending_sub: int | None = None
    data = sec.data
    for address, info in raw.tolist():
        if address & 0x80000000 if address >= 0 else True:
            raise r.fail("scattered relocations are not valid for x86-64", section=sec.name,
                         offset=address & 0x7FFFFFFF)
        symnum, pcrel = info & 0xFFFFFF, (info >> 24) & 1
        length, extern, rtype = (info >> 25) & 3, (info >> 27) & 1, info >> 28
        width = 1 << length
        key = (rtype, pcrel, length)
        if key not in R.HOWTO_INDEX:
            raise r.fail(f"unsupported relocation {R.describe(rtype, pcrel, length)}",
                         section=sec.name, offset=address)
        if address < 0 or address + width > sec.size or data is None:
            raise r.fail(f"relocation at {address:#x} runs past the end of the section",
                         section=sec.name, offset=address)
        fmt = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}[width]
        inplace = struct.unpack_from(fmt, data, address)[0]
        if rtype == R.SUBTRACTOR:
            if not extern:
                raise r.fail("non-extern X86_64_RELOC_SUBTRACTOR", section=sec.name,
                             offset=address)
            pending_sub = _symbol_index(r, sec, symnum, nsyms, address)
            continue
        if extern:
            symbol = _symbol_index(r, sec, symnum, nsyms, address)
            addend = inplace - 4 if pcrel else inplace
        else:
            symbol, addend = _non_extern(r, obj, sec, headers, symnum, rtype, pcrel, address,
                                         inplace, nsyms)
        howto = R.HOWTO_INDEX[key]
        if pending_sub is not None:
            if rtype != R.UNSIGNED:
                raise r.fail("X86_64_RELOC_SUBTRACTOR not followed by UNSIGNED",
                             section=sec.name, offset=address)
            howto = R.HOWTO_INDEX[(R.SUBTRACTOR, 0, length)]
            subtrahends.append(pending_sub)
            pending_sub = None
        else:
            subtrahends.append(-1)
        rows.append((address, howto, symbol, addend))
    if pending_sub is not None:
        raise r.fail("X86_64_RELOC_SUBTRACTOR at the end of the table", section=sec.name)
    table = np.array(rows, dtype=RELOC_DTYPE) if rows else np.zeros(0, RELOC_DTYPE)
    sub = np.array(subtrahends, dtype=np.int64)
    return RelocTable(table, sub if (sub >= 0).any() else None)


def _signed64(value: int) -> int:
    return ((value + (1 << 63)) % (1 << 64)) - (1 << 63)


def _symbol_index(r: _Reader, sec: InputSection, symnum: int, nsyms: int, address: int) -> int:
    if symnum >= nsyms:
        raise r.fail(f"relocation refers to symbol {symnum}, but there are only {nsyms}",
                     section=sec.name, offset=address)
    return symnum


def _non_extern(r: _Reader, obj: ObjectFile, sec: InputSection, headers: list[SectionHeader],
                ordinal: int,
                rtype: int, pcrel: int, address: int, inplace: int,
                nsyms: int) -> tuple[int, int]:
    """Recover the target address the field encodes; re-express it as section + offset.

    The field holds an object address (the target's plus the constant), but the target is
    the section r_symbolnum names, never the one that address happens to fall in: with a
    constant the address may lie in a neighbouring section (`Lx - 10` at a section's start,
    and SUBTRACTOR pairs' minuends, whose field holds minuend + constant with the subtrahend
    left to the linker).  ld64 (findTargetFromAddressAndSectionNum) and ld64.lld take the
    named section and an out-of-range offset; so do we."""
    if not 1 <= ordinal <= len(headers):
        raise r.fail(f"relocation names section {ordinal}, outside 1..{len(headers)}",
                     section=sec.name, offset=address)
    if pcrel:
        trailing = R.TRAILING.get(rtype, 0)
        target = headers[sec.index - 1][2] + address + 4 + trailing + inplace
    else:
        target = inplace
    if obj.sections[ordinal] is None:
        raise r.fail(f"relocation targets the dropped section {headers[ordinal - 1][1]}",
                     section=sec.name, offset=address)
    # a 64-bit field may hold any value: wrap as ld64
    offset = _signed64(target - headers[ordinal - 1][2])
    symbol = nsyms + ordinal - 1
    if pcrel:
        return symbol, offset - 4 - R.TRAILING.get(rtype, 0)
    return symbol, offset
