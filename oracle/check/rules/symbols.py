"""Symbol table rules: a defined symbol's value lies in the section it names."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage, Section
from oracle.check.registry import GABI, Finding, rule
from oracle.check.tables import symbols

TOPIC = "symbols"
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2


def _marker_range(img: ElfImage, sec: Section) -> tuple[int, int]:
    """Where a zero-sized symbol of `sec` may sit: anywhere in the memory image of the
    PT_LOAD holding the section, end included.  GNU ld leaves __TMC_END__ in .data with the
    address past .bss when crtend's empty .tm_clone_table is discarded."""
    load = img.load_at(sec.addr, sec.size)
    if load is None:
        return sec.addr, sec.addr + sec.size
    return load.vaddr, load.vaddr + load.memsz


@rule("ELF-SYM-RANGE", TOPIC,
      "a defined function, object or sized symbol in .symtab/.dynsym lies inside its st_shndx "
      "section (end allowed; a zero-sized one inside that section's PT_LOAD); a TLS symbol's offset inside PT_TLS", GABI)
def in_section(img: ElfImage) -> Iterator[Finding]:
    tls = next((s for s in img.segments if s.type == c.PT_TLS), None)
    for table in img.sections:
        if table.type not in (c.SHT_SYMTAB, c.SHT_DYNSYM):
            continue
        for sym in symbols(img, table)[1:]:
            if sym.shndx == c.SHN_UNDEF or sym.shndx >= c.SHN_LORESERVE:
                continue
            where = f"{table.name}[{sym.index}] {sym.name or '<unnamed>'}"
            if sym.shndx >= len(img.sections):
                yield where, f"st_shndx {sym.shndx} is past the {len(img.sections)} sections"
                continue
            if sym.type == c.STT_TLS:
                if tls is None or sym.value + sym.size > tls.memsz:
                    yield where, f"TLS offset {sym.value:#x}+{sym.size:#x} is outside PT_TLS"
                continue
            # Zero-sized untyped symbols are position markers (__ehdr_start, _end,
            # __init_array_start); linkers attach them to whichever section is handy.
            if sym.type == STT_NOTYPE and sym.size == 0:
                continue
            if sym.type not in (STT_NOTYPE, STT_OBJECT, STT_FUNC, c.STT_SECTION):
                continue
            sec = img.sections[sym.shndx]
            if not sec.flags & c.SHF_ALLOC:
                continue  # no addresses to compare against
            lo, hi = (sec.addr, sec.addr + sec.size) if sym.size else _marker_range(img, sec)
            if not (lo <= sym.value and sym.value + sym.size <= hi):
                yield where, (f"[{sym.value:#x}, +{sym.size:#x}) is outside {sec.name} "
                             f"[{sec.addr:#x}, +{sec.size:#x})")


STV_DEFAULT = 0


@rule("ELF-SYM-HIDDEN-IMPORT", TOPIC,
      "a name .symtab lists as an undefined hidden or protected reference is not an "
      "undefined entry of .dynsym: such a reference binds inside its own object or to 0, "
      "never to another module's definition", GABI)
def no_hidden_imports(img: ElfImage) -> Iterator[Finding]:
    tables = {s.type: s for s in img.sections if s.type in (c.SHT_SYMTAB, c.SHT_DYNSYM)}
    if c.SHT_SYMTAB not in tables or c.SHT_DYNSYM not in tables:
        return
    hidden = {s.name for s in symbols(img, tables[c.SHT_SYMTAB])[1:]
              if s.shndx == c.SHN_UNDEF and s.other & 3 != STV_DEFAULT and s.name}
    if not hidden:
        return
    for sym in symbols(img, tables[c.SHT_DYNSYM])[1:]:
        if sym.shndx == c.SHN_UNDEF and sym.name in hidden:
            yield ".dynsym", (f"{sym.name} is imported, but the objects reference it with "
                              "hidden or protected visibility: ld.so may bind it to another "
                              "module's definition")
