"""ELF relocatable objects (ET_REL) -> ObjectFile, x86-64 (RELA) and i386 (REL).

Symbol tables and relocation tables are read with one numpy `frombuffer` each and checked
as whole arrays (symbol indices, section indices, field bounds, supported types), so that
reading a large object costs a handful of vector operations plus one Python step per
symbol *name*.  Every rejection names the file, the section and the offset of the bad
entry.  What is kept:

- allocated PROGBITS/NOBITS/NOTE/*_ARRAY sections (and .eh_frame, whatever its type);
- COMDAT groups (SHT_GROUP with GRP_COMDAT), so that resolution can drop duplicates;
- `.note.GNU-stack`, as the object's executable-stack request;
- non-allocated PROGBITS sections (DWARF `.debug_*`, `.comment`, `.gnu_debuglink`; see
  sections.keeps_non_alloc), decompressed when SHF_COMPRESSED (`gcc -gz`), with their
  relocations: only absolute, pc-relative, size and DTPOFF forms (debug information's).

SHF_EXCLUDE sections and other non-allocated types (.llvm_addrsig, notes) are not loaded,
and neither are their relocation sections.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..kinds import RelocKind
from ..model import (
    ABS,
    COMMON,
    RELOC_DTYPE,
    UNDEF,
    Binding,
    ComdatGroup,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
)
from ..records import dataclass
from . import sections as policy
from .compressed import SHF_COMPRESSED, decompress_section
from .headers import (
    SHF_ALLOC,
    SHF_EXCLUDE,
    SHF_EXECINSTR,
    SHF_GNU_RETAIN,
    SHF_MERGE,
    SHF_STRINGS,
    SHF_TLS,
    SHF_WRITE,
    SHT_FINI_ARRAY,
    SHT_GROUP,
    SHT_INIT_ARRAY,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PREINIT_ARRAY,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    SHT_X86_64_UNWIND,
    ElfHeaders,
    Strings,
    read_headers,
)
from .reloc_table import NativeRelocs
from .relocs_i386 import TABLE as I386_RELOCS
from .relocs_x86_64 import TABLE as X86_64_RELOCS
from .tls_relax import I386_RELAXABLE, RELAXABLE, TLS_GET_ADDR

ET_REL = 1
GRP_COMDAT = 1
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFF2, 0xFFFF
SHN_X86_64_LCOMMON = 0xFF02
STB_GNU_UNIQUE = 10
# Sanity limits on values from the file that decide how much the link lays out: a larger
# alignment or size is a corrupt (or hostile) input, refused before anything is allocated.
MAX_ALIGNMENT = 1 << 24
MAX_ZERO_FILL = 1 << 32  # a NOBITS section or COMMON symbol
MAX_ZERO_FILL_32 = 1 << 28  # i386: a small part of the 4 GiB address space, so several fit
STT_COMMON, STT_GNU_IFUNC = 5, 10

RELOC_TABLES: dict[str, NativeRelocs] = {"x86_64": X86_64_RELOCS, "i386": I386_RELOCS}

SYM64 = np.dtype([("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"),
                   ("value", "<u8"), ("size", "<u8")])
SYM32 = np.dtype([("name", "<u4"), ("value", "<u4"), ("size", "<u4"), ("info", "u1"),
                   ("other", "u1"), ("shndx", "<u2")])
_RELA64 = np.dtype([("offset", "<u8"), ("info", "<u8"), ("addend", "<i8")])
_REL32 = np.dtype([("offset", "<u4"), ("info", "<u4")])
_RELA32 = np.dtype([("offset", "<u4"), ("info", "<u4"), ("addend", "<i4")])

_FIRST_RESERVED_TYPE, _SHT_LOOS = 20, 0x60000000  # gABI types end at SHT_RELR (19)
_LOADED_TYPES = {SHT_PROGBITS, SHT_NOBITS, SHT_NOTE, SHT_INIT_ARRAY, SHT_FINI_ARRAY,
                 SHT_PREINIT_ARRAY, SHT_X86_64_UNWIND}
_ROLE_OF_TYPE = {SHT_NOBITS: SectionRole.ZEROFILL, SHT_INIT_ARRAY: SectionRole.INIT_ARRAY,
                 SHT_FINI_ARRAY: SectionRole.FINI_ARRAY,
                 SHT_PREINIT_ARRAY: SectionRole.PREINIT_ARRAY,
                 SHT_X86_64_UNWIND: SectionRole.EH_FRAME, SHT_NOTE: SectionRole.NOTE}
_FLAG_BITS = ((SHF_ALLOC, SectionFlags.ALLOC), (SHF_WRITE, SectionFlags.WRITE),
              (SHF_EXECINSTR, SectionFlags.EXEC), (SHF_TLS, SectionFlags.TLS),
              (SHF_MERGE, SectionFlags.MERGE), (SHF_STRINGS, SectionFlags.STRINGS))


def read_object(data: memoryview, path: str) -> ObjectFile:
    """Read one ET_REL file (or archive member) into the neutral model."""
    hdr = read_headers(data, path)
    if hdr.e_type != ET_REL:
        raise hdr.error(f"not a relocatable object (e_type {hdr.e_type}, want ET_REL)",
                        offset=16)
    if len(hdr.shdrs) == 0:
        raise hdr.error("relocatable object without section headers", offset=0)
    obj = ObjectFile(path=path, arch=hdr.arch, sections=[], symbols=_EMPTY_SYMBOLS,
                     howtos=RELOC_TABLES[hdr.arch].howtos)
    obj.sections = _sections(hdr, obj)
    symtab_index = _find_symtab(hdr)
    if symtab_index is not None:
        obj.symbols = _symbols(hdr, symtab_index, len(obj.sections))
    obj.groups = _groups(hdr, obj, symtab_index)
    _relocations(hdr, obj, symtab_index)
    return obj


_EMPTY_SYMBOLS = SymbolTable([""], np.zeros(1, np.uint64), np.zeros(1, np.uint64),
                             np.full(1, UNDEF, np.int32), np.zeros(1, np.uint8),
                             np.zeros(1, np.uint8), np.zeros(1, np.uint8))


# -- sections ---------------------------------------------------------------------------

def _sections(hdr: ElfHeaders, obj: ObjectFile) -> list[InputSection | None]:
    # (bulk_headers.py decides the same for a batch: a check of bytes here needs its twin)
    out: list[InputSection | None] = []
    names, data_of = hdr.names, hdr.data
    zero_fill_limit = MAX_ZERO_FILL if hdr.is64 else MAX_ZERO_FILL_32
    for i, row in enumerate(hdr.rows):
        _name, sh_type, sh_flags, _addr, offset, size, _link, _info, align, entsize = row
        name = names[i]
        if name == ".note.GNU-stack":
            obj.exec_stack = bool(sh_flags & SHF_EXECINSTR)
            out.append(None)
            continue
        if sh_flags & SHF_ALLOC and _FIRST_RESERVED_TYPE <= sh_type < _SHT_LOOS:
            # Dropping it, as an unloaded type is dropped, would leave its symbols' section
            # gone and its COMDAT signature claimed: errors far from here (BFD refuses it too)
            raise hdr.error(f"allocated section of type {int(sh_type):#x}, which is no gABI, "
                            "OS, processor or user section type", i)
        role = loaded_role(name, sh_type, sh_flags)
        if role is None:
            out.append(None)
            continue
        # the headers were bounds-checked by read_headers: slice the file directly
        data: bytes | memoryview | None = None if sh_type == SHT_NOBITS \
            else data_of[offset:offset + size]
        if sh_flags & SHF_COMPRESSED and data is not None:
            data, size, align = decompress_section(hdr, i, data)
        elif name.startswith(".zdebug") and data is not None and bytes(data[:4]) == b"ZLIB":
            # GNU's pre-gABI form (`-gz=zlib-gnu`): its relocations are against the inflated
            # bytes, which this linker does not make; say so rather than misreport them
            raise hdr.error("GNU's legacy compressed debug section (a 'ZLIB' header, "
                            "-gz=zlib-gnu) is not supported; compile with -gz=zlib", i,
                            offset=0)
        if align > 1 and (align & (align - 1) or align > MAX_ALIGNMENT):
            _check_alignment(hdr, i, int(align))
        if sh_type == SHT_NOBITS and size > zero_fill_limit:
            raise hdr.error(f"zero-fill size {size:#x} exceeds the limit {zero_fill_limit:#x}",
                            i)
        if sh_flags & SHF_GNU_RETAIN:
            obj.retained += (i,)
        out.append(InputSection(file=obj, index=i, name=name, flags=loaded_flags(role, sh_flags),
                                role=role, align=max(1, int(align)), size=int(size), data=data,
                                entsize=int(entsize)))
    return out


def loaded_role(name: str, sh_type: int, sh_flags: int) -> SectionRole | None:
    """The role of a section the reader loads (by its name, type and flags alone), or
    None for one it leaves out."""
    is_eh = name == ".eh_frame" or sh_type == SHT_X86_64_UNWIND
    if not sh_flags & SHF_ALLOC:
        if sh_type != SHT_PROGBITS or sh_flags & SHF_EXCLUDE \
                or not policy.keeps_non_alloc(name):
            return None
    elif (sh_type not in _LOADED_TYPES or sh_flags & SHF_EXCLUDE) and not is_eh:
        return None
    return SectionRole.EH_FRAME if is_eh else _role_by_name(name, sh_type)


_FLAGS_OF: dict[int, SectionFlags] = {}
_FLAG_MASK = SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_TLS | SHF_MERGE | SHF_STRINGS


_ARRAY_ROLES = frozenset({SectionRole.INIT_ARRAY, SectionRole.FINI_ARRAY,
                          SectionRole.PREINIT_ARRAY})


def loaded_flags(role: SectionRole, sh_flags: int) -> SectionFlags:
    """The neutral flags of a loaded section.  An init/fini/preinit array is writable
    whatever its input says (the gABI gives them SHF_WRITE, and GNU ld's output array is
    writable and sealed by RELRO): ld.so relocates its words, so a pointer there is no text
    relocation even when an assembler left the flag out."""
    flags = _section_flags(sh_flags)
    if role in _ARRAY_ROLES and SectionFlags.WRITE not in flags:
        flags = flags | SectionFlags.WRITE
    return flags


def _section_flags(sh_flags: int) -> SectionFlags:
    """The neutral flags of an ELF sh_flags word, made once per distinct word: building an
    IntFlag by `|` costs microseconds, and a large link has a few distinct words."""
    sh_flags &= _FLAG_MASK  # at most 64 entries, whatever the inputs hold
    flags = _FLAGS_OF.get(sh_flags)
    if flags is None:
        flags = SectionFlags.NONE
        for bit, flag in _FLAG_BITS:
            if sh_flags & bit:
                flags |= flag
        _FLAGS_OF[sh_flags] = flags
    return flags


def _check_alignment(hdr: ElfHeaders, index: int, align: int) -> None:
    if align > 1 and align & (align - 1):
        raise hdr.error(f"sh_addralign {align:#x} is not a power of two", index)
    if align > MAX_ALIGNMENT:
        raise hdr.error(f"sh_addralign {align:#x} exceeds the limit {MAX_ALIGNMENT:#x}", index)


_ARRAY_PREFIXES = (".init_array", ".fini_array", ".preinit_array")


def _role_by_name(name: str, sh_type: int) -> SectionRole:
    role = _ROLE_OF_TYPE.get(sh_type)
    if role is not None:
        return role
    if not name.startswith(_ARRAY_PREFIXES):
        return SectionRole.NORMAL
    # Old assemblers mark these PROGBITS; the name is what ld.so's DT_INIT_ARRAY needs.
    for prefix, named in ((".init_array", SectionRole.INIT_ARRAY),
                          (".fini_array", SectionRole.FINI_ARRAY),
                          (".preinit_array", SectionRole.PREINIT_ARRAY)):
        if name == prefix or name.startswith(prefix + "."):
            return named
    return SectionRole.NORMAL


def _find_symtab(hdr: ElfHeaders) -> int | None:
    found = [i for i, row in enumerate(hdr.rows) if row[1] == SHT_SYMTAB]
    if len(found) > 1:
        raise hdr.error("more than one SHT_SYMTAB section", found[1])
    return found[0] if found else None


# -- symbols ----------------------------------------------------------------------------

def _symbols(hdr: ElfHeaders, index: int, nsections: int) -> SymbolTable:
    dtype = SYM64 if hdr.is64 else SYM32
    row = hdr.shdrs[index]
    if int(row["entsize"]) not in (0, dtype.itemsize) or int(row["size"]) % dtype.itemsize:
        raise hdr.error(f"symbol table entry size {int(row['entsize'])} / size "
                        f"{int(row['size'])} do not match Elf_Sym ({dtype.itemsize})", index)
    raw = np.frombuffer(hdr.section_bytes(index), dtype)
    if len(raw) == 0:
        return _EMPTY_SYMBOLS
    link = int(row["link"])
    if not 0 <= link < len(hdr.shdrs):
        raise hdr.error(f"sh_link {link} (string table) out of range", index)
    names = _names(hdr, bytes(hdr.section_bytes(link)), raw["name"], index, link,
                   dtype.itemsize)

    shndx = raw["shndx"].astype(np.int64)
    xindex = shndx == SHN_XINDEX
    if xindex.any():
        shndx[xindex] = _extended_indices(hdr, index, len(raw))[xindex]
    section = shndx.astype(np.int32)
    special = (shndx >= SHN_LORESERVE) & ~xindex
    section[shndx == SHN_UNDEF] = UNDEF
    section[special & (shndx == SHN_ABS)] = ABS
    section[special & ((shndx == SHN_COMMON) | (shndx == SHN_X86_64_LCOMMON))] = COMMON
    bad = (special & (section >= 0)) | (~special & (shndx >= nsections))
    if bad.any():
        n = int(np.nonzero(bad)[0][0])
        raise hdr.error(f"symbol {n} has section index {int(shndx[n]):#x}, outside the "
                        f"{nsections} sections", index, offset=n * dtype.itemsize,
                        symbol=names[n] or None)

    info = raw["info"]
    bind = (info >> 4).astype(np.uint8)
    bind[bind == STB_GNU_UNIQUE] = 1  # a unique global is a global to an executable
    if (bind > 2).any():
        n = int(np.nonzero(bind > 2)[0][0])
        raise hdr.error(f"symbol {n} has unknown binding {int(bind[n])}", index,
                        offset=n * dtype.itemsize, symbol=names[n] or None)
    _check_commons(hdr, index, names, raw, section, dtype.itemsize)
    stype = (info & 0xF).astype(np.uint8)  # STT_GNU_IFUNC stays 10: SymType.IFUNC
    stype[(stype > 6) & (stype != STT_GNU_IFUNC)] = 0  # OS/processor-specific: no type
    stype[stype == STT_COMMON] = 1  # STT_COMMON is an object awaiting allocation
    return SymbolTable(names=names, value=raw["value"].astype(np.uint64),
                       size=raw["size"].astype(np.uint64), section=section, binding=bind,
                       type=stype, visibility=(raw["other"] & 3).astype(np.uint8))


def _check_commons(hdr: ElfHeaders, index: int, names: list[str], raw: np.ndarray,
                   section: np.ndarray, entsize: int) -> None:
    """A COMMON symbol's value is its alignment, its size what it allocates: both bounded."""
    common = np.nonzero(section == COMMON)[0].tolist()
    for n in common:
        align, size = int(raw["value"][n]), int(raw["size"][n])
        limit = MAX_ZERO_FILL if hdr.is64 else MAX_ZERO_FILL_32
        if (align & (align - 1)) or align > MAX_ALIGNMENT or size > limit:
            raise hdr.error(f"COMMON symbol {n}: alignment {align:#x} (a power of two up to "
                            f"{MAX_ALIGNMENT:#x}) or size {size:#x} (up to {limit:#x}) "
                            "out of range", index, offset=n * entsize, symbol=names[n] or None)


