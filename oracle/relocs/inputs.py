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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, TypeVar

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
_T = TypeVar("_T")


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


@functools.lru_cache(maxsize=256)
def _read_object(_key: str, _mtime: int, _size: int, path: str) -> InputObject:
    return parse_object(io.BytesIO(read_regular(path)), path)


def parse_object(stream: BinaryIO, path: str) -> InputObject:
    """An ET_REL object from `stream`; `path` names it in reports (`lib.a(m.o)` for members)."""
    elf = ElfFile(stream.read(), path)
    machine = elf.machine
    if machine is None:
        raise ValueError(f"{path}: unsupported machine {elf.e_machine}")
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
    for sec, entries in tables_of:
        target = sections.get(sec.info)
        if target is None:
            non_alloc += len(entries)
            continue
        (relocs if target.alloc else debug).extend(
            InputReloc(target.index, r.offset, r.type, r.symbol,
                       r.addend if r.addend is not None else
                       implicit_addend(target, r.offset, machine, r.type))
            for r in entries)
    non_alloc += len(debug)
    file_name = next((s.name for s in symbols if s.type == "STT_FILE"), None)
    return InputObject(path, machine, sections, symbols, tuple(relocs), tuple(comdat),
                       file_name, non_alloc, _group(relocs, lambda r: r.section),
                       _group(symbols, lambda s: s.shndx),
                       _group(debug, lambda r: r.section))


def _group(items: Iterable[_T], key: Callable[[_T], object]) -> dict[int, tuple[_T, ...]]:
    groups: dict[int, list[_T]] = {}
    for item in items:
        k = key(item)
        if isinstance(k, int):
            groups.setdefault(k, []).append(item)
    return {k: tuple(v) for k, v in groups.items()}


def _read_symbols(headers: list[Shdr], raw: dict[int, bytes],
                  sections: dict[int, InputSection], is64: bool, path: str
                  ) -> tuple[InputSymbol, ...]:
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
    out = []
    for i, sym in enumerate(tables.symbols(raw[symtab], strtab, is64)):
        name = sym.name
        if sym.shndx == SHN_XINDEX:
            if i >= len(extended):
                raise ValueError(f"{path}: symbol {i} ({name}): st_shndx is SHN_XINDEX and "
                                 "no SHT_SYMTAB_SHNDX entry holds its section index")
            sym = sym._replace(shndx=extended[i] or "SHN_UNDEF")
        if isinstance(sym.shndx, int) and sym.shndx and sym.shndx not in sections:
            # (a reserved index, or past the table): the sites index sections by it
            raise ValueError(f"{path}: symbol {i} ({name}): section index {sym.shndx:#x} "
                             "names no section")
        if sym.type == "STT_SECTION" and isinstance(sym.shndx, int) and sym.shndx in sections:
            name = sections[sym.shndx].name  # section symbols are named after the section
        out.append(InputSymbol(i, name, sym.value, sym.size, sym.shndx, sym.type, sym.bind))
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
