"""Weak definitions across images: dyld coalesces a weakly defined name to one definition
for the whole process, but only among the images whose header says they take part, and
only at the sites an image lists for it.  An image that exports a weak definition without
MH_WEAK_DEFINES is never searched (a later image's copy wins where the executable's should);
one whose stub or GOT slot reaches its own exported weak definition without a weak bind
there keeps calling its own copy when another image's won."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import chained
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.coalesce import (
    EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION,
    MH_BINDS_TO_WEAK,
    MH_WEAK_DEFINES,
    WEAK_LOOKUP,
)
from oracle.emulate.macho.dylib_images import export_entries
from oracle.emulate.macho.opcodes import OpcodeError, decode_binds

TOPIC = "weak"
DYLD_WEAK = "dyld ImageLoader::weakBind (the images with MH_WEAK_DEFINES or MH_BINDS_TO_WEAK)"
LD64_WEAK = "ld64 (a reference to an exported weak definition is weakly bound)"
N_WEAK_DEF = 0x80


def _weak_sites(img: mi.MachOImage) -> set[int] | None:
    """Addresses the image binds weakly (weak-bind opcodes, or chained imports of the
    weak-lookup pseudo-library); None when they cannot be read (other rules say why)."""
    try:
        if img.chained_fixups is not None:
            fixups = chained.read_fixups(img)
            return {f.address for f in fixups.fixups
                    if f.bind and 0 <= f.value < len(fixups.imports)
                    and fixups.imports[f.value].ordinal == WEAK_LOOKUP}
        info = img.dyld_info
        if info is None or not info.weak_bind[1]:
            return set()
        out = set()
        for b in decode_binds(img.bytes_at(*info.weak_bind, "weak bind opcodes"), "weak bind",
                              pointer_size=img.word, limit=img.fixup_limit, weak=True):
            if 0 <= b.segment < len(img.segments):
                out.add(img.segments[b.segment].vmaddr + b.offset)
        return out
    except (OpcodeError, chained.ChainError, mi.MachOError):
        return None


@rule("MACHO-WEAK-FLAGS", TOPIC,
      "an image that exports a weak definition has MH_WEAK_DEFINES, and one that binds "
      "weakly has MH_BINDS_TO_WEAK: dyld coalesces only among images with one of the flags",
      DYLD_WEAK)
def weak_flags(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    try:
        weak = [e.name for e in export_entries(img)
                if e.flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION]
    except mi.MachOError:
        weak = []
    if weak and not img.flags & MH_WEAK_DEFINES:
        yield "header", (f"exports weak definitions ({', '.join(sorted(weak)[:3])}) without "
                         "MH_WEAK_DEFINES")
    sites = _weak_sites(img)
    if sites and not img.flags & MH_BINDS_TO_WEAK:
        yield "header", f"{len(sites)} weakly bound sites without MH_BINDS_TO_WEAK"


@rule("MACHO-WEAK-OWN-SLOT", TOPIC,
      "a lazy or non-lazy pointer (stub or GOT slot) to a weak definition the image exports "
      "is weakly bound, so that dyld can send it to the definition that wins", LD64_WEAK)
def weak_own_slot(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None and img.chained_fixups is None:
        return  # classic files: no weak binding at all
    try:
        symbols = img.symbols()
        indirect = img.indirect_symbols()
        exported = {e.name for e in export_entries(img)
                    if e.flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION}
    except mi.MachOError:
        return
    sites = _weak_sites(img)
    if sites is None or not exported:
        return
    for sect in img.sections():
        if sect.type not in (mi.S_LAZY_SYMBOL_POINTERS, mi.S_NON_LAZY_SYMBOL_POINTERS):
            continue
        # slots past the indirect table have no symbol to judge (MACHO-INDIRECT-SECT says so);
        # a hostile size would otherwise make this loop run for billions of slots
        for i in range(min(sect.size // img.word, max(0, len(indirect) - sect.reserved1))):
            k = sect.reserved1 + i
            if indirect[k] & 0xC0000000 or indirect[k] >= len(symbols):
                continue
            sym = symbols[indirect[k]]
            slot = sect.addr + i * img.word
            if sym.defined_in_section and sym.desc & N_WEAK_DEF and sym.name in exported \
                    and slot not in sites:
                yield f"{sect.name} slot {i}", (f"points at the exported weak definition "
                                                f"{sym.name} but is not weakly bound")
