"""SHF_MERGE sections: equal strings and constants from every object stored once.

GNU ld merges the SHF_MERGE input sections that share an output section, SHF_STRINGS,
entry size and alignment: it cuts each into pieces (a string up to and including its
terminator of `entsize` zero bytes, or one `entsize` constant), keeps one copy of each
distinct piece, and redirects every reference to the copy.  Programs rely on it: two
translation units comparing the addresses of equal literals, `wchar_t`/`char16_t`/
`char32_t` strings included.

Here one new input section (the *carrier*) replaces the group: it takes the first input's
slot in its object, and every other member's slot in its own object becomes an alias of
the carrier (an entry whose `file` is another object is never placed twice; see
collect_output_sections), so symbol section indices stay valid.  What moves is offsets:

* a named symbol in a merged section gets the new offset of its piece (plus its offset
  inside the piece);
* a relocation against the *section symbol* refers to `value + A` (how GNU ld and lld read
  it; assemblers keep a named local label where that would leave the piece), so its addend
  becomes the new offset of that place.

No tail merging (GNU ld does it only at -O1 and nothing may rely on it).  A section with
relocations, an entry size that does not divide its size, or a string section not ending
in a terminator is left alone, as GNU ld leaves it.
"""

from __future__ import annotations

import numpy as np

from ..arrays import distinct
from ..errors import LinkError
from ..model import InputSection, ObjectFile, SectionFlags, SymType
from ..records import dataclass, field
from ..resolve import SymbolTable
from . import sections as policy

STT_SECTION = int(SymType.SECTION)


@dataclass
class _Pieces:
    """One input section cut into pieces, and where each piece went in the carrier."""

    section: InputSection
    starts: np.ndarray  # int64: input offset of each piece
    new: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def remap(self, offsets: np.ndarray) -> np.ndarray:
        """Carrier offsets of input offsets (a place inside a piece keeps its distance)."""
        k = np.clip(np.searchsorted(self.starts, offsets, side="right") - 1, 0,
                    len(self.starts) - 1)
        return self.new[k] + (offsets - self.starts[k])


def _cut(sec: InputSection) -> np.ndarray | None:
    """Start offsets of the pieces of `sec`, or None when it cannot be merged."""
    e = sec.entsize
    if sec.data is None or e <= 0 or sec.size % e or len(sec.relocs) or not sec.size:
        return None
    if SectionFlags.STRINGS not in sec.flags:
        # Constants aligned more strictly than their size, or of a size the alignment
        # does not divide, are left alone, as GNU ld leaves them (a piece could not keep
        # the section's alignment without padding every constant to it).
        if sec.align > e or e % sec.align:
            return None
        return np.arange(0, sec.size, e, dtype=np.int64)
    if e not in (1, 2, 4, 8):
        return None
    units = np.frombuffer(bytes(sec.data), dtype=f"<u{e}")
    ends = np.nonzero(units == 0)[0]  # index of each terminator
    if not len(ends) or ends[-1] != len(units) - 1:
        return None
    return np.concatenate(([0], ends[:-1] + 1)).astype(np.int64) * e


def merge_sections(symtab: SymbolTable) -> None:
    """Merge every group of SHF_MERGE input sections of the link (in place)."""
    groups: dict[tuple[str, bool, int, int], list[_Pieces]] = {}
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is None or sec.file is not obj or SectionFlags.MERGE not in sec.flags:
                continue
            starts = _cut(sec)
            if starts is None:
                continue
            key = (policy.output_name(sec), SectionFlags.STRINGS in sec.flags, sec.entsize,
                   sec.align)
            groups.setdefault(key, []).append(_Pieces(sec, starts))
    moved: dict[int, _Pieces] = {}  # id(input section) -> its pieces
    carriers: dict[int, InputSection] = {}
    for members in groups.values():
        carrier = _build_carrier(members)
        for pieces in members:
            moved[id(pieces.section)] = pieces
            carriers[id(pieces.section)] = carrier
    if not moved:
        return
    for obj in symtab.objects:
        _redirect_object(obj, moved, carriers)
    for sym in symtab.symbols:
        if sym.section is not None and id(sym.section) in moved:
            pieces = moved[id(sym.section)]
            if sym.value > pieces.section.size:
                raise _beyond(pieces.section, sym.name, sym.value)
            sym.value = int(pieces.remap(np.array([sym.value], dtype=np.int64))[0])
            sym.section = carriers[id(sym.section)]


def _beyond(sec: InputSection, name: str, value: int) -> LinkError:
    """A symbol past the end of the merged section it is in has no piece to follow (BFD:
    "access beyond end of merged section")."""
    return LinkError(f"symbol value {value:#x} lies beyond the end of its SHF_MERGE section "
                     f"({sec.size:#x} bytes)", file=sec.file.path, section=sec.name,
                     symbol=name or None)


