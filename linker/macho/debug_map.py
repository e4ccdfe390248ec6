"""The Mach-O debug map: the stabs ld64 writes so that dsymutil and debuggers find DWARF.

A Mach-O link copies no DWARF (the reader drops every `__DWARF` section).  The DWARF stays
in the objects; the executable's symbol table starts with stab entries that say which
object each address range came from, which dsymutil follows to link a .dSYM.  Per object
with a compile unit (`ObjectFile.debug_origin`), in link order, ld64 writes:

    N_SO     ""   n_sect 1, once, before the first unit (today's ld64 writes it)
    N_SO    dir   the unit's directory (with its trailing "/")
    N_SO   file   the unit's source file
    N_OSO         the object's absolute path (archive members `lib.a(member.o)`),
                  n_sect the CPU subtype, n_desc 1, n_value the modification time
    per function, in address order:
      N_BNSYM     n_sect its output section, n_value its address
      N_FUN  name n_sect its output section, n_value its address
      N_FUN  ""   n_sect 0, n_value its size (to the next symbol or the section's end)
      N_ENSYM     n_sect its output section, n_value its address (older ld64: size)
    per variable: N_STSYM (a static) or N_GSYM (an external), n_sect and its address
      (a COMMON the linker allocated: under the first object declaring it)
    N_SO     ""   n_sect 1: the end of the unit
(ld64 also writes N_SOL entries naming included files between a function's N_FUNs, from
the line table; dsymutil does not need them, and we write none.)

Departure from ld64: ld64 writes N_GSYM with n_sect 0 and n_value 0 (a debugger looks the
global up by name); we write its section and address, as ld64.lld does, so that the entry
can be checked against the symbol (dsymutil accepts both).  Static data, zero-fill or not,
is N_STSYM.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..apply import SymbolAddresses
from ..arrays import distinct
from ..layout import Layout, OutputSection
from ..model import COMMON, Binding, InputSection, ObjectFile, SectionFlags, SymType
from ..resolve import SymbolTable
from ..synth import SYNTHETIC_PATH

N_GSYM, N_FUN, N_STSYM, N_BNSYM = 0x20, 0x24, 0x26, 0x2E
N_ENSYM, N_SO, N_OSO = 0x4E, 0x64, 0x66

# (name, n_type, n_sect, n_desc, n_value, gid): the row _symbol_table writes (gid -1: none)
StabRow = tuple[str, int, int, int, int, int]


def debug_map(symtab: SymbolTable, syms: SymbolAddresses, layout: Layout,
              outs: list[OutputSection], cpu_subtype: int) -> list[StabRow]:
    """The stab rows for every object with a compile unit, in link order."""
    ordinal = {id(sec): n for n, out in enumerate(outs, start=1) for sec in out.inputs}
    rows: list[StabRow] = []
    claimed: set[int] = set()  # COMMON symbols already listed
    for obj, gids in zip(symtab.objects, symtab.gids):
        origin = obj.debug_origin
        if origin is None or not origin.path:
            continue
        entries = sorted(_defined_here(symtab, syms, layout, obj, gids, ordinal, claimed),
                         key=lambda e: e[1])
        if not entries:
            continue  # ld64 maps a unit only through its symbols
        if not rows:
            rows.append(("", N_SO, 1, 0, 0, -1))  # today's ld64 opens the map so
        if origin.directory:
            rows.append((origin.directory, N_SO, 0, 0, 0, -1))
        rows.append((origin.source, N_SO, 0, 0, 0, -1))
        rows.append((origin.path, N_OSO, cpu_subtype & 0xFF, 1, origin.mtime, -1))
        for name, address, sect, size, is_code, external in entries:
            if is_code:
                rows += [("", N_BNSYM, sect, 0, address, -1),
                         (name, N_FUN, sect, 0, address, -1),
                         ("", N_FUN, 0, 0, size, -1),
                         ("", N_ENSYM, sect, 0, address, -1)]
            else:
                rows.append((name, N_GSYM if external else N_STSYM, sect, 0, address, -1))
        rows.append(("", N_SO, 1, 0, 0, -1))
    return rows


def as_statics(rows: list[StabRow], dropped: set[str]) -> list[StabRow]:
    """-x drops the table's local definitions (hidden, or not exported), so no entry is
    left to look an N_GSYM of one up by: its variable is written as N_STSYM, which
    carries its own address, as a static's does."""
    return [(name, N_STSYM, sect, desc, value, gid) if ntype == N_GSYM and name in dropped
            else (name, ntype, sect, desc, value, gid)
            for name, ntype, sect, desc, value, gid in rows]


def _defined_here(symtab: SymbolTable, syms: SymbolAddresses, layout: Layout,
                  obj: ObjectFile, gids: np.ndarray, ordinal: dict[int, int],
                  claimed: set[int]) -> Iterator[tuple[str, int, int, int, bool, bool]]:
    """(name, address, output section ordinal, size, is code, is external) of each named
    symbol this object defines in a placed section and that won its name."""
    t = obj.symbols
    yield from _commons(symtab, syms, obj, gids, ordinal, claimed)
    named = (t.section >= 1) & (t.type != SymType.SECTION)
    sizes = _sizes(obj, t.section, t.value, named)
    for i in np.nonzero(named)[0].tolist():
        name = t.names[i]
        if not name or name[0] in "lL":  # assembler-private labels never reach the table
            continue
        sec = obj.sections[int(t.section[i])]
        if sec is None or id(sec) not in ordinal:
            continue
        gid = int(gids[i])
        if gid >= 0:
            winner = symtab.symbols[gid]
            if winner.file is not obj or winner.section is not sec:
                continue  # a weak definition that lost: its bytes are nobody's now
            address = int(syms.address[gid])
        else:
            address = layout.address_of(sec) + int(t.value[i])
        yield (name, address, ordinal[id(sec)], int(sizes[i]),
               SectionFlags.EXEC in sec.flags, int(t.binding[i]) != Binding.LOCAL)


def _commons(symtab: SymbolTable, syms: SymbolAddresses, obj: ObjectFile, gids: np.ndarray,
             ordinal: dict[int, int], claimed: set[int]
             ) -> Iterator[tuple[str, int, int, int, bool, bool]]:
    """N_GSYM entries for the COMMON symbols the linker allocated (no object defined them),
    in the unit of the first object declaring each (ld64.lld lists them so; dsymutil keeps
    a variable's DIE only when the map names it).  `claimed`: gids already listed."""
    t = obj.symbols
    for i in np.nonzero(t.section == COMMON)[0].tolist():
        gid = int(gids[i])
        if gid < 0 or gid in claimed:
            continue
        sym = symtab.symbols[gid]
        if sym.file is not None and sym.file.path == SYNTHETIC_PATH \
                and sym.section is not None and id(sym.section) in ordinal:
            claimed.add(gid)
            yield (t.names[i], int(syms.address[gid]), ordinal[id(sym.section)], 0, False,
                   True)


def _sizes(obj: ObjectFile, section: np.ndarray, value: np.ndarray, named: np.ndarray
           ) -> np.ndarray:
    """Each symbol's size as ld64 sees an atom: up to the next symbol at a higher offset in
    its section, or to the section's end."""
    sizes = np.zeros(len(section), np.int64)
    for index in distinct(section[named]).tolist():
        sec: InputSection | None = obj.sections[index]
        if sec is None:
            continue
        here = named & (section == index)
        starts = distinct(value[here].astype(np.int64))
        ends = np.append(starts[1:], sec.size)
        offsets = value[here].astype(np.int64)
        sizes[here] = ends[np.searchsorted(starts, offsets)] - offsets
    return sizes
