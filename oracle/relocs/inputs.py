"""Relocatable inputs as the oracle sees them: sections, symbols and relocations.

Parsed with elf_file.py (headers, section contents) and tables.py (symbols, relocations,
in bulk), independently of the linker's readers.  For i386 (REL) the
implicit addend is read out of the section bytes at the field, sign-extended to the
field's width, exactly as the psABI defines it.
"""

from __future__ import annotations

import array
import functools
import io
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from oracle.records import quick_init
from oracle.regular_file import read_head, read_regular

from . import tables, types
from .elf_file import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_MERGE,
    SHF_STRINGS,
    SHN_XINDEX,
    SHT_GROUP,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    ElfFile,
    Shdr,
)

GRP_COMDAT = 1


@quick_init
@dataclass(frozen=True)
class InputSection:
    index: int
    name: str
    type: str
    flags: int
    size: int
    align: int
    entsize: int
    data: bytes  # empty for SHT_NOBITS
    relocated: bool = False  # some relocation patches this section

    @property
    def alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def nobits(self) -> bool:
        return self.type == "SHT_NOBITS"

    @property
    def merge(self) -> bool:
        """Linkers deduplicate this section's pieces.  Not when relocations patch it: GNU
        ld's merge code refuses such sections, and gold, lld and mold keep them whole as
        well (gcc -O2 -fno-pie puts `.LCn: .quad .LCm` pointer constants in .rodata.cst8,
        whose pieces all read as zeros before relocation).  Nor when it cannot be cut into
        pieces (BFD's merge.c keeps such a section whole): an entsize of 0 or not dividing
        the size, strings of a width other than 1, 2, 4 or 8 bytes, or a last string
        without its terminator."""
        if not self.flags & SHF_MERGE or self.relocated or self.nobits:
            return False
        e = self.entsize
        if e <= 0 or not self.size or self.size % e or len(self.data) != self.size:
            return False
        return not self.strings or (e in (1, 2, 4, 8) and self.data[-e:] == bytes(e))

    @property
    def strings(self) -> bool:
        return bool(self.flags & SHF_STRINGS)

    @property
    def executable(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)


@quick_init
@dataclass(frozen=True)
class InputSymbol:
    index: int
    name: str
    value: int
    size: int
    shndx: int | str  # a section index, or "SHN_UNDEF", "SHN_ABS", "SHN_COMMON"
    type: str         # "STT_FUNC", "STT_SECTION", ...
    bind: str         # "STB_LOCAL", "STB_GLOBAL", "STB_WEAK"

    @property
    def defined_in_section(self) -> bool:
        return isinstance(self.shndx, int) and self.shndx != 0


@quick_init
@dataclass(frozen=True)
class InputReloc:
    section: int  # index of the section the relocation patches
    offset: int
    type: int
    symbol: int   # index into InputObject.symbols
    addend: int   # explicit (RELA) or read from the field (REL)


@dataclass(frozen=True)
class InputObject:
    path: str
    machine: str  # "x86_64" or "i386"
    sections: dict[int, InputSection]
    symbols: tuple[InputSymbol, ...]
    relocs: tuple[InputReloc, ...]
    comdat: tuple[tuple[str, tuple[int, ...]], ...]  # (signature, member section indices)
    file_name: str | None      # the first STT_FILE symbol's name
    non_alloc_relocs: int      # relocations in debug/comment sections (judged by debug.py)
    relocs_by_section: dict[int, tuple[InputReloc, ...]] = field(default_factory=dict)
    symbols_by_section: dict[int, tuple[InputSymbol, ...]] = field(default_factory=dict)
    # The relocations of non-allocated sections, by section index.
    debug_relocs: dict[int, tuple[InputReloc, ...]] = field(default_factory=dict)


def is_relocatable(path: str) -> bool:
    """True for an ELF ET_REL file (archives, shared objects and options are not)."""
    head = read_head(path, 18)
    return len(head) == 18 and head[:4] == b"\x7fELF" and int.from_bytes(
        head[16:18], "little" if head[5] == 1 else "big") == 1