def _build_carrier(members: list[_Pieces]) -> InputSection:
    """Concatenate the distinct pieces of the group, in the order first met.

    A string keeps the alignment its input offset had, up to the section's: the first
    string of an input section takes the section's alignment, one at an odd offset none
    (GNU ld's rule; a compiler that wants every string of a `.rodata.str1.8` aligned puts
    each at a multiple of 8, so each keeps it).  A string met several times keeps the
    strictest.  Aligning every piece to the section's alignment instead (lld's choice) is
    equally correct, but it lets a section of many short strings with a large alignment
    grow by that alignment per string: a 2**24-aligned section of six strings made a
    96 MiB output where GNU ld's is 16 MiB."""
    first = members[0].section
    align = first.align
    where: dict[bytes, int] = {}  # piece -> its index among the distinct pieces
    distinct_pieces: list[bytes] = []
    piece_align: list[int] = []
    for pieces in members:
        data = bytes(pieces.section.data or b"")
        starts = pieces.starts.tolist()
        ends = starts[1:] + [len(data)]
        index = []
        for start, end in zip(starts, ends):
            piece = data[start:end]
            # the largest power of two dividing the offset, capped by the section's
            natural = min(start & -start, align) if start else align
            k = where.get(piece)
            if k is None:
                k = where[piece] = len(distinct_pieces)
                distinct_pieces.append(piece)
                piece_align.append(natural)
            elif natural > piece_align[k]:
                piece_align[k] = natural
            index.append(k)
        pieces.new = np.array(index, dtype=np.int64)
    offsets = []
    out = bytearray()
    for piece, a in zip(distinct_pieces, piece_align):
        at = (len(out) + a - 1) & -a
        out += bytes(at - len(out)) + piece
        offsets.append(at)
    placed = np.array(offsets, dtype=np.int64)
    for pieces in members:
        pieces.new = placed[pieces.new]
    return InputSection(first.file, first.index, first.name, first.flags, first.role, align,
                        len(out), bytes(out), entsize=first.entsize)


def _redirect_object(obj: ObjectFile, moved: dict[int, _Pieces],
                     carriers: dict[int, InputSection]) -> None:
    """Point the object's merged section slots at their carrier, move its symbols' values
    and the addends of its relocations against merged section symbols."""
    slots = {i: moved[id(sec)] for i, sec in enumerate(obj.sections)
             if sec is not None and sec.file is obj and id(sec) in moved}
    if not slots:
        return
    t = obj.symbols
    shndx = t.section.astype(np.int64)
    for i, pieces in slots.items():
        named = np.nonzero((shndx == i) & (t.type != STT_SECTION))[0]
        past = named[t.value[named] > np.uint64(pieces.section.size)]
        if len(past):
            raise _beyond(pieces.section, t.names[int(past[0])], int(t.value[past[0]]))
        if len(named):
            t.value[named] = pieces.remap(t.value[named].astype(np.int64)).astype(np.uint64)
    section_symbol_of = {int(k): slots[int(shndx[k])] for k in
                         np.nonzero(t.type == STT_SECTION)[0].tolist() if int(shndx[k]) in slots}
    for k, pieces in section_symbol_of.items():  # (a section symbol's value is 0 as made)
        if int(t.value[k]) > pieces.section.size:
            raise _beyond(pieces.section, pieces.section.name, int(t.value[k]))
    if section_symbol_of:
        # symbol index -> the position of its section symbol in `targets`, else -1: one
        # gather per relocation section finds its rows against merged sections (a -g
        # object has a dozen relocated debug sections and several merged ones, and a mask
        # per pair was most of a -g link's merge time).  The reader has checked every
        # row's symbol index against the table.
        targets = list(section_symbol_of.items())
        target_of = np.full(len(t.value), -1, dtype=np.int64)
        target_of[[k for k, _ in targets]] = np.arange(len(targets))
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs):
                continue
            rows = sec.relocs.rows
            which = target_of[rows["symbol"]]
            hits = np.flatnonzero(which >= 0)
            if not len(hits):
                continue
            for j in (distinct(which[hits]).tolist() if len(targets) > 1 else [0]):
                k, pieces = targets[j]
                sel = hits[which[hits] == j] if len(targets) > 1 else hits
                place = int(t.value[k]) + rows["addend"][sel]
                rows["addend"][sel] = pieces.remap(place)
    for i, pieces in slots.items():
        # The first input's slot holds the carrier itself; the others hold an alias.
        obj.sections[i] = carriers[id(pieces.section)]
