"""Targets inside SHF_MERGE sections, whose pieces the linker deduplicates and moves.

Such a section is not placed as a whole.  A reference to offset o of it is a reference to
the piece holding o (a NUL-terminated string for SHF_STRINGS, else an entsize record); any
copy of that piece in the output is a correct target, tail-merged strings included.
"""

from __future__ import annotations

from .elf_file import SHF_MERGE
from .image import OutputImage
from .inputs import InputSection
from .placement import output_names_for

MAX_COPIES = 32


def piece_at(sec: InputSection, offset: int) -> tuple[int, bytes] | None:
    """(start, bytes) of the piece holding `offset`, or None when it is out of range."""
    if not 0 <= offset < sec.size or sec.nobits:
        return None
    if sec.strings:
        width = max(sec.entsize, 1)
        start = offset - offset % width
        while start >= width and sec.data[start - width:start] != bytes(width):
            start -= width
        end = start
        while end < sec.size and sec.data[end:end + width] != bytes(width):
            end += width
        return start, sec.data[start:end + width]
    size = max(sec.entsize, 1)
    start = offset - offset % size
    return start, sec.data[start:start + size]


def piece_copies(image: OutputImage, sec: InputSection, piece: bytes, align: int) -> list[int]:
    """Output addresses holding `piece`, in same-named output sections first."""
    names = output_names_for(sec.name)
    found: list[int] = []
    # same-named output sections first, then merged-string sections (mold's .rodata.str)
    ranks = (lambda o: o.name in names,
             lambda o: bool(o.flags & SHF_MERGE) and o.name not in names,
             lambda o: not o.flags & SHF_MERGE and o.name not in names)
    for rank in ranks:
        for out in image.sections:
            if out.nobits or not rank(out):
                continue
            start = out.data.find(piece)
            while start >= 0 and len(found) < MAX_COPIES:
                if (out.addr + start) % align == 0:
                    found.append(out.addr + start)
                start = out.data.find(piece, start + 1)
        if found:
            break
    return found


def merge_symbol_values(image: OutputImage, sec: InputSection, lookup_offset: int,
                        value: int) -> list[int]:
    """Candidate values of S for a symbol of value `value` whose piece holds `lookup_offset`.

    For a named symbol lookup_offset == value; for a section symbol GNU ld and lld look the
    piece up at value + A, and S is then the piece's copy minus the piece's offset.
    """
    found = piece_at(sec, lookup_offset)
    if found is None:
        return []
    start, piece = found
    align = max(sec.entsize, 1) if not sec.strings else 1
    return [copy + value - start for copy in piece_copies(image, sec, piece, align)]