def read_object(path: str) -> InputObject:
    """The object at `path`, parsed once per version of the file (inputs are re-checked
    against many outputs: mutants, several linkers)."""
    st = os.stat(path)
    return _read_object(os.path.abspath(path), st.st_mtime_ns, st.st_size, path)


# One example's objects (up to eight): the re-checks of an example's inputs come one after
# another.  A larger cache (it held 256) kept each parsed object, a few hundred records,
# alive long enough for the cycle collector to promote it to its oldest generation, and
# that steady inflow made a full collection of a fuzz worker's whole heap (40-80 ms here)
# every hundred examples or so; with 8, one in about four hundred.
@functools.lru_cache(maxsize=8)
def _read_object(_key: str, _mtime: int, _size: int, path: str) -> InputObject:
    return parse_object(io.BytesIO(read_regular(path)), path)


def parse_object(stream: BinaryIO, path: str) -> InputObject:
    """An ET_REL object from `stream`; `path` names it in reports (`lib.a(m.o)` for members)."""
    elf = ElfFile(stream.read(), path)
    machine = elf.machine
    if machine is None:
        raise ValueError(f"{path}: unsupported machine {elf.e_machine} for "
                         f"ELFCLASS{64 if elf.is64 else 32}")
    headers = elf.sections
    raw = {sec.index: elf.contents(sec) for sec in headers}
    # The relocation tables first: a section's `relocated` flag is known before its record
    # is made (dataclasses.replace on a frozen record afterwards cost more than the rest of
    # the section's parse).
    tables_of: list[tuple[Shdr, list[tables.RawReloc]]] = [
        (sec, list(tables.relocations(raw[sec.index], elf.is64, sec.type == SHT_RELA)))
        for sec in headers if sec.type in (SHT_REL, SHT_RELA)]
    by_index = {sec.index for sec in headers}
    relocated = {sec.info for sec, entries in tables_of if entries and sec.info in by_index}
    sections = {sec.index: InputSection(sec.index, sec.name, sec.type_name, sec.flags, sec.size,
                                        sec.addralign, sec.entsize, raw[sec.index],
                                        sec.index in relocated)
                for sec in headers}
    symbols = _read_symbols(headers, raw, sections, elf.is64, path)
    relocs: list[InputReloc] = []
    debug: list[InputReloc] = []
    non_alloc = 0
    comdat: list[tuple[str, tuple[int, ...]]] = []
    for sec in headers:
        if sec.type == SHT_GROUP:
            words = _group_words(raw[sec.index], True)
            if words and words[0] & GRP_COMDAT and sec.info < len(symbols):
                comdat.append((symbols[sec.info].name, tuple(words[1:])))
    relocs_by_section: dict[int, tuple[InputReloc, ...]] = {}
    debug_relocs: dict[int, tuple[InputReloc, ...]] = {}
    for sec, entries in tables_of:
        target = sections.get(sec.info)
        if target is None:
            non_alloc += len(entries)
            continue
        if not entries:
            continue
        index = target.index
        if sec.type == SHT_RELA:  # every addend explicit
            made = [InputReloc(index, offset, kind, symbol, addend)  # type: ignore[arg-type]
                    for offset, kind, symbol, addend in entries]
        else:
            made = [InputReloc(index, r.offset, r.type, r.symbol,
                               r.addend if r.addend is not None else
                               implicit_addend(target, r.offset, machine, r.type))
                    for r in entries]
        (relocs if target.alloc else debug).extend(made)
        # by patched section, in table order (two tables for one section are joined)
        grouped = relocs_by_section if target.alloc else debug_relocs
        grouped[index] = grouped.get(index, ()) + tuple(made)
    non_alloc += len(debug)
    file_name = next((s.name for s in symbols if s.type == "STT_FILE"), None)
    return InputObject(path, machine, sections, symbols, tuple(relocs), tuple(comdat),
                       file_name, non_alloc, relocs_by_section, _symbols_by_section(symbols),
                       debug_relocs)


