"""Dynamic relocation rules: what ld.so writes must be writable, PLT relocations must be
where lazy binding looks for them, and symbol indices must name .dynsym entries."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import (
    DL_MACHINE,
    DL_RELOC,
    DL_RUNTIME,
    PSABI_I386,
    PSABI_X86_64,
    Finding,
    rule,
)
from oracle.check.relocations import dynamic_relocs
from oracle.check.tables import dyn_value, dynsym

TOPIC = "relocations"
DF_TEXTREL = 0x4
R_COPY = 5  # R_X86_64_COPY and R_386_COPY share the number


def _jump_slot_type(img: ElfImage) -> int:
    return c.R_X86_64_JUMP_SLOT if img.header.machine == c.EM_X86_64 else c.R_386_JMP_SLOT


def _irelative_type(img: ElfImage) -> int:
    return c.R_X86_64_IRELATIVE if img.header.machine == c.EM_X86_64 else c.R_386_IRELATIVE


# TLS descriptors (-mtls-dialect=gnu2) are resolved lazily too: GNU ld puts them in
# .rela.plt, and glibc's elf_machine_lazy_rel handles them there (x86_64 and i386
# dl-machine.h) beside JUMP_SLOT and IRELATIVE
R_X86_64_TLSDESC, R_386_TLS_DESC = 36, 41


def _tlsdesc_type(img: ElfImage) -> int:
    return R_X86_64_TLSDESC if img.header.machine == c.EM_X86_64 else R_386_TLS_DESC


@rule("ELF-REL-TARGET", TOPIC,
      "every dynamic relocation writes inside a writable PT_LOAD (unless DT_TEXTREL)",
      DL_RUNTIME)
def target(img: ElfImage) -> Iterator[Finding]:
    textrel = dyn_value(img, c.DT_TEXTREL) is not None \
        or bool((dyn_value(img, c.DT_FLAGS) or 0) & DF_TEXTREL)
    for dr in dynamic_relocs(img):
        r = dr.reloc
        if r.type == 0:  # R_*_NONE writes nothing
            continue
        # A COPY writes st_size bytes (ELF-REL-COPY judges them: a 4-byte object may end
        # a segment, so its word would not fit); every other type writes a word or less.
        load = img.load_at(r.offset, 1 if r.type == R_COPY else img.word)
        if load is None:
            yield dr.where, f"r_offset {r.offset:#x} is not inside any PT_LOAD"
        elif not load.flags & c.PF_W and not textrel:
            yield dr.where, (f"r_offset {r.offset:#x} ({img.where(r.offset)}) is in "
                            f"{load.name}, which is not writable")


@rule("ELF-REL-JUMPSLOT", TOPIC,
      "JUMP_SLOT relocations are exactly the DT_JMPREL range (with IRELATIVE and TLS "
      "descriptors), which is what lazy binding indexes",
      f"{PSABI_X86_64}, {PSABI_I386}, {DL_RUNTIME}")
def jump_slot_place(img: ElfImage) -> Iterator[Finding]:
    slot = _jump_slot_type(img)
    lazy = (slot, _irelative_type(img), _tlsdesc_type(img))
    for dr in dynamic_relocs(img):
        if dr.reloc.type == slot and not dr.in_jmprel:
            yield dr.where, f"JUMP_SLOT at {dr.reloc.offset:#x} outside the DT_JMPREL range"
        elif dr.in_jmprel and dr.reloc.type not in lazy:
            yield dr.where, (f"type {dr.reloc.type} in the DT_JMPREL range (only JUMP_SLOT, "
                            "IRELATIVE and TLSDESC belong there)")


# Dynamic relocation types glibc's ld.so applies (x86_64 and i386 dl-machine.h); any other
# type stops the program with "unexpected reloc type".
APPLIED_X86_64 = {0: "NONE", 1: "64", 2: "PC32", 5: "COPY", 6: "GLOB_DAT", 7: "JUMP_SLOT",
                  8: "RELATIVE", 10: "32", 16: "DTPMOD64", 17: "DTPOFF64", 18: "TPOFF64",
                  32: "SIZE32", 33: "SIZE64", 36: "TLSDESC", 37: "IRELATIVE", 38: "RELATIVE64"}
APPLIED_I386 = {0: "NONE", 1: "32", 2: "PC32", 5: "COPY", 6: "GLOB_DAT", 7: "JMP_SLOT",
                8: "RELATIVE", 14: "TLS_TPOFF", 35: "TLS_DTPMOD32", 36: "TLS_DTPOFF32",
                37: "TLS_TPOFF32", 41: "TLS_DESC", 42: "IRELATIVE"}


@rule("ELF-REL-TYPE", TOPIC, "every dynamic relocation has a type ld.so applies",
      f"{PSABI_X86_64}, {PSABI_I386}, {DL_MACHINE}")
def reloc_type(img: ElfImage) -> Iterator[Finding]:
    applied = APPLIED_X86_64 if img.header.machine == c.EM_X86_64 else APPLIED_I386
    for dr in dynamic_relocs(img):
        if dr.reloc.type not in applied:
            yield dr.where, f"type {dr.reloc.type} is not a dynamic relocation ld.so applies"


@rule("ELF-REL-SYM", TOPIC, "every dynamic relocation's symbol index is inside .dynsym",
      DL_RUNTIME)
def symbol_index(img: ElfImage) -> Iterator[Finding]:
    count = len(dynsym(img))
    for dr in dynamic_relocs(img):
        if dr.reloc.sym >= max(count, 1):
            yield dr.where, f"symbol index {dr.reloc.sym} is past .dynsym's {count} entries"


@rule("ELF-REL-COPY", TOPIC,
      "a COPY relocation's symbol is defined by the executable, with a size, exactly at "
      "r_offset, in writable memory: ld.so copies st_size bytes there and every reference "
      "must resolve to that copy", f"{PSABI_X86_64}, {PSABI_I386}, {DL_RUNTIME}")
def copy_relocs(img: ElfImage) -> Iterator[Finding]:
    syms = dynsym(img)
    for dr in dynamic_relocs(img):
        r = dr.reloc
        if r.type != R_COPY or not 0 < r.sym < len(syms):
            continue  # an index out of range is ELF-REL-SYM's finding
        sym = syms[r.sym]
        if sym.shndx == c.SHN_UNDEF or sym.size == 0:
            yield dr.where, f"COPY of {sym.name!r}, which is undefined or has no size"
        elif sym.value != r.offset:
            yield dr.where, (f"COPY to {r.offset:#x}, but {sym.name!r} is defined at "
                            f"{sym.value:#x}")
        else:
            load = img.load_at(r.offset, sym.size)
            if load is None or not load.flags & c.PF_W:
                yield dr.where, (f"COPY of {sym.name!r} ({sym.size} bytes at {r.offset:#x}) is "
                                "not inside a writable PT_LOAD")


DT_RELACOUNT, DT_RELCOUNT = 0x6FFFFFF9, 0x6FFFFFFA
R_RELATIVE = 8  # R_X86_64_RELATIVE and R_386_RELATIVE share the number


@rule("ELF-REL-RELATIVE-COUNT", TOPIC,
      "DT_RELACOUNT/DT_RELCOUNT counts the RELATIVE relocations, which lead the DT_RELA/DT_REL "
      "range: ld.so applies the first count entries as RELATIVE without reading their type, "
      "so a count past them corrupts the fields of the others, and a RELATIVE after them "
      "means the table is not sorted as the count promises",
      f"{DL_MACHINE} (elf_dynamic_do_Rel's nrelative), {DL_RELOC}")
def relative_count(img: ElfImage) -> Iterator[Finding]:
    for tag, name in ((DT_RELACOUNT, "DT_RELACOUNT"), (DT_RELCOUNT, "DT_RELCOUNT")):
        count = dyn_value(img, tag)
        if count is None:
            continue
        # The DT_RELA (DT_REL) range, in table order; an image has one of the two.
        types = [dr.reloc.type for dr in dynamic_relocs(img) if not dr.in_jmprel]
        if count > len(types):
            yield name, f"{name} {count} is past the {len(types)} relocations of the table"
            continue
        for n, rtype in enumerate(types[:count]):
            if rtype != R_RELATIVE:
                yield name, (f"{name} {count}, but entry {n} has type {rtype}, not RELATIVE")
                break
        late = sum(1 for rtype in types[count:] if rtype == R_RELATIVE)
        if late:
            yield name, (f"{name} {count} leaves out {late} RELATIVE relocation(s) later in "
                         "the table")


@rule("ELF-REL-NO-TEXTREL", TOPIC,
      "no DT_TEXTREL (or DF_TEXTREL): a text relocation makes ld.so write code pages, which "
      "hardened systems refuse; a linker emits one only when asked (-z notext), hence a "
      "warning (ELF-REL-TARGET is the error: a relocation into code without the flag)",
      DL_RELOC, severity="warning")
def no_textrel(img: ElfImage) -> Iterator[Finding]:
    if dyn_value(img, c.DT_TEXTREL) is not None:
        yield "DT_TEXTREL", "the output carries DT_TEXTREL"
    if (dyn_value(img, c.DT_FLAGS) or 0) & DF_TEXTREL:
        yield "DT_FLAGS", "the output sets DF_TEXTREL"
