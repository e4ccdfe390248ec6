"""Non-allocated output sections: DWARF, `.comment`, `.gnu_debuglink`.

They are not loaded, so they have no address (sh_addr 0) and live in the file after the
segments.  An input section in one of them is "at" its offset in the output section: that
is what a relocation from `.debug_info` against `.debug_abbrev` or `.debug_str` must
produce (GNU ld and lld agree), so the layout's address of such an input is that offset.

What is kept, merged, compressed and stripped:

* every non-allocated PROGBITS input (sections.keeps_non_alloc), concatenated by name in
  input order; SHF_MERGE|SHF_STRINGS ones (`.debug_str`, `.debug_line_str`, `.comment`)
  were merged by merge.py like allocated ones;
* `.comment` gains the linker's identification line, as GNU ld's and lld's outputs do;
* `-S`/`--strip-debug` drops the debugging sections (sections.is_debug) before anything
  reads them, and `-s` implies it; `--compress-debug-sections=zlib|zstd` writes them as
  SHF_COMPRESSED after relocation.
"""

from __future__ import annotations

from ..layout import Layout, OutputSection
from ..model import InputSection, SectionFlags, SectionRole
from ..resolve import SymbolTable
from ..targets import ArchTraits
from . import sections as policy
from .compressed import compress_section

IDENTIFICATION = b"Linker: linkharness 0.1\0"
SHT_PROGBITS = 1
_KEPT_FLAGS = SectionFlags.MERGE | SectionFlags.STRINGS


def strip_debug_inputs(symtab: SymbolTable) -> None:
    """-S: forget every debugging input section (relocations against them go too)."""
    for obj in symtab.objects:
        for i, sec in enumerate(obj.sections):
            if sec is not None and SectionFlags.ALLOC not in sec.flags \
                    and policy.is_debug(sec.name):
                obj.sections[i] = None


def collect_non_alloc(symtab: SymbolTable) -> dict[str, OutputSection]:
    """Output sections for the non-allocated inputs, in order of first appearance."""
    outs: dict[str, OutputSection] = {}
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is None or sec.file is not obj or SectionFlags.ALLOC in sec.flags \
                    or sec.role is SectionRole.MARKER:
                continue
            out = outs.get(sec.name)
            if out is None:
                out = outs[sec.name] = OutputSection(sec.name, sec.flags & _KEPT_FLAGS)
                out.meta.update(type=SHT_PROGBITS, entsize=sec.entsize)
            out.flags &= sec.flags | ~_KEPT_FLAGS  # merge/strings only if every input is
            if out.meta.get("entsize") != sec.entsize:
                out.meta["entsize"] = 0
            out.add(sec)
    comment = outs.get(".comment")
    if symtab.objects and (comment is None or not any(
            IDENTIFICATION in bytes(s.data or b"") for s in comment.inputs)):
        if comment is None:
            comment = outs[".comment"] = OutputSection(".comment", _KEPT_FLAGS)
            comment.meta.update(type=SHT_PROGBITS, entsize=1)
        comment.add(InputSection(symtab.objects[0], 0, ".comment", _KEPT_FLAGS,
                                 SectionRole.NORMAL, 1, len(IDENTIFICATION),
                                 IDENTIFICATION, entsize=1))
    for out in outs.values():
        if SectionFlags.MERGE not in out.flags:
            out.flags &= ~SectionFlags.STRINGS
            out.meta["entsize"] = 0
    return outs


def place_non_alloc(outs: list[OutputSection], layout: Layout, start: int) -> int:
    """File offsets from `start`, address 0; the layout learns each input's place (its
    offset in its output section).  Returns the end of the file data."""
    cursor = start
    for out in outs:
        cursor = (cursor + out.align - 1) & -out.align
        out.addr, out.file_offset = 0, cursor
        for sec, off in zip(out.inputs, out.offsets):
            layout.section_address[id(sec)] = off
            layout.section_file_offset[id(sec)] = cursor + off
        cursor += out.size
    return cursor


def tombstone(section: str) -> int:
    """The value of a debug field that refers to discarded code: 0, or 1 where 0 would
    end a DWARF 4 range or location list."""
    return 1 if policy.is_range_list(section) else 0


def compress_debug(image: bytearray, outs: list[OutputSection], start: int, arch: ArchTraits,
                   method: str) -> None:
    """Rewrite the file from `start` (the first non-allocated section) with every debugging
    section compressed (SHF_COMPRESSED, Elf_Chdr aligned to the word)."""
    contents = [bytes(image[o.file_offset:o.file_offset + o.size]) for o in outs]
    del image[start:]
    for out, data in zip(outs, contents):
        if policy.is_debug(out.name) and out.size:
            data = compress_section(data, out.align, arch.elf, method)
            out.align, out.size = arch.word, len(data)
            out.meta["compressed"] = 1  # merge/strings flags and entsize stay, as lld's
        pad = (-len(image)) % out.align
        image += bytes(pad)
        out.file_offset = len(image)
        image += data
