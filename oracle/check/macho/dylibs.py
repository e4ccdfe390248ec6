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
      "an executable with LC_MAIN or dylibs has MH_DYLDLINK and LC_LOAD_DYLINKER /usr/lib/dyld "
      "(a dylib or bundle is loaded by dyld itself: it has MH_DYLDLINK and no dylinker)",
      KERNEL)
def dylinker(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.filetype != mi.MH_EXECUTE:
        if not img.flags & MH_DYLDLINK:
            yield "header flags", "MH_DYLDLINK is not set"
        return
    if img.main_entryoff is None and not img.dylibs:
        return  # a static executable (LC_UNIXTHREAD, no dylibs) needs no dyld
    if img.dylinker is None:
        yield "LC_LOAD_DYLINKER", "missing: the kernel would not start dyld"
    elif img.dylinker != DYLD_PATH:
        yield "LC_LOAD_DYLINKER", f"names {img.dylinker!r}, not {DYLD_PATH}"
    if not img.flags & MH_DYLDLINK:
        yield "header flags", "MH_DYLDLINK is not set"


@rule("MACHO-DYLIB-ID", TOPIC,
      "an MH_DYLIB has exactly one LC_ID_DYLIB (its install name); other files have none",
      DYLD_LOAD_COMMANDS)
def dylib_id(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    ids = [lc for lc in img.commands if lc.cmd == mi.LC_ID_DYLIB]
    if img.filetype == mi.MH_DYLIB and len(ids) != 1:
        yield "LC_ID_DYLIB", f"{len(ids)} in an MH_DYLIB (exactly one is needed)"
    elif img.filetype != mi.MH_DYLIB and ids:
        yield "LC_ID_DYLIB", f"load command {ids[0].index} in a file that is not MH_DYLIB"


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