def _names(hdr: ElfHeaders, table: bytes, offsets: np.ndarray, index: int, link: int,
           entsize: int) -> list[str]:
    """Symbol names in bulk: decode the string table once, split it, and map each string's
    start offset to its text; the rare name that starts inside another string (a merged
    suffix) falls back to a search.  A table that is all ASCII (the usual case) is decoded
    as one str, whose character offsets are its byte offsets."""
    if table.isascii():
        pieces: list[str] = table.decode("ascii").split("\0")
        lengths = [len(p) + 1 for p in pieces]
    else:  # offsets count bytes: measure the undecoded pieces
        raw = table.split(b"\0")
        pieces = [p.decode("utf-8", "surrogateescape") for p in raw]
        lengths = [len(p) + 1 for p in raw]
    by_offset = dict(zip(itertools.accumulate(lengths[:-1], initial=0), pieces))
    wanted = offsets.tolist()
    names = list(map(by_offset.get, wanted))
    if None in names:
        strings = Strings(table)
        for n, off in enumerate(wanted):
            if names[n] is None:
                name = strings.get(off)
                if name is None:
                    raise hdr.error(f"symbol {n} name offset {off:#x} outside "
                                    f"{hdr.names[link]}", index, offset=n * entsize)
                names[n] = name
    return names  # type: ignore[return-value]  # no None left


