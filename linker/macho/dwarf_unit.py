"""The one fact the Mach-O debug map needs from an object's DWARF: its compile unit's source.

ld64 copies no DWARF into the executable.  It leaves it in the objects and writes stabs
(debug_map.py) whose first entries name the compile unit's directory and file, read from
the DW_TAG_compile_unit DIE's DW_AT_comp_dir and DW_AT_name.  This module reads only that
first DIE: the unit header (DWARF 2 to 5, 32- and 64-bit), its abbreviation, and the
attribute values up to the two strings, in whichever string form the compiler chose
(inline, `__debug_str`, `__debug_line_str`, or through `__debug_str_offs`).

Section names are Mach-O's, truncated to 16 bytes (`__debug_str_offs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import LinkError

DW_AT_name, DW_AT_comp_dir, DW_AT_str_offsets_base = 0x03, 0x1B, 0x72
DW_TAG_compile_unit, DW_TAG_partial_unit, DW_TAG_skeleton_unit = 0x11, 0x3C, 0x4A
DW_FORM_string, DW_FORM_strp, DW_FORM_line_strp, DW_FORM_indirect = 0x08, 0x0E, 0x1F, 0x16
DW_FORM_strx, DW_FORM_implicit_const = 0x1A, 0x21
STRX_FIXED = {0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4}  # DW_FORM_strx1..strx4
# Forms of a fixed size: "a" the address size, "o" the offset size (4 or 8).
FIXED: dict[int, int | str] = {
    0x01: "a", 0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x0E: "o", 0x10: "o", 0x11: 1,
    0x12: 2, 0x13: 4, 0x14: 8, 0x17: "o", 0x19: 0, 0x1C: 4, 0x1D: "o", 0x1E: 16, 0x1F: "o",
    0x20: 8, 0x21: 0, 0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2A: 2,
    0x2B: 3, 0x2C: 4, 0x1F20: "o", 0x1F21: "o"}
ULEB_FORMS = {0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}  # udata, ref_udata, *x
BLOCK_FORMS = {0x03: 2, 0x04: 4, 0x09: 0, 0x0A: 1, 0x18: 0}  # length prefix (0: ULEB)
INFO, ABBREV, STR, LINE_STR, STR_OFFSETS = ("__debug_info", "__debug_abbrev", "__debug_str",
                                           "__debug_line_str", "__debug_str_offs")


class _Cursor:
    """A position in one section; every read is bounds-checked into a LinkError."""

    def __init__(self, data: bytes, section: str, pos: int,
                 fail: Callable[[str, str, int], LinkError]) -> None:
        self.data, self.section, self.pos, self._fail = data, section, pos, fail

    def fail(self, rule: str) -> LinkError:
        return self._fail(rule, f"__DWARF,{self.section}", self.pos)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"DWARF field of {n} bytes runs past the section's end")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def uleb(self) -> int:
        value = shift = 0
        while True:
            byte = self.uint(1)
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
            if shift > 63:
                raise self.fail("LEB128 number longer than 64 bits")

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.fail("string runs past the section's end")
        text = self.data[self.pos:end].decode("utf-8", "surrogateescape")
        self.pos = end + 1
        return text


def compile_unit_source(sections: Mapping[str, bytes],
                        fail: Callable[[str, str, int], LinkError]) -> tuple[str, str] | None:
    """(directory with a trailing "/", source file) of the object's first compile unit, or
    None when it has no `__debug_info` (nothing to map) or the unit names no file.  An
    absolute DW_AT_name is split at its last "/" (ld64 does so); otherwise the directory
    is DW_AT_comp_dir.  `fail(rule, section, offset)` makes the one-line error."""
    info = sections.get(INFO)
    if not info:
        return None
    cur = _Cursor(info, INFO, 0, fail)
    length, offset_size = cur.uint(4), 4
    if length == 0xFFFFFFFF:
        length, offset_size = cur.uint(8), 8
    elif length >= 0xFFFFFFF0:
        raise cur.fail(f"reserved DWARF unit length {length:#x}")
    version = cur.uint(2)
    if not 2 <= version <= 5:
        raise cur.fail(f"DWARF version {version} (2 to 5 are read)")
    if version >= 5:
        cur.uint(1)  # unit_type
        address_size, abbrev_offset = cur.uint(1), cur.uint(offset_size)
    else:
        abbrev_offset, address_size = cur.uint(offset_size), cur.uint(1)
    code = cur.uleb()
    if code == 0:
        return None
    tag, specs = _abbreviation(sections.get(ABBREV, b""), abbrev_offset, code, fail)
    if tag not in (DW_TAG_compile_unit, DW_TAG_partial_unit, DW_TAG_skeleton_unit):
        return None
    values: dict[int, tuple[int, object]] = {}
    for attr, form, implicit in specs:
        while form == DW_FORM_indirect:
            form = cur.uleb()
        # DWARF 2's DW_FORM_ref_addr is address-sized, later versions' offset-sized
        ref_addr = address_size if version == 2 else offset_size
        values[attr] = (form, _value(cur, form, implicit, offset_size, address_size,
                                     ref_addr))
    strings = _Strings(sections, offset_size, values, fail)
    name = strings.get(values.get(DW_AT_name))
    if not name:
        return None
    if name.startswith("/"):
        cut = name.rindex("/") + 1
        return name[:cut], name[cut:]
    directory = strings.get(values.get(DW_AT_comp_dir)) or ""
    if directory and not directory.endswith("/"):
        directory += "/"
    return directory, name


def _abbreviation(data: bytes, offset: int, code: int,
                  fail: Callable[[str, str, int], LinkError]
                  ) -> tuple[int, list[tuple[int, int, int]]]:
    """The tag and (attribute, form, implicit constant) list of abbreviation `code`."""
    cur = _Cursor(data, ABBREV, offset, fail)
    while True:
        number = cur.uleb()
        if number == 0:
            raise cur.fail(f"abbreviation {code} of the compile unit is not in its table")
        tag = cur.uleb()
        cur.uint(1)  # DW_CHILDREN_*
        specs = []
        while True:
            attr, form = cur.uleb(), cur.uleb()
            if attr == 0 and form == 0:
                break
            implicit = cur.uleb() if form == DW_FORM_implicit_const else 0
            specs.append((attr, form, implicit))
        if number == code:
            return tag, specs


def _value(cur: _Cursor, form: int, implicit: int, offset_size: int, address_size: int,
           ref_addr_size: int) -> object:
    """An attribute's raw value: an int (offsets, indices, constants) or, for
    DW_FORM_string, the text; block forms are skipped (None)."""
    if form == DW_FORM_string:
        return cur.cstring()
    if form == DW_FORM_implicit_const:
        return implicit
    size = FIXED.get(form)
    if form == 0x10:  # DW_FORM_ref_addr
        return cur.uint(ref_addr_size)
    if size is not None:
        return cur.uint(address_size if size == "a" else offset_size if size == "o"
                        else int(size))
    if form in ULEB_FORMS:
        return cur.uleb()
    if form == 0x0D:  # sdata: its value does not matter here, only its length
        while cur.uint(1) & 0x80:
            pass
        return None
    if form in BLOCK_FORMS:
        prefix = BLOCK_FORMS[form]
        cur.take(cur.uint(prefix) if prefix else cur.uleb())
        return None
    raise cur.fail(f"unknown DWARF form {form:#x} in the compile unit's DIE")


class _Strings:
    """Resolves a string attribute, whichever section its form points into."""

    def __init__(self, sections: Mapping[str, bytes], offset_size: int,
                 values: dict[int, tuple[int, object]],
                 fail: Callable[[str, str, int], LinkError]) -> None:
        self.sections, self.offset_size, self.fail = sections, offset_size, fail
        base = values.get(DW_AT_str_offsets_base)
        # DWARF 5's default base: past the __debug_str_offsets header (length, version, pad)
        self.base = int(base[1]) if base and isinstance(base[1], int) else 2 * offset_size

    def get(self, value: tuple[int, object] | None) -> str | None:
        if value is None:
            return None
        form, raw = value
        if isinstance(raw, str):
            return raw
        if not isinstance(raw, int):
            return None
        if form == DW_FORM_strp:
            return self._at(STR, raw)
        if form == DW_FORM_line_strp:
            return self._at(LINE_STR, raw)
        if form == DW_FORM_strx or form in STRX_FIXED:
            table = _Cursor(self.sections.get(STR_OFFSETS, b""), STR_OFFSETS,
                            self.base + raw * self.offset_size, self.fail)
            return self._at(STR, table.uint(self.offset_size))
        return None

    def _at(self, section: str, offset: int) -> str:
        data = self.sections.get(section, b"")
        if offset >= len(data):
            raise self.fail(f"string offset {offset:#x} past the section's end "
                            f"({len(data):#x} bytes)", f"__DWARF,{section}", offset)
        return _Cursor(data, section, offset, self.fail).cstring()


__all__ = ["compile_unit_source"]
