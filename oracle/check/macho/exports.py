"""What a dylib or bundle offers other images: its identity (LC_ID_DYLIB's name) and its
exports (the trie, which dyld binds other images' imports to).  A trie entry that is
well-formed but points at the wrong place (the next section, an address between
sections) makes every image that binds to it call or read the wrong bytes: these rules
tie each export to a section and to the symbol table's definition of the same name."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_LOAD_COMMANDS, DYLD_TRIE, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.dylib_images import ExportEntry, export_entries

TOPIC = "exports"
LD64_EXPORTS = "ld64 (export trie built from the external definitions of the symbol table)"


@rule("MACHO-DYLIB-ID-NAME", TOPIC,
      "LC_ID_DYLIB's install name lies inside the command, is NUL-terminated and not empty "
      "(what other images record in LC_LOAD_DYLIB and dyld matches)", DYLD_LOAD_COMMANDS)
def dylib_id_name(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    for lc in img.commands:
        if lc.cmd != mi.LC_ID_DYLIB:
            continue
        where = f"LC_ID_DYLIB (load command {lc.index})"
        if lc.size < 24:
            yield where, f"cmdsize {lc.size} is smaller than dylib_command (24)"
            continue
        body = img.bytes_at(lc.offset, lc.size, where)
        (name_at,) = struct.unpack_from("<I", body, 8)
        if not 24 <= name_at < lc.size:
            yield where, f"name offset {name_at} is outside the command"
            continue
        name = body[name_at:]
        if b"\0" not in name:
            yield where, "the install name is not NUL-terminated inside the command"
        elif not name.split(b"\0", 1)[0]:
            yield where, "the install name is empty"


@rule("MACHO-EXPORT-PLACE", TOPIC,
      "each regular export lies inside a section (or at its end, a section$end symbol), or "
      "is the mach header itself (__mh_execute_header, __mh_dylib_header, ...): an address "
      "between sections is nothing an importer could use", DYLD_TRIE)
def export_place(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    try:
        header = img.header_address()
    except mi.MachOError:
        return
    sections = [(s.addr, s.addr + s.size) for s in img.sections()]
    for e in _regular_exports(img):
        if e.address != header and not any(lo <= e.address <= hi for lo, hi in sections):
            yield f"export {e.name}", f"address {e.address:#x} is in no section"


@rule("MACHO-EXPORT-SYMTAB", TOPIC,
      "an export that the symbol table also defines (external, N_SECT) has the symbol's "
      "address: ld64 builds the trie from those definitions, and an importer bound through "
      "the trie must reach what the symbol names", LD64_EXPORTS)
def export_symtab(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    try:
        symbols = img.symbols()
    except mi.MachOError:
        return
    defined: dict[str, set[int]] = {}
    for s in symbols:
        if s.defined_in_section and s.type & mi.N_EXT:
            defined.setdefault(s.name, set()).add(s.value)
    for e in _regular_exports(img):
        values = defined.get(e.name)
        if values is None or e.address in values:
            continue
        yield f"export {e.name}", (f"address {e.address:#x}, but the symbol table defines it "
                                   f"at {', '.join(f'{v:#x}' for v in sorted(values))}")


def _regular_exports(img: mi.MachOImage) -> list[ExportEntry]:
    """The trie's exports that name an address in the image (absolute ones name a value);
    none where the trie is malformed, which MACHO-EXPORT-TRIE reports."""
    try:
        return [e for e in export_entries(img) if not e.absolute]
    except mi.MachOError:
        return []