def _extended_indices(hdr: ElfHeaders, symtab: int, count: int) -> np.ndarray:
    found = np.nonzero((hdr.shdrs["type"] == SHT_SYMTAB_SHNDX) & (hdr.shdrs["link"] == symtab))[0]
    if not len(found):
        raise hdr.error("SHN_XINDEX symbols but no SHT_SYMTAB_SHNDX section", symtab)
    table = np.frombuffer(hdr.section_bytes(int(found[0])), "<u4")
    if len(table) < count:
        raise hdr.error("SHT_SYMTAB_SHNDX shorter than the symbol table", int(found[0]))
    return table[:count].astype(np.int64)


# -- COMDAT groups --------------------------------------------------------------------------

def _groups(hdr: ElfHeaders, obj: ObjectFile, symtab: int | None) -> list[ComdatGroup]:
    groups: list[ComdatGroup] = []
    for index in [i for i, row in enumerate(hdr.rows) if row[1] == SHT_GROUP]:
        words = np.frombuffer(hdr.section_bytes(index)[: hdr.rows[index][5] & ~3], "<u4")
        if len(words) == 0:
            raise hdr.error("empty SHT_GROUP section", index)
        if not int(words[0]) & GRP_COMDAT:
            continue  # a plain group only ties sections together for -r; nothing to do
        members = words[1:].astype(np.int64)
        if (members >= len(obj.sections)).any() or (members <= 0).any():
            raise hdr.error("group member section index out of range", index)
        sig_index = hdr.rows[index][7]
        if symtab is None or hdr.rows[index][6] != symtab \
                or not 0 <= sig_index < len(obj.symbols):
            raise hdr.error(f"group signature symbol {sig_index} not in the symbol table", index)
        signature = obj.symbols.names[sig_index]
        for m in members.tolist():
            sec = obj.sections[m]
            if sec is not None:
                sec.comdat = signature
        groups.append(ComdatGroup(signature, tuple(members.tolist())))
    return groups


