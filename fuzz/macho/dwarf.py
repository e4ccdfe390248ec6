"""A minimal DWARF for the fuzzers' own Mach-O objects, so that every linked program carries
a debug map to judge (issue 18, item 4).

Per object, `__DWARF,__debug_abbrev` and `__DWARF,__debug_info` (and `__debug_str` when the
strings are out of line) holding one compile unit: DW_TAG_compile_unit with DW_AT_name and
DW_AT_comp_dir, and one DW_TAG_subprogram per function (DW_AT_name, DW_AT_low_pc relocated
against the function's symbol, DW_AT_high_pc its size), external ones flagged.  The drawn
`DebugForm` chooses the DWARF version (2, 4 or 5: three header layouts, and DWARF 2's
address-form high_pc) and whether strings are inline or DW_FORM_strp.  The linker copies
none of this: it reads the unit's name for the map's N_SO entries, and dsymutil reads the
rest through the map; the field oracle leaves S_ATTR_DEBUG sections alone.

Independent of linker/ (the linker's reader is linker/macho/dwarf_unit.py).
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass

from ..leb128 import uleb128 as _uleb
from .emit_macho import MachoImage, MachoReloc, MachoSection
from .emit_macho_i386 import GenericReloc, MachoImage32, Section32

DW_TAG_compile_unit, DW_TAG_subprogram = 0x11, 0x2E
DW_AT_name, DW_AT_comp_dir, DW_AT_low_pc, DW_AT_high_pc = 0x03, 0x1B, 0x11, 0x12
DW_AT_external = 0x3F
DW_FORM_addr, DW_FORM_data4, DW_FORM_string, DW_FORM_strp = 0x01, 0x06, 0x08, 0x0E
DW_FORM_flag_present = 0x19
DW_CHILDREN_yes, DW_CHILDREN_no = 1, 0
DW_UT_compile = 1
SEGMENT = "__DWARF"


@dataclass(frozen=True)
class DebugForm:
    version: int  # 2, 4 or 5
    strp: bool  # strings in __debug_str (DW_FORM_strp) rather than inline


@dataclass(frozen=True)
class Blob:
    name: str
    data: bytes
    relocs: tuple[tuple[int, str], ...] = ()  # (offset, symbol): an address-sized pointer


def debug_form(pick: int) -> DebugForm:
    """The form drawn for one object from a number the pipeline drew for it."""
    return DebugForm((2, 4, 5)[pick % 3], pick // 3 % 2 == 1)


def debug_labels(prefix: str, form: DebugForm | None) -> set[str]:
    """Coverage labels (fuzz/inventory.py) of one object's DWARF: its version and string
    form, or that it has none."""
    if form is None:
        return {f"{prefix}:dwarf:none"}
    return {f"{prefix}:dwarf:v{form.version}",
            f"{prefix}:dwarf:{'strp' if form.strp else 'inline'}"}



def _abbrevs(form: DebugForm) -> bytes:
    text = DW_FORM_strp if form.strp else DW_FORM_string
    high = DW_FORM_addr if form.version == 2 else DW_FORM_data4  # DWARF 2: an address
    table = [(1, DW_TAG_compile_unit, DW_CHILDREN_yes, [(DW_AT_name, text),
                                                        (DW_AT_comp_dir, text)]),
             (2, DW_TAG_subprogram, DW_CHILDREN_no, [(DW_AT_name, text),
                                                     (DW_AT_low_pc, DW_FORM_addr),
                                                     (DW_AT_high_pc, high)]),
             (3, DW_TAG_subprogram, DW_CHILDREN_no, [(DW_AT_name, text),
                                                     (DW_AT_low_pc, DW_FORM_addr),
                                                     (DW_AT_high_pc, high),
                                                     (DW_AT_external, DW_FORM_flag_present)])]
    out = bytearray()
    for code, tag, children, attrs in table:
        out += _uleb(code) + _uleb(tag) + bytes([children])
        for attr, attr_form in attrs:
            out += _uleb(attr) + _uleb(attr_form)
        out += b"\0\0"
    return bytes(out + b"\0")


def blobs(functions: list[tuple[str, int, bool]], directory: str, source: str,
          form: DebugForm, word: int) -> list[Blob]:
    """The sections' contents for `functions` ((symbol, size, external) each)."""
    strings = bytearray()

    def text(value: str) -> bytes:
        if not form.strp:
            return value.encode() + b"\0"
        at = len(strings)
        strings.extend(value.encode() + b"\0")
        return struct.pack("<I", at)

    body = bytearray(_uleb(1) + text(source) + text(directory))
    relocs = []
    for symbol, size, external in functions:
        body += _uleb(3 if external else 2) + text(symbol.removeprefix("_"))
        relocs.append((len(body), symbol))
        body += bytes(word)  # low_pc: the relocation's addend, 0
        # DWARF 2's high_pc is an address: the function's end, a second pointer against
        # its symbol with the size as the addend (in place, as Mach-O keeps addends)
        if form.version == 2:
            relocs.append((len(body), symbol))
            body += size.to_bytes(word, "little")
        else:
            body += struct.pack("<I", size)
    body += b"\0"  # the end of the unit's children
    if form.version >= 5:
        header = struct.pack("<HBBI", form.version, DW_UT_compile, word, 0)
    else:
        header = struct.pack("<HIB", form.version, 0, word)
    start = 4 + len(header)
    info = struct.pack("<I", len(header) + len(body)) + header + bytes(body)
    out = [Blob("__debug_abbrev", _abbrevs(form)),
           Blob("__debug_info", info, tuple((start + at, sym) for at, sym in relocs))]
    if form.strp:
        out.append(Blob("__debug_str", bytes(strings)))
    return out


