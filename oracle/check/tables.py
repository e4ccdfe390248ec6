"""Decoded record tables: the dynamic array, symbol tables, relocations, string tables.

Each table is read in bulk with `struct.iter_unpack` from a bounds-checked slice, and is
cached per image so that the rules that share it decode it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from oracle.check import consts as c
from oracle.check.image import ElfImage, Malformed, Section


@dataclass(frozen=True)
class Symbol:
    index: int
    name: str
    value: int
    size: int
    info: int
    other: int
    shndx: int

    @property
    def type(self) -> int:
        return self.info & 0xF

    @property
    def bind(self) -> int:
        return self.info >> 4


@dataclass(frozen=True)
class Reloc:
    index: int
    offset: int
    type: int
    sym: int
    addend: int | None  # None for REL (the addend is in place)


def cstr(blob: bytes, offset: int) -> str | None:
    """The NUL-terminated string at offset, or None if it is out of range or unterminated."""
    if not 0 <= offset < len(blob):
        return None
    end = blob.find(b"\0", offset)
    return None if end < 0 else blob[offset:end].decode("latin-1")


@lru_cache(maxsize=16)
def dynamic(img: ElfImage) -> tuple[tuple[int, int], ...]:
    """(tag, value) pairs of the dynamic array up to DT_NULL; () for a static file."""
    sec = img.section(".dynamic")
    if sec is not None and sec.type == c.SHT_DYNAMIC:
        off, size = sec.offset, sec.size
    else:
        seg = next((s for s in img.segments if s.type == c.PT_DYNAMIC), None)
        if seg is None:
            return ()
        off, size = seg.offset, seg.filesz
    rows = img.table("qQ" if img.is64 else "iI", off, size, ".dynamic")
    out = []
    for tag, val in rows:
        if tag == c.DT_NULL:
            break
        out.append((tag, val))
    return tuple(out)


def dyn_value(img: ElfImage, tag: int) -> int | None:
    """The first value of a dynamic tag, or None when absent."""
    return next((v for t, v in dynamic(img) if t == tag), None)


def bind_now(img: ElfImage) -> bool:
    flags = dyn_value(img, c.DT_FLAGS) or 0
    flags1 = dyn_value(img, c.DT_FLAGS_1) or 0
    return bool(flags & c.DF_BIND_NOW or flags1 & c.DF_1_NOW
                or dyn_value(img, c.DT_BIND_NOW) is not None)


@lru_cache(maxsize=32)
def symbols(img: ElfImage, sec: Section) -> tuple[Symbol, ...]:
    """The symbols of a SHT_SYMTAB/SHT_DYNSYM section, names resolved through sh_link."""
    fmt = "IBBHQQ" if img.is64 else "IIIBBH"
    names = b""
    if 0 < sec.link < len(img.sections):
        names = img.section_bytes(img.sections[sec.link])
    out = []
    for i, row in enumerate(img.table(fmt, sec.offset, sec.file_size, sec.name)):
        if img.is64:
            name, info, other, shndx, value, size = row
        else:
            name, value, size, info, other, shndx = row
        out.append(Symbol(i, cstr(names, name) or "", value, size, info, other, shndx))
    return tuple(out)


@lru_cache(maxsize=16)
def dynsym(img: ElfImage) -> tuple[Symbol, ...]:
    sec = next(iter(img.sections_of_type(c.SHT_DYNSYM)), None)
    return symbols(img, sec) if sec is not None else ()


@lru_cache(maxsize=32)
def relocs(img: ElfImage, sec: Section) -> tuple[Reloc, ...]:
    rela = sec.type == c.SHT_RELA
    if img.is64:
        fmt = "QQq" if rela else "QQ"
    else:
        fmt = "IIi" if rela else "II"
    shift, mask = (32, 0xFFFFFFFF) if img.is64 else (8, 0xFF)
    out = []
    for i, row in enumerate(img.table(fmt, sec.offset, sec.file_size, sec.name)):
        addend = row[2] if rela else None
        out.append(Reloc(i, row[0], row[1] & mask, row[1] >> shift, addend))
    return tuple(out)


def dynamic_reloc_sections(img: ElfImage) -> list[Section]:
    """SHT_REL/SHT_RELA sections that ld.so applies (allocated ones)."""
    return [s for s in img.sections
            if s.type in (c.SHT_REL, c.SHT_RELA) and s.flags & c.SHF_ALLOC]


def section_by_addr(img: ElfImage, addr: int, types: tuple[int, ...] = ()) -> Section | None:
    """The section starting at addr (of one of `types` when given)."""
    for s in img.sections:
        if s.addr == addr and s.flags & c.SHF_ALLOC and (not types or s.type in types):
            return s
    return None


def require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise Malformed(where, what)


@dataclass(frozen=True)
class DynReloc:
    """A relocation ld.so (or a static binary's startup code) applies, with the table it
    came from and whether it is in the DT_JMPREL (PLT) range."""

    table: str
    reloc: Reloc
    in_jmprel: bool

    @property
    def where(self) -> str:
        return f"{self.table}[{self.reloc.index}]"


def _reloc_range(img: ElfImage, addr: int, size: int, rela: bool, label: str,
                 in_jmprel: bool, skip: range = range(0)) -> list[DynReloc]:
    """Relocations in [addr, addr+size) as mapped in memory, leaving out those whose record
    lies in `skip` (glibc applies a DT_RELA range overlapping DT_JMPREL only once)."""
    seg = img.load_at(addr, size)
    if seg is None or not seg.covers_file(addr, size):
        raise Malformed(label, f"[{addr:#x}, +{size:#x}) is not in the file image of a PT_LOAD")
    fake = Section(-1, label, c.SHT_RELA if rela else c.SHT_REL, 0, addr,
                   seg.offset + addr - seg.vaddr, size, 0, 0, 0, 0)
    ent = (24 if rela else 16) if img.is64 else (12 if rela else 8)
    return [DynReloc(label, r, in_jmprel) for r in relocs(img, fake)
            if addr + r.index * ent not in skip]


@lru_cache(maxsize=16)
def dynamic_relocs(img: ElfImage) -> tuple[DynReloc, ...]:
    """What ld.so reads: the DT_RELA/DT_REL range and the DT_JMPREL range.  A static file
    has no dynamic array; its allocated relocation sections (IRELATIVE) stand in."""
    if not dynamic(img):
        return tuple(DynReloc(s.name, r, s.name.endswith(".plt"))
                     for s in dynamic_reloc_sections(img) for r in relocs(img, s))
    out: list[DynReloc] = []
    jmp_addr, jmp_size = dyn_value(img, c.DT_JMPREL), dyn_value(img, c.DT_PLTRELSZ)
    jmp_range = range(jmp_addr, jmp_addr + jmp_size) if jmp_addr and jmp_size else range(0)
    for table, size_tag, rela in ((c.DT_RELA, c.DT_RELASZ, True), (c.DT_REL, c.DT_RELSZ, False)):
        addr, size = dyn_value(img, table), dyn_value(img, size_tag)
        if addr is not None and size:
            sec = section_by_addr(img, addr)
            name = sec.name if sec else ("DT_RELA" if rela else "DT_REL")
            out += _reloc_range(img, addr, size, rela, name, False, jmp_range)
    if jmp_addr is not None and jmp_size:
        sec = section_by_addr(img, jmp_addr)
        rela = dyn_value(img, c.DT_PLTREL) == c.DT_RELA
        out += _reloc_range(img, jmp_addr, jmp_size, rela, sec.name if sec else "DT_JMPREL",
                            True)
    return tuple(out)


def jump_slots(img: ElfImage) -> tuple[DynReloc, ...]:
    """The DT_JMPREL entries, in table order (their index is what PLT entries push)."""
    return tuple(r for r in dynamic_relocs(img) if r.in_jmprel)
