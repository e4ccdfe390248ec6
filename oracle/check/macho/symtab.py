"""Symbol table rules: LC_DYSYMTAB's three ranges, and the indirect symbol table with the
sections that index it (stubs and symbol pointers)."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_LINKEDIT, LD64, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "symbols"
INDIRECT_SECTIONS = (mi.S_SYMBOL_STUBS, mi.S_LAZY_SYMBOL_POINTERS, mi.S_NON_LAZY_SYMBOL_POINTERS)


@rule("MACHO-DYSYMTAB", TOPIC,
      "LC_DYSYMTAB splits the symbols in order: locals, external definitions, undefined",
      DYLD_LINKEDIT)
def dysymtab(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dysymtab is None:
        if img.dylibs:
            yield "LC_DYSYMTAB", "missing in a dynamically linked executable"
        return
    ilocal, nlocal, iext, next_, iundef, nundef = img.dysymtab[:6]
    nsyms = img.symtab[1] if img.symtab else 0
    if ilocal != 0 or iext != ilocal + nlocal or iundef != iext + next_:
        yield "LC_DYSYMTAB", (f"ranges local [{ilocal}, +{nlocal}) extdef [{iext}, +{next_}) "
                              f"undef [{iundef}, +{nundef}) are not consecutive from 0")
    if iundef + nundef != nsyms:
        yield "LC_DYSYMTAB", f"the ranges cover {iundef + nundef} symbols, LC_SYMTAB has {nsyms}"
    symbols = img.symbols()
    for lo, count, kind in ((ilocal, nlocal, "local"), (iext, next_, "extdef"),
                            (iundef, nundef, "undef")):
        for sym in symbols[lo : lo + count]:
            if sym.type & mi.N_STAB:
                if kind != "local":
                    yield f"symbol {sym.index} {sym.name}", f"debugging entry in the {kind} range"
                continue
            external, undefined = bool(sym.type & mi.N_EXT), sym.undefined
            ok = {"local": not external, "extdef": external and not undefined,
                  "undef": external and undefined}[kind]
            if not ok:
                yield f"symbol {sym.index} {sym.name}", (
                    f"{'external' if external else 'local'} "
                    f"{'undefined' if undefined else 'defined'} symbol in the {kind} range")


S_THREAD_LOCAL_VARIABLE_POINTERS = 0x14


@rule("MACHO-INDIRECT-INDEX", TOPIC,
      "each indirect symbol entry is INDIRECT_SYMBOL_LOCAL/ABS or a symbol index in range "
      "(__thread_ptrs' entries in an image bound by opcodes or chains: "
      "MACHO-INDIRECT-TLV-PTRS)", DYLD_LINKEDIT)
def indirect_index(f: MachOFile) -> Iterator[Finding]:
    lenient = _thread_pointer_entries(f.img)
    for k, entry, nsyms in _out_of_range(f.img):
        if k not in lenient:
            yield f"indirect symbol {k}", f"symbol index {entry} >= nsyms {nsyms}"


@rule("MACHO-INDIRECT-TLV-PTRS", TOPIC,
      "the indirect entries of S_THREAD_LOCAL_VARIABLE_POINTERS (__thread_ptrs) name symbols "
      "in range (a warning where the image is fixed up by dyld-info opcodes or chained "
      "fixups, which is all dyld reads for those slots: lief 0.13.2's _lief.so rebases its "
      "five __thread_ptrs slots by opcodes, and their indirect entries name symbols 52,938 "
      "and up of a 6,405-symbol table, numbered, it seems, before the table was stripped)",
      DYLD_LINKEDIT, severity="warning")
def indirect_thread_pointers(f: MachOFile) -> Iterator[Finding]:
    lenient = _thread_pointer_entries(f.img)
    for k, entry, nsyms in _out_of_range(f.img):
        if k in lenient:
            yield f"indirect symbol {k} (__thread_ptrs)", (f"symbol index {entry} >= nsyms "
                                                           f"{nsyms}")


def _out_of_range(img: mi.MachOImage) -> Iterator[tuple[int, int, int]]:
    """(position, entry, nsyms) of each indirect entry naming no symbol."""
    nsyms = img.symtab[1] if img.symtab else 0
    for k, entry in enumerate(img.indirect_symbols()):
        if not entry & (mi.INDIRECT_SYMBOL_LOCAL | mi.INDIRECT_SYMBOL_ABS) and entry >= nsyms:
            yield k, entry, nsyms


def _thread_pointer_entries(img: mi.MachOImage) -> set[int]:
    """The indirect-table positions of __thread_ptrs slots when nothing binds through them
    (the image has dyld-info opcodes or chained fixups); empty otherwise."""
    if img.dyld_info is None and img.chained_fixups is None:
        return set()
    # only the positions the indirect table has: a section size from the file (a hostile
    # one claims terabytes) does not size the set
    count = len(img.indirect_symbols())
    return {position for sect in img.sections()
            if sect.type == S_THREAD_LOCAL_VARIABLE_POINTERS
            for position in range(sect.reserved1,
                                  min(sect.reserved1 + sect.size // img.word, count))}


@rule("MACHO-INDIRECT-SECT", TOPIC,
      "stub and pointer sections: entry size divides the size, reserved1 + count in range",
      LD64)
def indirect_sections(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    count = len(img.indirect_symbols())
    for sect in img.sections():
        if sect.type not in INDIRECT_SECTIONS:
            continue
        size = sect.reserved2 if sect.type == mi.S_SYMBOL_STUBS else img.word
        if size == 0:
            yield sect.name, "S_SYMBOL_STUBS with reserved2 (stub size) 0"
            continue
        if sect.size % size:
            yield sect.name, f"size {sect.size:#x} is not a multiple of the entry size {size}"
        if sect.reserved1 + sect.size // size > count:
            yield sect.name, (f"reserved1 {sect.reserved1} + {sect.size // size} entries is "
                              f"past the indirect symbol table ({count})")


@rule("MACHO-SYMBOL-SECT", TOPIC,
      "each N_SECT symbol names an existing section and its value lies in that section's "
      "segment (__mh_execute_header, in section 1, is the segment's start)",
      DYLD_LINKEDIT)
def symbol_sections(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    sections = img.sections()
    for sym in img.symbols():
        if not sym.defined_in_section:
            continue
        where = f"symbol {sym.index} {sym.name}"
        if not 1 <= sym.sect <= len(sections):
            yield where, f"n_sect {sym.sect} names no section (there are {len(sections)})"
            continue
        sect = sections[sym.sect - 1]
        seg = img.segment_named(sect.segname)
        if seg is None or not seg.vmaddr <= sym.value <= seg.vmaddr + seg.vmsize:
            yield where, f"value {sym.value:#x} is outside {sect.segname} (of {sect.name})"
