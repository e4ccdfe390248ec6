"""Relocatable inputs as the oracle sees them: sections, symbols and relocations.

Parsed with pyelftools, independently of the linker's readers.  For i386 (REL) the
implicit addend is read out of the section bytes at the field, sign-extended to the
field's width, exactly as the psABI defines it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from . import types

GRP_COMDAT = 1


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

    @property
    def alloc(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_ALLOC)

    @property
    def nobits(self) -> bool:
        return self.type == "SHT_NOBITS"

    @property
    def merge(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_MERGE)

    @property
    def strings(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_STRINGS)

    @property
    def executable(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_EXECINSTR)


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
    non_alloc_relocs: int      # relocations against debug/comment sections: not checked


def is_relocatable(path: str) -> bool:
    """True for an ELF ET_REL file (archives, shared objects and options are not)."""
    try:
        with open(path, "rb") as f:
            head = f.read(18)
    except OSError:
        return False
    return len(head) == 18 and head[:4] == b"\x7fELF" and int.from_bytes(
        head[16:18], "little" if head[5] == 1 else "big") == 1


def read_object(path: str) -> InputObject:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        machine = {"EM_X86_64": "x86_64", "EM_386": "i386"}.get(elf["e_machine"])
        if machine is None:
            raise ValueError(f"{path}: unsupported machine {elf['e_machine']}")
        sections: dict[int, InputSection] = {}
        for i, sec in enumerate(elf.iter_sections()):
            nobits = sec["sh_type"] == "SHT_NOBITS"
            sections[i] = InputSection(
                i, sec.name, sec["sh_type"], sec["sh_flags"], sec["sh_size"],
                sec["sh_addralign"], sec["sh_entsize"], b"" if nobits else sec.data())
        symbols = tuple(_read_symbols(elf))
        relocs: list[InputReloc] = []
        non_alloc = 0
        comdat: list[tuple[str, tuple[int, ...]]] = []
        for sec in elf.iter_sections():
            if sec["sh_type"] == "SHT_GROUP":
                words = _group_words(sec.data(), elf.little_endian)
                if words and words[0] & GRP_COMDAT and sec["sh_info"] < len(symbols):
                    comdat.append((symbols[sec["sh_info"]].name, tuple(words[1:])))
            if not isinstance(sec, RelocationSection):
                continue
            target = sections.get(sec["sh_info"])
            if target is None or not target.alloc:
                non_alloc += sec.num_relocations()
                continue
            relocs.extend(_read_relocs(sec, target, machine))
        file_name = next((s.name for s in symbols if s.type == "STT_FILE"), None)
        return InputObject(path, machine, sections, symbols, tuple(relocs), tuple(comdat),
                           file_name, non_alloc)


def _read_symbols(elf: ELFFile) -> Iterator[InputSymbol]:
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return
    for i, sym in enumerate(symtab.iter_symbols()):
        name = sym.name
        if sym["st_info"]["type"] == "STT_SECTION" and isinstance(sym["st_shndx"], int):
            name = elf.get_section(sym["st_shndx"]).name
        yield InputSymbol(i, name, sym["st_value"], sym["st_size"], sym["st_shndx"],
                          sym["st_info"]["type"], sym["st_info"]["bind"])


def _group_words(data: bytes, little: bool) -> list[int]:
    order: Literal["little", "big"] = "little" if little else "big"
    return [int.from_bytes(data[i:i + 4], order) for i in range(0, len(data) - 3, 4)]


def _read_relocs(sec: RelocationSection, target: InputSection,
                 machine: str) -> Iterator[InputReloc]:
    rela = sec.is_RELA()
    for rel in sec.iter_relocations():
        number, offset = rel["r_info_type"], rel["r_offset"]
        if rela:
            addend = rel["r_addend"]
        else:
            addend = implicit_addend(target, offset, machine, number)
        yield InputReloc(target.index, offset, number, rel["r_info_sym"], addend)


def implicit_addend(target: InputSection, offset: int, machine: str, number: int) -> int:
    """The addend a REL relocation keeps in its field (0 when unknown or NOBITS)."""
    info = types.lookup(machine, number)
    width = info.width if info is not None else 4
    field = target.data[offset:offset + width]
    if len(field) < width:
        return 0
    return int.from_bytes(field, "little", signed=True)


def read_objects(paths: Sequence[str]) -> list[InputObject]:
    return [read_object(p) for p in paths if is_relocatable(p)]