def _functions(sections: list[tuple[str, bool, int, int]],
               symbols: list[tuple[str, str, int, bool, bool]]) -> list[tuple[str, int, bool]]:
    """(symbol, size, external) of each function: a symbol in a code section, its size up to
    the next symbol there or the section's end.  `sections`: (name, code, addr, size);
    `symbols`: (name, section, value, defined in a section, external)."""
    out = []
    for sect, code, addr, size in sections:
        if not code:
            continue
        here = sorted((value, name, external) for name, section, value, placed, external
                      in symbols if placed and section == sect and not name.startswith("L"))
        starts = sorted({value for value, _, _ in here})
        for value, name, external in here:
            end = next((s for s in starts if s > value), addr + size)
            out.append((name, end - value, external))
    return out


def with_debug_info(image: MachoImage, directory: str, source: str, form: DebugForm
                    ) -> MachoImage:
    """The x86-64 object with its DWARF sections appended (past every other address)."""
    sections = [(f"{s.segment},{s.name}", s.code, s.addr, s.size) for s in image.sections]
    symbols = [(s.name, s.section, s.value, s.kind == "sect", s.external) for s in image.symbols]
    at = max((s.addr + s.size for s in image.sections), default=0)
    added = []
    for blob in blobs(_functions(sections, symbols), directory, source, form, 8):
        relocs = tuple(MachoReloc(offset, "UNSIGNED", 8, symbol) for offset, symbol in blob.relocs)
        added.append(MachoSection(SEGMENT, blob.name, 1, at, blob.data, len(blob.data), False,
                                  False, relocs))
        at += len(blob.data)
    return dataclasses.replace(image, sections=(*image.sections, *added))


def with_debug_info_i386(image: MachoImage32, directory: str, source: str, form: DebugForm
                         ) -> MachoImage32:
    """The i386 object with its DWARF sections appended (GENERIC_RELOC_VANILLA pointers)."""
    sections = [(f"{s.segment},{s.name}", s.code, s.addr, s.size) for s in image.sections]
    symbols = [(s.name, s.section, s.value, s.kind == "sect", s.external) for s in image.symbols]
    at = max((s.addr + s.size for s in image.sections), default=0)
    added = []
    for blob in blobs(_functions(sections, symbols), directory, source, form, 4):
        relocs = tuple(GenericReloc(offset, "VANILLA", 4, symbol=symbol)
                       for offset, symbol in blob.relocs)
        added.append(Section32(SEGMENT, blob.name, 1, at, blob.data, len(blob.data), False,
                               False, relocs))
        at += len(blob.data)
    return dataclasses.replace(image, sections=(*image.sections, *added))