# -- relocations ----------------------------------------------------------------------------

def _relocations(hdr: ElfHeaders, obj: ObjectFile, symtab: int | None) -> None:
    table = RELOC_TABLES[hdr.arch]
    types = hdr.shdrs["type"]
    for index in np.nonzero((types == SHT_RELA) | (types == SHT_REL))[0].tolist():
        target = int(hdr.shdrs[index]["info"])
        if not 0 <= target < len(obj.sections):
            raise hdr.error(f"relocation section applies to section {target}, out of range",
                            index)
        sec = obj.sections[target]
        if sec is None:
            continue  # relocations of a section we do not load (debug info, ...)
        if symtab is None or int(hdr.shdrs[index]["link"]) != symtab:
            raise hdr.error("relocation section's sh_link is not the symbol table", index)
        rows = _reloc_rows(hdr, index, sec, table, obj)
        if len(sec.relocs):
            rows = np.concatenate([sec.relocs.rows, rows])
        sec.relocs = RelocTable(rows)


def _reloc_rows(hdr: ElfHeaders, index: int, sec: InputSection, table: NativeRelocs,
                obj: ObjectFile) -> np.ndarray:
    is_rela = int(hdr.shdrs[index]["type"]) == SHT_RELA
    dtype = (_RELA64 if hdr.is64 else _RELA32) if is_rela else (_REL32 if not hdr.is64 else None)
    if dtype is None:
        raise hdr.error("SHT_REL relocations in an ELF64 object (x86-64 uses RELA)", index)
    size = int(hdr.shdrs[index]["size"])
    if size % dtype.itemsize:
        raise hdr.error(f"size {size} is not a multiple of the entry size {dtype.itemsize}",
                        index)
    raw = np.frombuffer(hdr.section_bytes(index), dtype)
    info = raw["info"].astype(np.uint64)
    if hdr.is64:
        sym, rtype = (info >> np.uint64(32)).astype(np.int64), (info & np.uint64(0xFFFFFFFF))
    else:
        sym, rtype = (info >> np.uint64(8)).astype(np.int64), (info & np.uint64(0xFF))
    rtype = rtype.astype(np.int64)
    offset = raw["offset"].astype(np.int64)
    rela_addend = raw["addend"].astype(np.int64) if is_rela else None
    lut = _lookup_tables(table)
    clipped = np.minimum(rtype, _LUT_SIZE - 1)  # beyond the table: unknown, refused below
    if SectionFlags.ALLOC in sec.flags and lut.relaxable[clipped].any():
        # General- and local-dynamic code calls __tls_get_addr, which an executable's
        # relaxed code (tls_relax.py, decided at link time) no longer does: its reference
        # must not demand a definition.  A shared object binds it weakly (ld.so has it).
        names = obj.symbols.names
        for i in np.nonzero(obj.symbols.section == UNDEF)[0].tolist():
            if names[i] in TLS_GET_ADDR:
                obj.symbols.binding[i] = Binding.WEAK

    def r_offset(n: int) -> int:
        """The file's r_offset (unsigned; `offset` holds it as int64 for the checks)."""
        return int(offset[n]) & 0xFFFF_FFFF_FFFF_FFFF

    def fail(mask: np.ndarray, why: str) -> None:
        n = int(np.nonzero(mask)[0][0])
        raise hdr.error(why.format(n=n, type=int(rtype[n]), sym=int(sym[n]),
                                   off=r_offset(n)),
                        sec.index, offset=r_offset(n),
                        symbol=_symbol_name(obj, int(sym[n])))

    supported = lut.supported[clipped]
    allowed = lut.non_alloc if SectionFlags.ALLOC not in sec.flags else lut.alloc
    if supported.all() and not allowed[clipped].all():
        fail(~allowed[clipped], "relocation {n}: type {type} is not valid in "
             + ("a non-allocated section (debug information holds addresses and offsets "
                "only)" if SectionFlags.ALLOC not in sec.flags else
                "an allocated section (DTPOFF belongs to debug information)"))
    if not supported.all():
        n = int(np.nonzero(~supported)[0][0])
        raise hdr.error(table.refusal(int(rtype[n])), sec.index, offset=r_offset(n),
                        symbol=_symbol_name(obj, int(sym[n])))
    if (sym >= len(obj.symbols)).any():
        # (the table's name is the file's bytes: its braces must not reach str.format)
        table_name = hdr.names[index].replace("{", "{{").replace("}", "}}")
        fail(sym >= len(obj.symbols), f"relocation {{n}} refers to symbol {{sym}}, but "
             f"{table_name} has only {len(obj.symbols)} symbols")
    widths = lut.width[clipped]
    # offset > size - width, not offset + width > size: a hostile r_offset near 2**63 would
    # wrap the sum negative and pass
    past_end = (offset < 0) | (offset > sec.size - widths)
    if past_end.any():
        fail(past_end,
             f"relocation {{n}} at {{off:#x}} runs past the end of the section "
             f"({sec.size:#x} bytes)")
    if sec.data is None and len(raw):
        fail(np.ones(len(raw), dtype=bool), "relocation in a section with no file data (NOBITS)")

    if rela_addend is None:
        assert sec.data is not None
        rela_addend = implicit_addends(sec.data, offset, widths)
    return relocation_rows(offset, rtype, sym, rela_addend)


