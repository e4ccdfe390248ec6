"""--gc-sections: drop the allocated input sections nothing live refers to.

Roots, as GNU ld's: the sections defining the entry point, the -u symbols, DT_INIT/DT_FINI's
symbols and every exported symbol; the sections GNU ld's default script KEEPs (.init,
.fini, .ctors, .dtors, .init_array*, .fini_array*, .preinit_array*, .jcr, .note.*) and every
section marked SHF_GNU_RETAIN; every
input section named X when `__start_X` or `__stop_X` is referenced; every non-allocated
section (debug information is never collected and does not keep code alive).

.eh_frame is kept and is not a root for the code it describes: its references to code do
not mark it, its other references (a CIE's personality pointer, an FDE's LSDA) do.  The
.gcc_except_table inputs are kept as GNU ld keeps an LSDA whose function lives; a dead
function's table is kept too (a few bytes: conservative, never wrong).

A removed section becomes None in its object (as a discarded COMDAT member does), and a
global symbol it defined is forgotten, so no table lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .model import InputSection, SectionFlags, SectionRole
from .resolve import GlobalSymbol, SymbolTable

_KEPT_PREFIXES = (".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors",
                  ".note", ".gcc_except_table")
_KEPT_NAMES = {".init", ".fini", ".jcr"}
_KEPT_ROLES = {SectionRole.INIT_ARRAY, SectionRole.FINI_ARRAY, SectionRole.PREINIT_ARRAY}


def _kept(sec: InputSection) -> bool:
    """Never collected: an empty section (it takes no room; GNU ld does not report it),
    what GNU ld's default script KEEPs, and non-allocated sections."""
    return (not sec.size or SectionFlags.ALLOC not in sec.flags or sec.role in _KEPT_ROLES
            or sec.role is SectionRole.EH_FRAME or sec.name in _KEPT_NAMES
            or sec.name.startswith(_KEPT_PREFIXES))


def collect_garbage(symtab: SymbolTable, root_names: Iterable[str],
                    exported: Callable[[GlobalSymbol], bool]) -> list[tuple[str, str]]:
    """Remove unreachable sections; returns (file, section name) of each, in input order."""
    live: set[int] = set()
    work: list[InputSection] = []

    def mark(sec: InputSection | None) -> None:
        if sec is not None and id(sec) not in live:
            live.add(id(sec))
            work.append(sec)

    for name in root_names:
        sym = symtab.by_name.get(name)
        if sym is not None and sym.file is not None:
            mark(sym.section)
    for sym in symtab.symbols:
        if sym.file is not None and sym.section is not None and exported(sym):
            mark(sym.section)
    bounded = {s.name.split("_", 3)[3] for s in symtab.symbols
               if s.referenced and s.name.startswith(("__start_", "__stop_"))}
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is not None and sec.file is obj and (_kept(sec) or sec.name in bounded):
                mark(sec)
        for index in obj.retained:  # SHF_GNU_RETAIN: `__attribute__((retain))`
            mark(obj.sections[index])
    gids_of = {id(obj): gids for obj, gids in zip(symtab.objects, symtab.gids)}
    while work:
        sec = work.pop()
        if SectionFlags.ALLOC not in sec.flags or not len(sec.relocs):
            continue  # debug information keeps nothing alive
        obj = sec.file
        gids = gids_of[id(obj)]
        for index in sec.relocs.rows["symbol"].tolist():
            gid = int(gids[index])
            if gid >= 0:
                target = symtab.symbols[gid].section if symtab.symbols[gid].file else None
            else:
                shndx = int(obj.symbols.section[index])
                target = obj.sections[shndx] if 0 <= shndx < len(obj.sections) else None
            if (sec.role is SectionRole.EH_FRAME and target is not None
                    and SectionFlags.EXEC in target.flags):
                continue  # an FDE's code does not live because it has unwind information
            mark(target)
    removed: list[tuple[str, str]] = []
    for obj in symtab.objects:
        for i, sec in enumerate(obj.sections):
            if sec is not None and sec.file is obj and id(sec) not in live:
                obj.sections[i] = None
                removed.append((obj.path, sec.name))
    for sym in symtab.symbols:
        if sym.file is not None and sym.section is not None and id(sym.section) not in live:
            sym.file, sym.section, sym.referenced, sym.strong_ref = None, None, False, False
    return removed
