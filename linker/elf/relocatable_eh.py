"""-r: the FDEs of dropped code are cut out of `.eh_frame`.

A duplicate COMDAT member (the second `__x86.get_pc_thunk.bx` of an i386 PIC build, a C++
inline function) is dropped by a relocatable link like any other; its FDE in the same
object's `.eh_frame` would be left with no relocation for its initial location, which GNU
ld's final link reports as an error in `.eh_frame` and an unwinder could match against
unrelated code.  So the record goes, as GNU ld's -r removes it: the bytes after it move up,
the relocations after it move with them, and each later FDE's CIE pointer (the distance
back to its CIE) shrinks by what was removed between the two.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import LinkError
from ..model import Binding, InputSection, ObjectFile, RelocTable, SectionRole
from .eh_frame import _records


def drop_dead_fdes(objects: list[ObjectFile]) -> None:
    for obj in objects:
        dead = _dead_symbols(obj)
        if not dead.any():
            continue
        for sec in obj.sections:
            if (sec is not None and sec.file is obj and sec.role is SectionRole.EH_FRAME
                    and sec.data is not None and len(sec.relocs)):
                rows = sec.relocs.rows
                hits = rows["offset"][dead[rows["symbol"]]]
                if len(hits):
                    _cut(sec, hits)


def _dead_symbols(obj: ObjectFile) -> np.ndarray:
    """Per symbol: a local of a section that is not in the output."""
    table = obj.symbols
    loaded = np.array([s is not None for s in obj.sections] + [True], dtype=bool)
    index = np.where(table.section >= 0, table.section, len(obj.sections))
    return (table.binding == Binding.LOCAL) & (table.section >= 0) & ~loaded[index]


def _cut(sec: InputSection, hits: np.ndarray) -> None:
    assert sec.data is not None
    data = bytes(sec.data)
    records = _records(data, sec.where())
    cies = {start for start, _, cie in records if cie == 0}
    for start, _, cie in records:
        if cie != 0 and start + 4 - cie not in cies:  # (the shift below indexes by it)
            raise LinkError(f"an FDE's CIE pointer {cie:#x} names no CIE of the section",
                            file=sec.where(), section=".eh_frame", offset=start + 4)
    doomed = {start for start, length, cie in records if cie != 0
              and ((hits >= start) & (hits < start + length)).any()}
    if not doomed:
        return
    out = bytearray()
    shift = np.zeros(len(data) + 1, dtype=np.int64)  # bytes removed before each offset
    removed = 0
    kept = np.ones(len(sec.relocs), dtype=bool)
    offsets = sec.relocs.rows["offset"]
    position = 0
    for start, length, cie in records:
        out += data[position:start]  # terminators and padding between records stay
        shift[position:start] = removed
        if start in doomed:
            kept &= ~((offsets >= start) & (offsets < start + length))
            removed += length
        else:
            record = bytearray(data[start:start + length])
            if cie != 0:  # the pointer back to the CIE shortens by what went in between
                cie_at = start + 4 - cie
                struct.pack_into("<I", record, 4, cie - (removed - int(shift[cie_at])))
            shift[start:start + length] = removed
            out += record
        position = start + length
    out += data[position:]
    shift[position:] = removed
    rows = sec.relocs.rows[kept].copy()
    rows["offset"] -= shift[rows["offset"]]
    sec.data, sec.size = bytes(out), len(out)
    sec.relocs = RelocTable(rows)
