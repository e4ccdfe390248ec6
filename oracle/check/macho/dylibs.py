"""Dynamic-linking prerequisites: the dylinker command, and library ordinals that name a
loaded dylib (what two-level namespace binding resolves through)."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_LOAD_COMMANDS, KERNEL, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "dylibs"
MH_DYLDLINK = 0x4
DYLD_PATH = "/usr/lib/dyld"
SPECIAL_ORDINALS = (mi.SELF_LIBRARY_ORDINAL, mi.DYNAMIC_LOOKUP_ORDINAL, mi.EXECUTABLE_ORDINAL)


@rule("MACHO-DYLINKER", TOPIC,
      "an executable with LC_MAIN or dylibs has MH_DYLDLINK and LC_LOAD_DYLINKER /usr/lib/dyld",
      KERNEL)
def dylinker(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.main_entryoff is None and not img.dylibs:
        return  # a static executable (LC_UNIXTHREAD, no dylibs) needs no dyld
    if img.dylinker is None:
        yield "LC_LOAD_DYLINKER", "missing: the kernel would not start dyld"
    elif img.dylinker != DYLD_PATH:
        yield "LC_LOAD_DYLINKER", f"names {img.dylinker!r}, not {DYLD_PATH}"
    if not img.flags & MH_DYLDLINK:
        yield "header flags", "MH_DYLDLINK is not set"


@rule("MACHO-LIB-ORDINAL", TOPIC,
      "each undefined symbol's library ordinal names an LC_LOAD_DYLIB (two-level namespace)",
      DYLD_LOAD_COMMANDS)
def library_ordinals(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if not img.flags & mi.MH_TWOLEVEL:
        return
    for sym in img.symbols():
        if not sym.undefined or not sym.type & mi.N_EXT:
            continue
        ordinal = sym.library_ordinal
        if ordinal not in SPECIAL_ORDINALS and ordinal > len(img.dylibs):
            yield f"symbol {sym.index} {sym.name}", (f"library ordinal {ordinal} > "
                                                     f"{len(img.dylibs)} dylibs")
