"""Symbol table rules: a defined symbol's value lies in the section it names."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import GABI, Finding, rule
from oracle.check.tables import symbols

TOPIC = "symbols"
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2


def _gap_end(img: ElfImage, end: int) -> int:
    """Where the next allocated section starts after `end`: a zero-sized symbol may sit in
    the alignment padding (GNU ld's __TMC_END__ lands past .data when .tm_clone_table is
    empty and discarded)."""
    starts = [s.addr for s in img.sections
              if s.flags & c.SHF_ALLOC and s.size and s.addr >= end]
    return min(starts, default=end)


@rule("ELF-SYM-RANGE", TOPIC,
      "a defined function, object or sized symbol in .symtab/.dynsym lies inside its st_shndx "
      "section (end, and for a zero-sized one the padding after it, allowed); a TLS symbol's offset inside PT_TLS", GABI)
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
            end = sec.addr + sec.size if sym.size else _gap_end(img, sec.addr + sec.size)
            if not (sec.addr <= sym.value and sym.value + sym.size <= end):
                yield where, (f"[{sym.value:#x}, +{sym.size:#x}) is outside {sec.name} "
                             f"[{sec.addr:#x}, +{sec.size:#x})")
