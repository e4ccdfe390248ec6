"""The Mach-O symbol table (nlist entries, in LC_DYSYMTAB's three groups) and the export
list that the export trie is built from (split out of link.py).

An executable exports every default-visibility definition plus `__mh_execute_header`; a
dylib or bundle exports its default-visibility definitions only (ld64 gives a dylib no
`__mh_execute_header`).  `-exported_symbols_list` hides what no pattern names.  An import's
n_desc carries its library ordinal: the 1-based LC_LOAD_DYLIB index, or
DYNAMIC_LOOKUP_ORDINAL (0xfe) for a symbol left to `-undefined dynamic_lookup`.
"""

from __future__ import annotations

import struct
from fnmatch import fnmatchcase

from ..apply import SymbolAddresses
from ..layout import OutputSection
from ..model import Binding, Visibility
from ..resolve import SymbolTable
from .debug_map import StabRow
from .dyldinfo import EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION
from .write import LinkeditPlan

N_UNDF, N_EXT, N_ABS, N_SECT, N_PEXT, N_TYPE = 0x0, 0x1, 0x2, 0xE, 0x10, 0xE
EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE = 0x2
N_WEAK_REF, N_WEAK_DEF, REFERENCED_DYNAMICALLY = 0x40, 0x80, 0x10
MH_EXECUTE_HEADER = "__mh_execute_header"
DYNAMIC_LOOKUP_ORDINAL = 0xFE  # n_desc's ordinal for -undefined dynamic_lookup imports
BIND_SPECIAL_DYLIB_FLAT_LOOKUP = -2  # the same, as the bind opcodes spell it
Export = tuple[str, int, int]  # name, offset from the image base, EXPORT_SYMBOL_FLAGS_*


def n_desc_ordinal(ordinal: int) -> int:
    """A bind's library ordinal as n_desc's high byte spells it."""
    return DYNAMIC_LOOKUP_ORDINAL if ordinal == BIND_SPECIAL_DYLIB_FLAT_LOOKUP else ordinal


def symbol_table(symtab: SymbolTable, syms: SymbolAddresses, outs: list[OutputSection],
                 ordinal: dict[str, int], plan: LinkeditPlan, base: int,
                 nlist: str = "<IBBHQ", exported: tuple[str, ...] | None = None,
                 strip: bool = False, executable: bool = True,
                 stabs: list[StabRow] | None = None, discard_locals: bool = False,
                 keep: frozenset[int] = frozenset()) -> tuple[list[Export], dict[int, int]]:
    """nlist(_64) entries: hidden (local), exported (sorted), imported (sorted).
    Returns the export list and gid -> symbol index.  A symbol no `exported` pattern
    matches is hidden (ld64's -exported_symbols_list); `strip` keeps in the table only
    the imports and __mh_execute_header (the indirect table names a stripped definition's
    slot INDIRECT_SYMBOL_LOCAL or _ABS, as strip(1) does; exports stay in the trie), and
    the definitions in `keep`: the image's own exported weak definitions that have stubs,
    which the indirect table must name (dyld coalesces them by name).
    `executable` False (a dylib or bundle): no __mh_execute_header.  `stabs` (the debug
    map) come first, inside the local range, as ld64 writes them.  `discard_locals` (-x):
    no non-external definitions (hidden, or not exported), as ld64 -x leaves them out; the
    debug map stays (-S drops it)."""
    ordinal_of_section = {}
    for n, out in enumerate(outs, start=1):
        for sec in out.inputs:
            ordinal_of_section[id(sec)] = n
    local, extdef, undef = [], [], []
    value_mask = (1 << 8 * struct.calcsize("<" + nlist[-1])) - 1
    for sym in symtab.symbols:
        if sym.name == MH_EXECUTE_HEADER and (sym.linker_defined or sym.file is None
                                              and sym.dso is None):
            if executable:
                extdef.append((sym.name, N_SECT | N_EXT, 1, REFERENCED_DYNAMICALLY, base,
                               sym.id))
        elif sym.file is not None and sym.section is not None:
            sect = ordinal_of_section.get(id(sym.section), 0)
            desc = N_WEAK_DEF if sym.binding == Binding.WEAK else 0
            entry = (sym.name, N_SECT | N_EXT, sect, desc, int(syms.address[sym.id]), sym.id)
            if sym.visibility != Visibility.DEFAULT or not listed(sym.name, exported):
                local.append((sym.name, N_SECT | N_PEXT, sect, 0, entry[4], sym.id))
            elif sect:
                extdef.append(entry)
        elif sym.file is not None and sym.absolute:
            # N_ABS, exported with EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE: its value, not an
            # offset from the header (an importer's bind must not add the image's slide)
            value = int(syms.address[sym.id]) & value_mask  # a negative one wraps, as in n_value
            if sym.visibility != Visibility.DEFAULT or not listed(sym.name, exported):
                local.append((sym.name, N_ABS | N_PEXT, 0, 0, value, sym.id))
            else:
                extdef.append((sym.name, N_ABS | N_EXT, 0, 0, value, sym.id))
        elif sym.imported and sym.referenced and sym.dso is not None:
            desc = (n_desc_ordinal(ordinal[sym.dso.soname]) << 8) \
                | (0 if sym.strong_ref else N_WEAK_REF)
            undef.append((sym.name, N_UNDF | N_EXT, 0, desc, 0, sym.id))
    if executable and not any(e[0] == MH_EXECUTE_HEADER for e in extdef):
        extdef.append((MH_EXECUTE_HEADER, N_SECT | N_EXT, 1, REFERENCED_DYNAMICALLY, base, -1))
    extdef.sort()
    undef.sort()
    exports = [(e[0], e[4], EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) if e[1] & N_TYPE == N_ABS
               else (e[0], e[4] - base, EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION
                     if e[3] & N_WEAK_DEF else 0) for e in extdef]
    local = (stabs or []) + ([] if discard_locals else local)
    if strip:
        local, extdef = [], [e for e in extdef if e[0] == MH_EXECUTE_HEADER or e[5] in keep]
    strings = bytearray(b" \0")
    rows = []
    index_of: dict[int, int] = {}
    for n, (name, ntype, sect, desc, value, gid) in enumerate(local + extdef + undef):
        # an unnamed entry (a stab's) names the empty string after the leading " "
        rows.append(struct.pack(nlist, len(strings) if name else 1, ntype, sect, desc, value))
        if name:
            strings += name.encode("utf-8", "surrogateescape") + b"\0"
        if gid >= 0:
            index_of[gid] = n
    plan.symbols, plan.nsyms, plan.strings = b"".join(rows), len(rows), bytes(strings)
    plan.ilocal, plan.nlocal = 0, len(local)
    plan.iextdef, plan.nextdef = len(local), len(extdef)
    plan.iundef, plan.nundef = len(local) + len(extdef), len(undef)
    return exports, index_of


def local_names(symtab: SymbolTable, exported: tuple[str, ...] | None) -> set[str]:
    """The definitions symbol_table writes as locals (hidden, or named by no
    -exported_symbols_list pattern): what -x drops."""
    return {s.name for s in symtab.symbols if s.file is not None and s.defined
            and (s.visibility != Visibility.DEFAULT or not listed(s.name, exported))}


def listed(name: str, patterns: tuple[str, ...] | None) -> bool:
    """Whether -exported_symbols_list exports `name` (ld64's lists take * ? [] globs)."""
    return patterns is None or any(fnmatchcase(name, p) for p in patterns)
