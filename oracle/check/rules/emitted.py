"""Relocations an executable keeps with `--emit-relocs` (GNU ld's `-q`): non-allocated
SHT_RELA/SHT_REL sections with SHF_INFO_LINK, sh_info the section they patch, sh_link the
.symtab.  Tools that read them (BOLT, kernel relocation tools, `objdump -dr`) take each entry
as the relocation that produced the bytes at its address, so an entry must name a place in
its section and, for the plain x86-64 forms, the bytes there must be what its formula gives
from .symtab: S + A for R_X86_64_64/32/32S, S + A - P for PC32 and PLT32 (a defined,
non-IFUNC symbol: calls to others go through the PLT).  A GOT load the linker relaxed must
not keep its GOTPCREL type: its field must then still reach a GOT slot.
"""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage, Section
from oracle.check.registry import GABI, PSABI_X86_64, Finding, rule
from oracle.check.relocations import relocs
from oracle.check.tables import Symbol, symbols

TOPIC = "emitted relocations"
SHF_INFO_LINK = 0x40
STT_TLS, STT_GNU_IFUNC = 6, 10
SHN_ABS = 0xFFF1
# x86-64 types: (width, pc-relative) of those whose field is S + A (- P)
_PLAIN = {1: (8, False), 10: (4, False), 11: (4, False), 2: (4, True), 4: (4, True)}
_PLT32 = 4
_TLS_HELPERS = ("__tls_get_addr", "___tls_get_addr")
_GOT_LOADS = {9, 41, 42}  # GOTPCREL, GOTPCRELX, REX_GOTPCRELX: S is the symbol's GOT slot


def _emitted(img: ElfImage) -> Iterator[tuple[Section, Section, tuple[Symbol, ...]]]:
    if img.header.type not in (c.ET_EXEC, c.ET_DYN):
        return
    for sec in img.sections:
        if sec.type not in (c.SHT_RELA, c.SHT_REL) or sec.flags & c.SHF_ALLOC \
                or not sec.flags & SHF_INFO_LINK:
            continue
        if not 0 < sec.info < len(img.sections) or not 0 < sec.link < len(img.sections):
            continue
        table = img.sections[sec.link]
        if table.type != c.SHT_SYMTAB:
            continue
        yield sec, img.sections[sec.info], symbols(img, table)


@rule("ELF-EMITTED-RELOC-PLACE", TOPIC,
      "an emitted relocation (--emit-relocs) lies in the section its sh_info names and "
      "names a .symtab entry", GABI)
def place(img: ElfImage) -> Iterator[Finding]:
    for sec, target, syms in _emitted(img):
        base = target.addr if target.flags & c.SHF_ALLOC else 0
        for r in relocs(img, sec):
            if r.type == 0:
                continue  # R_*_NONE: a reference to a discarded section, nothing written
            if not base <= r.offset < base + target.size:
                yield f"{sec.name}[{r.index}]", (f"r_offset {r.offset:#x} is outside "
                                                 f"{target.name}")
            if r.sym >= len(syms):
                yield f"{sec.name}[{r.index}]", f"symbol {r.sym} past .symtab's {len(syms)}"


def _got_ranges(img: ElfImage) -> list[tuple[int, int]]:
    return [(s.addr, s.addr + s.size) for s in img.sections if s.name in (".got", ".got.plt")]


@rule("ELF-EMITTED-RELOC-FIELD", TOPIC,
      "the bytes at an emitted x86-64 relocation are what its formula gives from .symtab "
      "(S + A, S + A - P), and a relaxed GOT load is not emitted as one", PSABI_X86_64)
def field(img: ElfImage) -> Iterator[Finding]:
    if img.header.machine != c.EM_X86_64:
        return  # i386's REL addends are in the bytes: nothing to hold them to
    got = _got_ranges(img)
    for sec, target, syms in _emitted(img):
        if not target.flags & c.SHF_ALLOC or target.type == c.SHT_NOBITS:
            continue
        for r in relocs(img, sec):
            if r.sym == 0 or r.sym >= len(syms) or r.addend is None:
                continue
            sym = syms[r.sym]
            if sym.shndx == c.SHN_UNDEF or sym.type in (STT_TLS, STT_GNU_IFUNC) \
                    or sym.name in _TLS_HELPERS:
                continue  # (a TLS sequence relaxed to local exec no longer calls it)
            if r.type not in _PLAIN and r.type not in _GOT_LOADS:
                continue
            width = 8 if r.type == 1 else 4
            if not target.holds(r.offset, width):
                continue  # ELF-EMITTED-RELOC-PLACE says so
            if r.type == 1 and img.header.type == c.ET_DYN:
                continue  # a PIE's word is ld.so's to fill (RELATIVE)
            raw = img.bytes_at(target.offset + r.offset - target.addr, width, sec.name)
            value = int.from_bytes(raw, "little", signed=width == 4)
            where = f"{sec.name}[{r.index}]"
            if r.type in _GOT_LOADS:
                reached = value + r.offset - r.addend
                if not any(lo <= reached < hi for lo, hi in got):
                    yield where, (f"GOT load at {r.offset:#x} ({sym.name or 'section'}) "
                                  f"reaches {reached:#x}, no GOT slot: relaxed, but emitted "
                                  "with its GOTPCREL type")
                continue
            mask = (1 << (8 * width)) - 1
            expected = sym.value + r.addend - (r.offset if _PLAIN[r.type][1] else 0)
            if (value - expected) & mask:
                yield where, (f"type {r.type} at {r.offset:#x} against "
                              f"{sym.name or f'section symbol {r.sym}'} + {r.addend}: the "
                              f"field holds {value & mask:#x}, the formula gives "
                              f"{expected & mask:#x}")
