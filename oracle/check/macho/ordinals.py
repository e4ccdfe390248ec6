"""Library ordinals an executable may not use: SELF (0) for an import, in n_desc or in the
bind opcodes, and any library ordinal at all in the weak-bind stream."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.dyldinfo import stream
from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.opcodes import OpcodeError, decode_binds

TOPIC = "ordinals"
DYLD_CLASSIC_RESOLVE = "dyld ImageLoaderMachOClassic::resolveUndefined (SELF_LIBRARY_ORDINAL)"
DYLD_COMPRESSED_RESOLVE = "dyld ImageLoaderMachOCompressed::resolve (BIND_SPECIAL_DYLIB_SELF)"
DYLD_WEAK_BIND = ("dyld ImageLoaderMachOCompressed weak-bind iterator ('bad weak bind "
                  "opcode'); llvm-objdump MachOBindEntry (weak bind table)")


def _own_exports(img: mi.MachOImage) -> set[str]:
    return {s.name for s in img.symbols() if s.defined_in_section and s.type & mi.N_EXT}


@rule("MACHO-IMPORT-SELF-ORDINAL", TOPIC,
      "an executable's undefined symbol does not name library ordinal 0 (SELF): two-level "
      "lookup would search the executable itself, which does not define it",
      DYLD_CLASSIC_RESOLVE)
def import_self_ordinal(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.filetype != mi.MH_EXECUTE or not img.flags & mi.MH_TWOLEVEL:
        return  # a flat-namespace image ignores n_desc ordinals
    for sym in img.symbols():
        if sym.undefined and sym.type & mi.N_EXT \
                and sym.library_ordinal == mi.SELF_LIBRARY_ORDINAL:
            yield f"symbol {sym.index} {sym.name}", (
                "undefined, with library ordinal 0 (SELF): the executable is searched for "
                "a symbol it does not define")


@rule("MACHO-BIND-SELF-ORDINAL", TOPIC,
      "an executable's bind and lazy-bind opcodes bind no import with ordinal 0 "
      "(BIND_SPECIAL_DYLIB_SELF): that searches the executable, which does not export it",
      DYLD_COMPRESSED_RESOLVE)
def bind_self_ordinal(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None or img.filetype != mi.MH_EXECUTE:
        return
    own = _own_exports(img)
    for which, lazy in (("bind", False), ("lazy_bind", True)):
        try:
            records = decode_binds(stream(img, which), which, lazy=lazy, pointer_size=img.word,
                                   limit=img.fixup_limit)
        except OpcodeError:
            continue  # MACHO-BIND / MACHO-LAZY-BIND say why the stream does not decode
        for b in records:
            if b.ordinal == 0 and b.symbol not in own:
                yield f"{which}+{b.opcode_offset:#x} {b.symbol}", (
                    "library ordinal 0 (SELF) for a symbol the executable does not export")


@rule("MACHO-WEAK-BIND-ORDINAL", TOPIC,
      "the weak-bind stream holds no SET_DYLIB_ORDINAL/SPECIAL opcode: weak binding "
      "coalesces by name over every image, so no library may be named there",
      DYLD_WEAK_BIND)
def weak_bind_ordinal(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None or not img.dyld_info.weak_bind[1]:
        return
    data = stream(img, "weak_bind")
    try:
        decode_binds(data, "weak_bind", pointer_size=img.word, limit=img.fixup_limit)
    except OpcodeError:
        return  # malformed for another reason: MACHO-BIND reports it
    try:
        decode_binds(data, "weak_bind", pointer_size=img.word, limit=img.fixup_limit, weak=True)
    except OpcodeError as err:
        yield f"weak_bind+{err.offset:#x}", err.what
