"""Relocation tables, and the dynamic relocations as ld.so finds them: through DT_RELA /
DT_REL and DT_JMPREL in memory, not through section headers."""

from __future__ import annotations

from dataclasses import dataclass

from oracle.check import consts as c
from oracle.check.image import ElfImage, Section, per_image
from oracle.check.tables import dyn_value, dynamic, mapped_section, section_by_addr
from oracle.records import quick_init


@quick_init
@dataclass(frozen=True)
class Reloc:
    index: int
    offset: int
    type: int
    sym: int
    addend: int | None  # None for REL (the addend is in place)


@per_image
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


@quick_init
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
    fake = mapped_section(img, addr, size, c.SHT_RELA if rela else c.SHT_REL, label)
    ent = (24 if rela else 16) if img.is64 else (12 if rela else 8)
    return [DynReloc(label, r, in_jmprel) for r in relocs(img, fake)
            if addr + r.index * ent not in skip]


@per_image
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
