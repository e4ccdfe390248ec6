"""The ELF section header as a record, shared by the oracle's two readers (the field
oracle's oracle/relocs/elf_file.py and the checker's oracle/check/image.py).  Each reader
decodes and bounds-checks the table its own way and adds the views it needs; the record
is the gABI's Elf_Shdr with the name resolved and the index kept."""

from __future__ import annotations

from dataclasses import dataclass

from oracle.records import quick_init


@quick_init
@dataclass(frozen=True)
class SectionHeader:
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
