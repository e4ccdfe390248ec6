"""Rules for position-independent output (ET_DYN: PIEs and shared libraries): what ld.so
relies on once the object can load anywhere and its symbols can be interposed.

RELATIVE ordering and counting, and text relocations, are in relocs.py; these are the
rules that only make sense once code is shared: RELRO covering what relocation writes,
symbolic relocations naming symbols that lookup can find, visibility kept inside the
object, DF_STATIC_TLS, and a library's DT_SONAME.
"""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import DL_LOAD, DL_LOOKUP, DL_RELOC, GABI, Finding, rule
from oracle.check.relocations import dynamic_relocs
from oracle.check.tables import dyn_value, dynsym

TOPIC = "pic"

DT_SONAME = 14
DF_STATIC_TLS = 0x10
DF_1_PIE = 0x08000000
STV_INTERNAL, STV_HIDDEN = 1, 2
STB_LOCAL = 0

# Sections whose every word ld.so writes (or nobody writes) before the program runs, so a
# PT_GNU_RELRO must cover them when there is one.  `.got.plt` is not among them: lazy
# binding writes it later (ELF-GOT-RELRO judges that side).
RELRO_SECTIONS = (".got", ".dynamic", ".init_array", ".fini_array", ".preinit_array",
                  ".data.rel.ro")

# Relocation types that mean nothing without a symbol (the same numbers on both targets).
R_COPY, R_GLOB_DAT, R_JUMP_SLOT = 5, 6, 7
TPOFF = {c.EM_X86_64: {18}, c.EM_386: {14, 37}}  # TPOFF64; TLS_TPOFF, TLS_TPOFF32


def is_shared_library(img: ElfImage) -> bool:
    """ET_DYN that is not a PIE: no DF_1_PIE and no PT_INTERP (older GNU ld PIEs carry only
    the latter)."""
    if img.header.type != c.ET_DYN:
        return False
    if (dyn_value(img, c.DT_FLAGS_1) or 0) & DF_1_PIE:
        return False
    return not any(s.type == c.PT_INTERP for s in img.segments)


@rule("ELF-PIC-RELRO-COVERS", TOPIC,
      "PT_GNU_RELRO, when present, covers .got, .dynamic, .init_array, .fini_array, "
      ".preinit_array and .data.rel.ro whole: ld.so seals those pages after relocation, and "
      "a slot left outside stays writable for an attacker (or, past the end, is sealed "
      "before lazy binding writes it)", f"{DL_RELOC} (_dl_protect_relro)")
def relro_covers(img: ElfImage) -> Iterator[Finding]:
    relro = next((s for s in img.segments if s.type == c.PT_GNU_RELRO), None)
    if relro is None:
        return
    start, end = relro.vaddr, relro.vaddr + relro.memsz
    for name in RELRO_SECTIONS:
        sec = img.section(name)
        if sec is None or sec.size == 0 or not sec.flags & c.SHF_ALLOC:
            continue
        if not (start <= sec.addr and sec.addr + sec.size <= end):
            yield name, (f"[{sec.addr:#x}, {sec.addr + sec.size:#x}) is not inside "
                         f"PT_GNU_RELRO [{start:#x}, {end:#x})")


@rule("ELF-PIC-SYMBOLIC-RELOC", TOPIC,
      "GLOB_DAT, JUMP_SLOT and COPY name a dynamic symbol, and a relocation's symbol is never "
      "an undefined local: ld.so looks such a name up in no scope and writes 0 plus the addend",
      f"{DL_RELOC}, {DL_LOOKUP}")
def symbolic_relocs(img: ElfImage) -> Iterator[Finding]:
    syms = dynsym(img)
    for dr in dynamic_relocs(img):
        r = dr.reloc
        if r.sym == 0:
            if r.type in (R_COPY, R_GLOB_DAT, R_JUMP_SLOT):
                yield dr.where, f"type {r.type} at {r.offset:#x} names no symbol"
            continue
        if r.sym >= len(syms):
            continue  # ELF-REL-SYM's finding
        sym = syms[r.sym]
        if sym.bind == STB_LOCAL and sym.shndx == c.SHN_UNDEF:
            yield dr.where, f"symbol {r.sym} ({sym.name!r}) is an undefined local"


@rule("ELF-PIC-HIDDEN-LOCAL", TOPIC,
      "no hidden or internal symbol is global in .dynsym: the link editor must make it local "
      "(or drop it), else ld.so would let other objects bind to it and interpose it",
      f"{GABI} (symbol visibility)")
def hidden_local(img: ElfImage) -> Iterator[Finding]:
    for sym in dynsym(img):
        if sym.other & 3 in (STV_HIDDEN, STV_INTERNAL) and sym.bind != STB_LOCAL \
                and sym.shndx != c.SHN_UNDEF:
            yield ".dynsym", f"{sym.name!r} (index {sym.index}) is hidden but global"


@rule("ELF-PIC-STATIC-TLS", TOPIC,
      "a shared library with a TPOFF dynamic relocation (the initial-exec model) sets "
      "DF_STATIC_TLS: its block must be in the static TLS area, which dlopen after start-up "
      "cannot always grow, and ld.so reads the flag to refuse such a dlopen",
      f"{DL_LOAD}, {DL_RELOC}")
def static_tls(img: ElfImage) -> Iterator[Finding]:
    if not is_shared_library(img):
        return
    tpoff = TPOFF.get(img.header.machine, set())
    if (dyn_value(img, c.DT_FLAGS) or 0) & DF_STATIC_TLS:
        return
    for dr in dynamic_relocs(img):
        if dr.reloc.type in tpoff:
            yield dr.where, (f"type {dr.reloc.type} at {dr.reloc.offset:#x} needs static TLS, "
                             "but DT_FLAGS lacks DF_STATIC_TLS")
            return


@rule("ELF-PIC-SONAME", TOPIC,
      "a shared library carries DT_SONAME, the name executables linked against it record in "
      "DT_NEEDED; without one they record the path given at link time (legal when the link "
      "did not ask for -soname, hence a warning)", f"{GABI}, {DL_LOAD}", severity="warning")
def soname(img: ElfImage) -> Iterator[Finding]:
    if is_shared_library(img) and any(s.type == c.PT_DYNAMIC for s in img.segments) \
            and dyn_value(img, DT_SONAME) is None:
        yield "DT_SONAME", "a shared library without DT_SONAME"