def _symbols_by_section(symbols: Iterable[InputSymbol]) -> dict[int, tuple[InputSymbol, ...]]:
    """The symbols defined in each section (by index), in table order."""
    groups: dict[int, list[InputSymbol]] = {}
    for sym in symbols:
        shndx = sym.shndx
        if shndx.__class__ is int:  # not "SHN_UNDEF", "SHN_ABS", "SHN_COMMON"
            found = groups.get(shndx)
            if found is None:
                groups[shndx] = [sym]
            else:
                found.append(sym)
    return {k: tuple(v) for k, v in groups.items()}


def _read_symbols(headers: list[Shdr], raw: dict[int, bytes],
                  sections: dict[int, InputSection], is64: bool, path: str
                  ) -> tuple[InputSymbol, ...]:
    """The symbol table, decoded straight into records (tables.symbols' names for types,
    bindings and special section indices)."""
    symtab = next((s.index for s in headers if s.type == SHT_SYMTAB), None)
    if symtab is None:
        return ()
    strtab = raw.get(headers[symtab].link, b"")
    # An object of more than SHN_LORESERVE sections (gcc -ffunction-sections on a large
    # unit) writes SHN_XINDEX in st_shndx and the real index in the SHT_SYMTAB_SHNDX
    # section that names the symbol table: one 32-bit word a symbol.
    xindex = next((raw[s.index] for s in headers
                   if s.type == SHT_SYMTAB_SHNDX and s.link == symtab), b"")
    extended = array.array("I", xindex[:len(xindex) - len(xindex) % 4])
    data = raw[symtab]
    size = 24 if is64 else 16
    rows = struct.iter_unpack("<IBBHQQ" if is64 else "<IIIBBH", data[:len(data) - len(data) % size])
    if not is64:  # (name, value, size, info, other, shndx) in ELF32's order
        rows = ((n, i, o, x, v, z) for n, v, z, i, o, x in rows)
    types_, binds, special, find = tables.TYPE_NAMES, tables.BIND_NAMES, tables.SPECIAL_SHNDX, \
        strtab.find
    out = []
    for i, (name_at, info, _other, raw_shndx, value, sym_size) in enumerate(rows):
        end = find(b"\0", name_at)
        name = strtab[name_at:end if end >= 0 else len(strtab)].decode("utf-8", "replace")
        shndx: int | str = special.get(raw_shndx, raw_shndx)
        if shndx == SHN_XINDEX:
            if i >= len(extended):
                raise ValueError(f"{path}: symbol {i} ({name}): st_shndx is SHN_XINDEX and "
                                 "no SHT_SYMTAB_SHNDX entry holds its section index")
            shndx = extended[i] or "SHN_UNDEF"
        kind = types_.get(info & 0xF) or f"STT_{info & 0xF}"
        if shndx.__class__ is int:
            sec = sections.get(shndx)
            if sec is None:
                # (a reserved index, or past the table): the sites index sections by it
                raise ValueError(f"{path}: symbol {i} ({name}): section index {shndx:#x} "
                                 "names no section")
            if kind == "STT_SECTION":
                name = sec.name  # section symbols are named after the section
        out.append(InputSymbol(i, name, value, sym_size, shndx, kind,
                               binds.get(info >> 4) or f"STB_{info >> 4}"))
    return tuple(out)


def _group_words(data: bytes, little: bool) -> list[int]:
    order: Literal["little", "big"] = "little" if little else "big"
    return [int.from_bytes(data[i:i + 4], order) for i in range(0, len(data) - 3, 4)]


def implicit_addend(target: InputSection, offset: int, machine: str, number: int) -> int:
    """The addend a REL relocation keeps in its field (0 when unknown or NOBITS)."""
    info = types.lookup(machine, number)
    width = info.width if info is not None else 4
    field = target.data[offset:offset + width]
    if len(field) < width:
        return 0
    return int.from_bytes(field, "little", signed=True)