def relocation_rows(offset: np.ndarray, rtype: np.ndarray, sym: np.ndarray,
                    addend: np.ndarray) -> np.ndarray:
    """The neutral table of checked native relocations (both readers, one section or a
    whole batch); R_*_NONE rows dropped, as they write nothing."""
    rows = np.zeros(len(offset), dtype=RELOC_DTYPE)
    rows["offset"] = offset
    rows["howto"] = rtype
    rows["symbol"] = sym
    rows["addend"] = addend
    keep = rtype != 0
    return rows[keep] if not keep.all() else rows


_LUT_SIZE = 256


@dataclass(frozen=True)
class _Lookup:
    supported: np.ndarray  # bool per native type (< _LUT_SIZE)
    width: np.ndarray  # field width per native type
    relaxable: np.ndarray  # TLS forms rewritten before judging (x86-64)
    non_alloc: np.ndarray  # valid in a non-allocated (debug) section
    alloc: np.ndarray  # valid in an allocated section (all but DTPOFF)


_LOOKUPS: dict[int, _Lookup] = {}
# What debug information and other non-allocated sections may hold: addresses, offsets,
# sizes, TLS block offsets, and offsets from the GOT base (gcc -m32 -fPIC -g describes a
# call-site parameter as a spilled GOT pointer plus `.LCn@GOTOFF`).  Nothing that needs a
# GOT slot or a PLT entry.
_NON_ALLOC_KINDS = (RelocKind.NONE, RelocKind.ABS, RelocKind.PC, RelocKind.SIZE,
                    RelocKind.TLS_DTPOFF, RelocKind.REL_GOT)


