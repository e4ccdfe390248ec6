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

import numpy as np

from ..dynamic_list import matches
from ..errors import LinkError
from ..model import SectionRole, SymType, Visibility
from ..records import dataclass
from ..resolve import GlobalSymbol, SymbolTable
from .version_script import VersionScript

VER_NDX_GLOBAL = 1
VERSYM_HIDDEN = 0x8000  # .gnu.version: a non-default (`foo@VER`) definition


@dataclass(frozen=True)
class SharedOptions:
    soname: str | None = None
    symbolic: str = "none"  # -Bsymbolic: "all"; -Bsymbolic-functions: "functions"
    no_undefined: bool = False  # -z defs / --no-undefined
    # -z nodynamic-undefined-weak: False, an undefined weak symbol is 0 at link time
    # (nothing another module defines can bind it); GNU ld's default for -shared is True
    dynamic_undefined_weak: bool = True
    text_relocations: bool = False  # -z notext: DT_TEXTREL instead of an error
    version_script: VersionScript | None = None
    # --default-symver: a version node named after the soname (else the output's file name)
    # at index 2, claiming every export that no named node of the script claims
    default_symver: bool = False
    exclude_libs: tuple[str, ...] = ()  # --exclude-libs: archive names, or ALL
    # what .gnu.version_d's base entry is named after: the soname, else the output's name
    output_name: str = ""
    # --dynamic-list / --dynamic-list-data in -shared: only the listed symbols (or the data
    # objects) stay preemptible; every other export binds locally, whatever -Bsymbolic says
    dynamic_list: tuple[str, ...] = ()
    dynamic_list_data: bool = False

    @property
    def base_version(self) -> str:
        """The name of .gnu.version_d's base entry (and of --default-symver's node)."""
        return self.soname or os.path.basename(self.output_name)

    @property
    def named_versions(self) -> list[tuple[str, list[str]]]:
        """(name, parents) of each version node after the base, in index order (2, 3...)."""
        nodes = [] if self.version_script is None else [
            (n.name, list(n.parents)) for n in self.version_script.versions]
        return ([(self.base_version, [])] if self.default_symver else []) + nodes

    @property
    def narrowed(self) -> bool:
        """Does a dynamic list decide preemptibility (so -Bsymbolic is moot, no DT_SYMBOLIC)?"""
        return bool(self.dynamic_list) or self.dynamic_list_data


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
        if sym.file is None or sym.linker_defined:
            continue
        if sym.visibility not in (Visibility.DEFAULT, Visibility.PROTECTED):
            continue
        if _excluded_archive(sym, opts.exclude_libs):
            continue
        script = opts.version_script
        if "@" in sym.name:
            if _versioned_export(sym, script):
                out.append(sym)
            continue
        scope = script.scope(sym.name) if script is not None else None
        if scope is not None and scope.local:
            continue
        if scope is not None and scope.version \
                and f"{sym.name}@{scope.version}" in symtab.by_name:
            # `.symver foo, foo@V` kept the plain foo too; the script's `V { foo; }` would
            # make it foo@@V beside foo@V: GNU ld exports the versioned one alone
            continue
        out.append(sym)
    return out


def split_versioned(name: str) -> tuple[str, str, bool]:
    """`foo@@VER` -> ("foo", "VER", True); `foo@VER` -> ("foo", "VER", False)."""
    base, _, rest = name.partition("@")
    default = rest.startswith("@")
    return base, rest[1:] if default else rest, default


def _versioned_export(sym: GlobalSymbol, script: VersionScript | None) -> bool:
    """A definition named with its version (`.symver foo_v1, foo@VER_1`, or `foo@@VER_2` for
    the default one).  As GNU ld does, the version must be a node of the version script, and
    only that node's lists are consulted for the bare name: its `local` list (when its
    `global` list does not also name it) keeps the definition out of .dynsym."""
    base, version, _ = split_versioned(sym.name)
    if base and not version:
        # `foo@` / `foo@@`: the base version, i.e. a plain export, and an explicit one that
        # a script's `local: *` does not hide (GNU ld; C libraries' compatibility macros)
        return True
    node = None if script is None else next(
        (n for n in script.versions if n.name == version), None)
    if node is None or not base or not version:
        where = sym.file.path if sym.file is not None else "?"
        raise LinkError(f"{where}: symbol {sym.name}: version node {version or '(empty)'} "
                        "not found in the version script (a versioned definition in a "
                        "shared object needs --version-script defining it)")
    alone = VersionScript([node], script.path if script is not None else "")
    scope = alone.scope(base)
    return scope is None or not scope.local


def _listed(sym: GlobalSymbol, opts: SharedOptions) -> bool:
    """GNU ld's rule, checked against its output: with a dynamic list in -shared, a symbol
    stays preemptible when the list names it or, under --dynamic-list-data, it is data."""
    if opts.dynamic_list_data and sym.type == SymType.OBJECT:
        return True
    base = sym.name.partition("@")[0]
    return bool(opts.dynamic_list) and (matches(opts.dynamic_list, sym.name)
                                        or matches(opts.dynamic_list, base))


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
            if sym.dso is None and (sym.visibility != Visibility.DEFAULT or (
                    not opts.dynamic_undefined_weak and not sym.strong_ref)):
                # a hidden or protected reference nothing defines binds to nothing outside
                # the object (gABI): 0, as an undefined weak one is without
                # dynamic-undefined-weak
                flags[sym.id] = False
    for sym in exported:
        if sym.visibility != Visibility.DEFAULT:
            continue
        if sym.absolute and sym.section is None and not sym.common:
            continue  # an absolute value: the same whichever module defines it
        if opts.narrowed:
            if _listed(sym, opts):
                flags[sym.id] = True
            continue
        if opts.symbolic == "all":
            continue
        if opts.symbolic == "functions" and sym.type in (SymType.FUNC, SymType.IFUNC):
            continue
        flags[sym.id] = True
    return flags


def version_indices(opts: SharedOptions, exported: list[GlobalSymbol]) -> dict[int, int]:
    """gid -> .gnu.version index of each export a named version node claims (base = 1;
    --default-symver's node 2, then the script's named nodes in script order).  An export
    no named node claims is the base version's, or --default-symver's node."""
    script = opts.version_script
    nodes = opts.named_versions
    if not nodes:
        return {}
    index = {name: n + 2 for n, (name, _) in enumerate(nodes)}
    unclaimed = 2 if opts.default_symver else VER_NDX_GLOBAL
    out = {}
    for sym in exported:
        if "@" in sym.name:  # checked by _versioned_export: its node exists
            _, version, default = split_versioned(sym.name)
            if not version:
                out[sym.id] = VER_NDX_GLOBAL
                continue
            out[sym.id] = index[version] | (0 if default else VERSYM_HIDDEN)
            continue
        scope = script.scope(sym.name) if script is not None else None
        out[sym.id] = index[scope.version] if scope is not None and scope.version \
            else unclaimed
    return out
