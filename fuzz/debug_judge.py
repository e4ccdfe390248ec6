"""What the ELF properties require of a linked program's debug information beyond the
checker's DWARF rules and the field oracle (issue 18, item 4): two claims of the linker's,
which a correct-but-different linker output could break without being invalid, so they
are judged here, where the inputs are known, and not in `linkharness check`.

* Strings merged: every SHF_MERGE|SHF_STRINGS output section (`.debug_str`,
  `.debug_line_str`, `.rodata.str*`) holds each string once, as GNU ld, lld and mold
  write them (README: "merged").
* Code described: when the program was assembled with debug information (every object:
  the properties assemble all of a program's objects alike), each function of the output
  lies in some compile unit's `.debug_aranges` range.  The field oracle must accept a
  tombstone in any COMDAT member's field (which copy survives depends on the link
  order); this is what notices a tombstone written over the surviving copy's address.

The file is read here with `struct` (section headers, `.symtab`, `.debug_aranges`), not
pyelftools: every example of the ELF properties is judged, and pyelftools took 1.7-2.8 ms
of CPU an output to answer (construct parsing every header again per lookup), a fifth of
what the rest of property (a)'s judging costs.  A compressed `.debug_aranges` is inflated
(zlib, the only kind a linker here writes); a file this reader cannot follow is a problem
named as such, not a traceback.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SHF_MERGE, SHF_STRINGS, SHF_COMPRESSED = 0x10, 0x20, 0x800
SHT_NOBITS, SHT_SYMTAB = 8, 2
STT_FUNC = 2
SHN_LORESERVE = 0xFF00
ELFCOMPRESS_ZLIB = 1


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    entsize: int


class _Unreadable(Exception):
    """The output is not an ELF file this reader can follow (named in the message)."""


@dataclass(frozen=True)
class _Elf:
    """An output's bytes with its section headers, in either ELF class, little-endian."""

    data: bytes
    wide: bool
    sections: tuple[_Section, ...]

    @classmethod
    def read(cls, data: bytes) -> _Elf:
        if data[:4] != b"\x7fELF" or len(data) < 52 or data[5] != 1:
            raise _Unreadable("not a little-endian ELF file")
        wide = data[4] == 2
        if wide:
            shoff, = struct.unpack_from("<Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
            layout = "<IIQQQQIIQQ"
        else:
            shoff, = struct.unpack_from("<I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
            layout = "<IIIIIIIIII"
        if shoff + shnum * shentsize > len(data) or shentsize < struct.calcsize(layout):
            raise _Unreadable(f"section headers at {shoff:#x} run past the file")
        raw = [struct.unpack_from(layout, data, shoff + i * shentsize) for i in range(shnum)]
        if shnum and shstrndx >= shnum:
            raise _Unreadable(f"e_shstrndx {shstrndx} is not a section")
        names_at = raw[shstrndx][4] if shnum else 0
        sections = tuple(_Section(_string(data, names_at + r[0]), r[1], r[2], r[4], r[5],
                                  r[6], r[9]) for r in raw)
        return cls(data, wide, sections)

    def contents(self, sec: _Section) -> bytes:
        if sec.type == SHT_NOBITS:
            return b""
        if sec.offset + sec.size > len(self.data):
            raise _Unreadable(f"{sec.name} runs past the end of the file")
        return self.data[sec.offset:sec.offset + sec.size]

    def named(self, name: str) -> _Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def uncompressed(self, sec: _Section) -> bytes:
        data = self.contents(sec)
        if not sec.flags & SHF_COMPRESSED:
            return data
        header = "<IIQQ" if self.wide else "<III"
        kind = struct.unpack_from(header, data)[0]
        if kind != ELFCOMPRESS_ZLIB:
            raise _Unreadable(f"{sec.name} is compressed with ch_type {kind}")
        try:
            return zlib.decompress(data[struct.calcsize(header):])
        except zlib.error as err:
            raise _Unreadable(f"{sec.name} does not inflate: {err}") from None

    def functions(self) -> Iterator[tuple[str, int]]:
        """(name, address) of every STT_FUNC symbol of nonzero size in a section."""
        symtab = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
        if symtab is None:
            return
        if symtab.link >= len(self.sections):
            raise _Unreadable(f"{symtab.name} links to no section")
        names = self.sections[symtab.link].offset
        data = self.contents(symtab)
        layout = "<IBBHQQ" if self.wide else "<IIIBBH"
        step = struct.calcsize(layout)
        for fields in struct.iter_unpack(layout, data[:len(data) - len(data) % step]):
            if self.wide:
                name, info, _, shndx, value, size = fields
            else:
                name, value, size, info, _, shndx = fields
            if info & 0xF == STT_FUNC and size and 0 < shndx < SHN_LORESERVE:
                yield _string(self.data, names + name), value


def _string(data: bytes, at: int) -> str:
    end = data.find(b"\0", at)
    return data[at:end if end >= 0 else len(data)].decode("utf-8", "replace")


def _aranges(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of every nonzero-address range of every unit of `.debug_aranges`."""
    ranges: list[tuple[int, int]] = []
    at = 0
    while at + 4 <= len(data):
        unit = at
        length, = struct.unpack_from("<I", data, at)
        at += 4
        offset_size = 4
        if length == 0xFFFFFFFF:  # 64-bit DWARF
            length, = struct.unpack_from("<Q", data, at)
            at += 8
            offset_size = 8
        end = at + length
        if end > len(data) or at + 2 + offset_size + 2 > end:
            raise _Unreadable(f".debug_aranges unit at {unit:#x} runs past the section")
        address_size, segment_size = data[at + 2 + offset_size:at + 4 + offset_size]
        if address_size not in (4, 8) or segment_size:
            raise _Unreadable(f".debug_aranges unit at {unit:#x}: address size "
                              f"{address_size}, segment selector size {segment_size}")
        at += 2 + offset_size + 2
        pair = 2 * address_size
        at += -(at - unit) % pair  # tuples are aligned to twice the address size
        layout = "<QQ" if address_size == 8 else "<II"
        while at + pair <= end:
            begin, size = struct.unpack_from(layout, data, at)
            at += pair
            if begin == 0 and size == 0:
                break
            if begin:
                ranges.append((begin, begin + size))
        at = end
    return ranges


def _merged_strings(elf: _Elf) -> list[str]:
    problems = []
    for sec in elf.sections:
        if not (sec.flags & SHF_MERGE and sec.flags & SHF_STRINGS) or sec.entsize != 1 \
                or sec.flags & SHF_COMPRESSED:
            continue
        strings = elf.contents(sec).split(b"\0")[:-1]
        if len(set(strings)) == len(strings):
            continue
        twice = _first_repeated(strings)
        problems.append(f"strings not merged: {sec.name} holds {twice!r} "
                        f"{strings.count(twice)} times")
    return problems


def _first_repeated(strings: list[bytes]) -> bytes:
    seen: set[bytes] = set()
    for s in strings:
        if s in seen:
            return s
        seen.add(s)
    raise ValueError("no string repeats")


def _described_code(elf: _Elf) -> list[str]:
    aranges = elf.named(".debug_aranges")
    if aranges is None:
        return []
    # An executable's DWARF is already relocated: the .rel(a).debug_* sections that
    # --emit-relocs keeps are not applied again (a REL field would be added twice).
    ranges = _aranges(elf.uncompressed(aranges))
    for name, address in elf.functions():
        if not any(lo <= address < hi for lo, hi in ranges):
            return [(f"debug information: function {name} at {address:#x} is in no "
                     "compile unit's .debug_aranges range")]
    return []


def merged_strings(output: Path) -> list[str]:
    return _judged(output, _merged_strings)


def described_code(output: Path) -> list[str]:
    return _judged(output, _described_code)


def debug_info(output: Path) -> list[str]:
    return _judged(output, lambda elf: [*_merged_strings(elf), *_described_code(elf)])


def _judged(output: Path, judge: Callable[[_Elf], list[str]]) -> list[str]:
    try:
        return judge(_Elf.read(output.read_bytes()))
    except (_Unreadable, struct.error, IndexError) as err:
        return [f"debug information: {output.name} unreadable: {err}"]