def _lookup_tables(table: NativeRelocs) -> _Lookup:
    """Per-arch arrays indexed by native type, built once: each relocation section then
    costs a few fancy-indexes instead of list comprehensions."""
    lut = _LOOKUPS.get(id(table))
    if lut is None:
        supported = np.zeros(_LUT_SIZE, dtype=bool)
        supported[:len(table.supported)] = table.supported
        width = np.zeros(_LUT_SIZE, dtype=np.int64)
        width[:len(table.howtos)] = [h.width for h in table.howtos]
        relaxable = np.zeros(_LUT_SIZE, dtype=bool)
        relaxable[list(RELAXABLE if table.arch == "x86_64" else I386_RELAXABLE)] = True
        kinds = np.zeros(_LUT_SIZE, dtype=np.int64)
        kinds[:len(table.howtos)] = [int(h.kind) for h in table.howtos]
        non_alloc = np.isin(kinds, [int(k) for k in _NON_ALLOC_KINDS])
        alloc = np.ones(_LUT_SIZE, dtype=bool)  # code may hold x@dtpoff (local dynamic)
        lut = _LOOKUPS[id(table)] = _Lookup(supported, width, relaxable, non_alloc, alloc)
    return lut


def implicit_addends(data: bytes | memoryview, offset: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """REL addends: each field's current content, little-endian and sign-extended."""
    addends = np.zeros(len(offset), dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    for width, dtype in ((1, np.int8), (2, np.int16), (4, np.int32), (8, np.int64)):
        mask = widths == width
        if not mask.any():
            continue
        picks = raw[offset[mask][:, None] + np.arange(width)]
        addends[mask] = np.ascontiguousarray(picks).view(dtype).reshape(-1)
    return addends


def _symbol_name(obj: ObjectFile, n: int) -> str | None:
    return obj.symbols.names[n] or None if 0 <= n < len(obj.symbols) else None
