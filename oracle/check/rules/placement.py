"""Sections-to-segments rules: each allocated section is mapped by exactly one PT_LOAD, at
the file offset its header claims, with the permissions its flags ask for."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import BINFMT, GABI, Finding, rule

TOPIC = "sections-to-segments"


@rule("ELF-SEC-LOAD", TOPIC, "every allocated section lies inside exactly one PT_LOAD", GABI)
def in_one_load(img: ElfImage) -> Iterator[Finding]:
    for sec in img.mapped_sections:
        loads = img.loads_covering(sec.addr, sec.size)
        if not loads:
            yield sec.name, f"[{sec.addr:#x}, +{sec.size:#x}) is not inside any PT_LOAD"
        elif len(loads) > 1:
            yield sec.name, "inside " + ", ".join(s.name for s in loads)


@rule("ELF-SEC-OFFSET", TOPIC,
      "a section with file contents is inside its PT_LOAD's file image at the offset that "
      "maps it to sh_addr", BINFMT)
def file_offset(img: ElfImage) -> Iterator[Finding]:
    for sec in img.mapped_sections:
        if sec.type == c.SHT_NOBITS:
            continue
        load = img.load_at(sec.addr, sec.size)
        if load is None:
            continue  # ELF-SEC-LOAD reports it
        if not load.covers_file(sec.addr, sec.size):
            yield sec.name, f"ends past {load.name}'s file image (p_filesz {load.filesz:#x})"
        elif sec.offset - load.offset != sec.addr - load.vaddr:
            want = load.offset + sec.addr - load.vaddr
            yield sec.name, (f"sh_offset {sec.offset:#x}, but {load.name} maps sh_addr "
                            f"{sec.addr:#x} from file offset {want:#x}")


@rule("ELF-SEC-FILE", TOPIC, "every section's contents lie inside the file", GABI)
def sec_in_file(img: ElfImage) -> Iterator[Finding]:
    for sec in img.sections:
        if sec.file_size and sec.offset + sec.file_size > len(img.data):
            yield sec.name, (f"[{sec.offset:#x}, +{sec.size:#x}) runs past end of file "
                            f"({len(img.data):#x})")


@rule("ELF-SEC-PERM", TOPIC,
      "the PT_LOAD holding a section grants what its flags need: SHF_WRITE -> PF_W, "
      "SHF_EXECINSTR -> PF_X, and PF_R for any allocated section", BINFMT)
def permissions(img: ElfImage) -> Iterator[Finding]:
    for sec in img.mapped_sections:
        load = img.load_at(sec.addr, sec.size)
        if load is None:
            continue
        if sec.flags & c.SHF_WRITE and not load.flags & c.PF_W:
            yield sec.name, f"SHF_WRITE section in {load.name}, which lacks PF_W"
        if sec.flags & c.SHF_EXECINSTR and not load.flags & c.PF_X:
            yield sec.name, f"SHF_EXECINSTR section in {load.name}, which lacks PF_X"
        if not load.flags & (c.PF_R | c.PF_X):
            yield sec.name, f"allocated section in {load.name}, which is not readable"


@rule("ELF-SEC-ALIGN", TOPIC,
      "an allocated section's sh_addralign is 0 or a power of two and its sh_addr is a "
      "multiple of it (an aligned(N) object is only aligned if its section is)", GABI)
def address_alignment(img: ElfImage) -> Iterator[Finding]:
    for sec in img.sections:
        align = sec.addralign
        if not sec.flags & c.SHF_ALLOC or align <= 1:
            continue
        if align & (align - 1):
            yield sec.name, f"sh_addralign {align:#x} is not a power of two"
        elif sec.addr % align:
            yield sec.name, f"sh_addr {sec.addr:#x} is not a multiple of sh_addralign {align:#x}"
