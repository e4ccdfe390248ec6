"""`.dynamic` rules: the tags ld.so needs are present, point at the sections they name, and
their sizes and entry sizes are the ones of the file's class."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import DL_LOAD, GABI, PSABI_I386, PSABI_X86_64, Finding, rule
from oracle.check.tables import dyn_value, dynamic, section_by_addr

TOPIC = "dynamic"

NAMES = {
    c.DT_PLTRELSZ: "DT_PLTRELSZ", c.DT_PLTGOT: "DT_PLTGOT", c.DT_HASH: "DT_HASH",
    c.DT_STRTAB: "DT_STRTAB", c.DT_SYMTAB: "DT_SYMTAB", c.DT_RELA: "DT_RELA",
    c.DT_RELASZ: "DT_RELASZ", c.DT_RELAENT: "DT_RELAENT", c.DT_STRSZ: "DT_STRSZ",
    c.DT_SYMENT: "DT_SYMENT", c.DT_REL: "DT_REL", c.DT_RELSZ: "DT_RELSZ",
    c.DT_RELENT: "DT_RELENT", c.DT_PLTREL: "DT_PLTREL", c.DT_JMPREL: "DT_JMPREL",
    c.DT_GNU_HASH: "DT_GNU_HASH", c.DT_VERSYM: "DT_VERSYM", c.DT_VERNEED: "DT_VERNEED",
    c.DT_VERDEF: "DT_VERDEF",
}

# address tag -> section types it must be the start of
_TARGETS = {
    c.DT_STRTAB: (c.SHT_STRTAB,),
    c.DT_SYMTAB: (c.SHT_DYNSYM,),
    c.DT_HASH: (c.SHT_HASH,),
    c.DT_GNU_HASH: (c.SHT_GNU_HASH,),
    c.DT_RELA: (c.SHT_RELA,),
    c.DT_REL: (c.SHT_REL,),
    c.DT_JMPREL: (c.SHT_RELA, c.SHT_REL),
    c.DT_VERSYM: (c.SHT_GNU_VERSYM,),
    c.DT_VERNEED: (c.SHT_GNU_VERNEED,),
    c.DT_VERDEF: (c.SHT_GNU_VERDEF,),
}

# (table tag, its size tag, its entry-size tag or None)
_RANGES = ((c.DT_RELA, c.DT_RELASZ, c.DT_RELAENT), (c.DT_REL, c.DT_RELSZ, c.DT_RELENT),
           (c.DT_JMPREL, c.DT_PLTRELSZ, None))


def has_dynamic(img: ElfImage) -> bool:
    return any(s.type == c.PT_DYNAMIC for s in img.segments)


def entry_sizes(img: ElfImage) -> dict[int, int]:
    """Entry-size tag -> the size the class prescribes."""
    if img.is64:
        return {c.DT_SYMENT: 24, c.DT_RELAENT: 24, c.DT_RELENT: 16}
    return {c.DT_SYMENT: 16, c.DT_RELAENT: 12, c.DT_RELENT: 8}


@rule("ELF-DYN-REQUIRED", TOPIC,
      "a dynamic executable has DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, a hash table, and "
      "each relocation table's size and entry-size tags", f"{GABI}, {DL_LOAD}")
def required(img: ElfImage) -> Iterator[Finding]:
    if not has_dynamic(img):
        return
    tags = {t for t, _ in dynamic(img)}
    for tag in (c.DT_STRTAB, c.DT_SYMTAB, c.DT_STRSZ, c.DT_SYMENT):
        if tag not in tags:
            yield ".dynamic", f"{NAMES[tag]} is missing"
    if not tags & {c.DT_HASH, c.DT_GNU_HASH}:
        yield ".dynamic", "neither DT_HASH nor DT_GNU_HASH is present"
    for table, size, ent in _RANGES:
        if table in tags:
            for need in (size, ent):
                if need is not None and need not in tags:
                    yield ".dynamic", f"{NAMES[table]} without {NAMES[need]}"
    if c.DT_JMPREL in tags:
        for need in (c.DT_PLTREL, c.DT_PLTGOT):
            if need not in tags:
                yield ".dynamic", f"DT_JMPREL without {NAMES[need]}"


@rule("ELF-DYN-ADDR", TOPIC,
      "each table tag (DT_STRTAB, DT_SYMTAB, DT_HASH, DT_GNU_HASH, DT_RELA/REL, DT_JMPREL, "
      "DT_VERSYM/VERNEED/VERDEF) is the address of a section of the matching type, and each "
      "relocation range lies inside relocation sections", GABI)
def addresses(img: ElfImage) -> Iterator[Finding]:
    if not has_dynamic(img) or not img.sections:
        return
    sizes = {table: size for table, size, _ in _RANGES}
    for tag, types in _TARGETS.items():
        addr = dyn_value(img, tag)
        if addr is None or (tag in sizes and not dyn_value(img, sizes[tag])):
            continue  # (an empty relocation table may have any address, glibc ldconfig: 0)
        if section_by_addr(img, addr, types) is None:
            yield NAMES[tag], (f"{addr:#x} is not the start of a section of the right type "
                              f"(it is in {img.where(addr)})")
    for table, size_tag, _ in _RANGES:
        addr, size = dyn_value(img, table), dyn_value(img, size_tag)
        if addr is None or not size:
            continue
        kinds = (c.SHT_RELA,) if table == c.DT_RELA else (c.SHT_REL,) if table == c.DT_REL \
            else (c.SHT_RELA, c.SHT_REL)
        pos = addr
        while pos < addr + size:  # sections may be adjacent (.rela.dyn then .rela.plt)
            sec = section_by_addr(img, pos, kinds)
            if sec is None or sec.size == 0:
                yield NAMES[table], (f"[{addr:#x}, +{size:#x}) is not covered by relocation "
                                    f"sections (gap at {pos:#x})")
                break
            pos += sec.size
    pltgot = dyn_value(img, c.DT_PLTGOT)
    if pltgot is not None:
        sec = img.section_at(pltgot)
        if sec is None or sec.name not in (".got.plt", ".got"):
            yield "DT_PLTGOT", (f"{pltgot:#x} is not inside .got.plt or .got "
                               f"(it is in {img.where(pltgot)})")


@rule("ELF-DYN-STRSZ", TOPIC, "DT_STRSZ is the size of the .dynstr section DT_STRTAB names",
      GABI)
def strsz(img: ElfImage) -> Iterator[Finding]:
    addr, size = dyn_value(img, c.DT_STRTAB), dyn_value(img, c.DT_STRSZ)
    if addr is None or size is None:
        return
    sec = section_by_addr(img, addr, (c.SHT_STRTAB,))
    if sec is not None and sec.size != size:
        yield "DT_STRSZ", f"is {size:#x}, but {sec.name} is {sec.size:#x} bytes"


@rule("ELF-DYN-ENT", TOPIC,
      "DT_SYMENT, DT_RELAENT and DT_RELENT equal the class's record sizes, and relocation "
      "table sizes are whole records", GABI)
def entsizes(img: ElfImage) -> Iterator[Finding]:
    want = entry_sizes(img)
    for tag, size in want.items():
        value = dyn_value(img, tag)
        if value is not None and value != size:
            names = {c.DT_SYMENT: "DT_SYMENT", c.DT_RELAENT: "DT_RELAENT", c.DT_RELENT: "DT_RELENT"}
            yield names[tag], f"is {value}, expected {size}"
    pltrel = dyn_value(img, c.DT_PLTREL)
    plt_ent = want[c.DT_RELAENT] if pltrel == c.DT_RELA else want[c.DT_RELENT]
    for size_tag, ent in ((c.DT_RELASZ, want[c.DT_RELAENT]), (c.DT_RELSZ, want[c.DT_RELENT]),
                          (c.DT_PLTRELSZ, plt_ent)):
        value = dyn_value(img, size_tag)
        if value is not None and value % ent:
            yield NAMES[size_tag], f"{value:#x} is not a multiple of the record size {ent}"


@rule("ELF-DYN-PLTREL", TOPIC,
      "DT_PLTREL is DT_RELA on x86-64 and DT_REL on i386",
      f"{PSABI_X86_64}, {PSABI_I386}")
def pltrel(img: ElfImage) -> Iterator[Finding]:
    value = dyn_value(img, c.DT_PLTREL)
    if value is None:
        return
    want = c.DT_RELA if img.header.machine == c.EM_X86_64 else c.DT_REL
    if value != want:
        yield "DT_PLTREL", f"is {value}, expected {want} ({NAMES[want]})"


@rule("ELF-DYN-STRINGS", TOPIC,
      "DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH are offsets of strings inside DT_STRSZ",
      GABI)
def strings(img: ElfImage) -> Iterator[Finding]:
    strsz_value = dyn_value(img, c.DT_STRSZ)
    if strsz_value is None:
        return
    string_tags = {c.DT_NEEDED: "DT_NEEDED", 14: "DT_SONAME", 15: "DT_RPATH", 29: "DT_RUNPATH"}
    for i, (tag, value) in enumerate(dynamic(img)):
        if tag in string_tags and value >= strsz_value:
            yield f".dynamic[{i}]", (f"{string_tags[tag]} offset {value:#x} is past DT_STRSZ "
                                    f"{strsz_value:#x}")
