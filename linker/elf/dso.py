"""`-shared`: what a shared object exports and which of its symbols stay preemptible.

A shared object's default-visibility definitions can be *preempted*: ld.so binds every
reference, the library's own included, to the first definition in its lookup order (the
executable, then the libraries breadth-first).  A reference to a preemptible symbol must
therefore go through something ld.so fills (a GOT slot, a PLT entry, a symbolic dynamic
relocation), exactly like a reference to an import.  A symbol is *not* preemptible when

    * it is hidden or internal (it is not even exported), or protected (exported, but the
      library's own references bind to its own copy);
    * a version script makes it local, or `--exclude-libs` hides it;
    * `-Bsymbolic` (any definition) or `-Bsymbolic-functions` (functions) binds it locally;
    * it is defined by the linker (`_DYNAMIC`, `_GLOBAL_OFFSET_TABLE_`, ...).

Undefined symbols, weak or not, are preemptible (they are imports of the object), unless
`-z defs` turns them into errors.  In an executable only imports are preemptible.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import LinkError
from ..model import SectionRole, SymType, Visibility
from ..resolve import GlobalSymbol, SymbolTable
from .version_script import VersionScript

VER_NDX_GLOBAL = 1


@dataclass(frozen=True)
class SharedOptions:
    soname: str | None = None
    symbolic: str = "none"  # -Bsymbolic: "all"; -Bsymbolic-functions: "functions"
    no_undefined: bool = False  # -z defs / --no-undefined
    text_relocations: bool = False  # -z notext: DT_TEXTREL instead of an error
    version_script: VersionScript | None = None
    exclude_libs: tuple[str, ...] = ()  # --exclude-libs: archive names, or ALL
    # what .gnu.version_d's base entry is named after: the soname, else the output's name
    output_name: str = ""


def refuse_preinit_array(symtab: SymbolTable) -> None:
    """ld.so runs only the executable's DT_PREINIT_ARRAY (GNU ld refuses one in a DSO)."""
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is not None and sec.role == SectionRole.PREINIT_ARRAY and sec.size:
                raise LinkError(".preinit_array is not allowed in a shared object (ld.so "
                                "runs only the executable's)", file=obj.path, section=sec.name)


def exported_by_shared(symtab: SymbolTable, opts: SharedOptions) -> list[GlobalSymbol]:
    """The definitions a shared object puts in .dynsym, in symbol-table order."""
    out = []
    for sym in symtab.symbols:
        if sym.file is None or sym.linker_defined or "@" in sym.name:
            continue
        if sym.visibility not in (Visibility.DEFAULT, Visibility.PROTECTED):
            continue
        if _excluded_archive(sym, opts.exclude_libs):
            continue
        script = opts.version_script
        scope = script.scope(sym.name) if script is not None else None
        if scope is not None and scope.local:
            continue
        out.append(sym)
    return out


def _excluded_archive(sym: GlobalSymbol, names: tuple[str, ...]) -> bool:
    """--exclude-libs: a symbol defined by a member of one of the named archives (by file
    name, `libfoo.a`; `ALL` for every archive) is not exported."""
    if not names or sym.file is None:
        return False
    path = sym.file.path
    if not path.endswith(")") or "(" not in path:
        return False  # not an archive member
    archive = os.path.basename(path[:path.rindex("(")])
    return "ALL" in names or archive in names


def preemptible_ids(symtab: SymbolTable, opts: SharedOptions | None,
                    exported: list[GlobalSymbol]) -> np.ndarray:
    """Per global id: must references to it go through ld.so?"""
    flags = np.array([s.imported for s in symtab.symbols], dtype=bool)
    if opts is None:
        return flags
    for sym in symtab.symbols:
        if sym.file is None and not sym.linker_defined:
            flags[sym.id] = sym.referenced or sym.dso is not None
    for sym in exported:
        if sym.visibility != Visibility.DEFAULT:
            continue
        if sym.absolute and sym.section is None and not sym.common:
            continue  # an absolute value: the same whichever module defines it
        if opts.symbolic == "all":
            continue
        if opts.symbolic == "functions" and sym.type in (SymType.FUNC, SymType.IFUNC):
            continue
        flags[sym.id] = True
    return flags


def version_indices(opts: SharedOptions, exported: list[GlobalSymbol]) -> dict[int, int]:
    """gid -> .gnu.version index of each export a named version node claims (base = 1;
    the script's named nodes are 2, 3, ... in script order)."""
    script = opts.version_script
    if script is None or not script.versions:
        return {}
    index = {node.name: n + 2 for n, node in enumerate(script.versions)}
    out = {}
    for sym in exported:
        scope = script.scope(sym.name)
        out[sym.id] = index[scope.version] if scope is not None and scope.version \
            else VER_NDX_GLOBAL
    return out
