"""Symbol resolution: one global symbol table fed by objects, archives and shared libraries.

The rules are GNU ld's for executables:

* a strong definition beats a weak one and a common one; two strong ones are an error;
* COMMON symbols merge to the largest size and strictest alignment; a real definition
  beats them (and a common beats a weak definition);
* a definition in a regular object beats one in a shared library, whatever the order;
  among shared libraries the first one on the command line wins;
* a COMDAT group whose signature was already seen is discarded whole, and its symbols
  become references to the kept copy;
* only a non-weak undefined reference pulls an archive member.

Locals never enter the table: each object keeps a `gids` array mapping its symbol indices to
global ids (-1 for locals), which the relocation pass uses to gather addresses in bulk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

from .defsym import parse_defsym_expression
from .demangle import demangled
from .errors import LinkError, current, warn
from .model import (
    BIND_LOCAL,
    COMMON,
    TYPE_TLS,
    UNDEF,
    Binding,
    DynamicLibrary,
    DynamicSymbol,
    InputSection,
    LazySymbols,
    ObjectFile,
    SymType,
    Visibility,
)
from .model import SymbolTable as SymbolTableArrays
from .records import dataclass, field


class GlobalSymbol:
    """A global name and what it resolved to.  Mutable while the link resolves."""

    __slots__ = (
        "absolute",
        "binding",
        "common",
        "common_align",
        "dso",
        "dynsym",
        "file",
        "id",
        "index",
        "linker_defined",
        "name",
        "referenced",
        "referrers",
        "section",
        "size",
        "strong_ref",
        "type",
        "value",
        "visibility",
    )

    def __init__(self, gid: int, name: str) -> None:
        self.id = gid
        self.name = name
        self.file: ObjectFile | None = None  # defining object
        self.index = 0  # symbol index in `file`
        self.section: InputSection | None = None
        self.value = 0
        self.size = 0
        self.binding = Binding.GLOBAL
        self.type = SymType.NOTYPE
        self.visibility = Visibility.DEFAULT
        self.common = False
        self.common_align = 1
        self.absolute = False
        self.dso: DynamicLibrary | None = None  # defining shared library (an import)
        self.dynsym: DynamicSymbol | None = None
        self.linker_defined = False  # _end, _DYNAMIC, ... (address set by layout)
        self.referenced = False  # by a regular object
        self.strong_ref = False  # by a non-weak undefined reference
        self.referrers: list[str] = []  # first few referencing files, for messages

    @property
    def defined(self) -> bool:
        return self.file is not None or self.linker_defined

    @property
    def imported(self) -> bool:
        return self.file is None and self.dso is not None and not self.linker_defined

    @property
    def undefined(self) -> bool:
        return self.file is None and self.dso is None and not self.linker_defined

    def __repr__(self) -> str:
        where = self.file.path if self.file else (self.dso.soname if self.dso else "undef")
        return f"<GlobalSymbol {self.name} in {where}>"


class _NameIds(dict[str, int]):
    """Name -> global id, beside `SymbolTable.by_name`: a name not yet in it gets the next
    id when asked for by `[]` (a link's ids are dense, in order of first appearance), so
    one pass of lookups both finds the known names and numbers the new ones.  An int per
    name, not the symbol's `id` attribute: reading 160,000 of those from scattered
    records cost twice the lookups themselves."""

    def __missing__(self, name: str) -> int:
        gid = self[name] = len(self)
        return gid


_MAX_REFERRERS = 4
_WEAK = int(Binding.WEAK)
_SYMTYPE = {int(t): t for t in SymType}


@dataclass
class SymbolTable:
    """The link's global symbols, and per object the map from local index to global id."""

    symbols: list[GlobalSymbol] = field(default_factory=list)
    by_name: dict[str, GlobalSymbol] = field(default_factory=dict)
    ids: _NameIds = field(default_factory=_NameIds)  # name -> id of every name in by_name
    objects: list[ObjectFile] = field(default_factory=list)
    gids: list[np.ndarray] = field(default_factory=list)  # aligned with `objects`
    libraries: list[DynamicLibrary] = field(default_factory=list)
    comdats: dict[str, ObjectFile] = field(default_factory=dict)
    warn_common: bool = False  # GNU ld's --warn-common: a COMMON meeting another symbol
    # --wrap=SYM: an undefined reference to SYM binds to __wrap_SYM, one to __real_SYM binds
    # to SYM (only references: a definition of SYM keeps its name).
    wrapped: dict[str, str] = field(default_factory=dict)
    # For the text map: (member, referring file, symbol) per archive member loaded, and
    # (file, section name, size) per input section a COMDAT group discarded.
    archive_pulls: list[tuple[str, str, str]] = field(default_factory=list)
    discarded: list[tuple[str, str, int]] = field(default_factory=list)
    # -z muldefs: a second strong definition is dropped (the first wins), not an error.
    allow_multiple_definition: bool = False
    # --unresolved-symbols=ignore-all|ignore-in-object-files, -z undefs: an object's
    # undefined reference is not an error; it resolves to 0, as GNU ld resolves it.
    ignore_undefined: bool = False
    warn_undefined: bool = False  # --warn-unresolved-symbols: a warning each, then as 0
    # ELF: an undefined symbol no relocation uses is no error (GNU ld and lld report
    # undefined references from relocations: gcc -pg's gcrt1.o lists __GI_memset unused)
    undefined_needs_relocation: bool = False
    # --sort-common[=ascending|descending]: COMMON symbols placed by alignment (stable).
    sort_common: str | None = None

    def wrap(self, names: list[str]) -> None:
        for name in names:
            self.wrapped[name] = f"__wrap_{name}"
            self.wrapped[f"__real_{name}"] = name

    def intern(self, name: str) -> GlobalSymbol:
        sym = self.by_name.get(name)
        if sym is None:
            sym = GlobalSymbol(len(self.symbols), name)
            self.symbols.append(sym)
            self.by_name[name] = sym
            self.ids[name] = sym.id
            self._bind_library(sym)
        return sym

    def _bind_library(self, sym: GlobalSymbol) -> None:
        """A name first seen after the libraries that export it binds to the first."""
        for lib in self.libraries:
            dsym = lib.symbols.get(sym.name)
            if dsym is not None:
                sym.dso, sym.dynsym = lib, dsym
                sym.type, sym.size = dsym.type, dsym.size
                break

    # -- objects ---------------------------------------------------------------------------

    def add_object(self, obj: ObjectFile) -> None:
        self.add_objects([obj])

    def add_objects(self, objs: list[ObjectFile]) -> None:
        """Add objects as if one at a time, in order, but in bulk: the globals of all of
        them are one set of arrays, names become ids in one pass, and only definitions
        (whose rules depend on what came before) are walked one by one.  References only
        set flags that no definition reads, so they are applied per symbol afterwards."""
        if not objs:  # (a batch whose first object is refused: none before it)
            return
        for obj in objs:
            self._discard_duplicate_comdats(obj)
        tables = [obj.symbols for obj in objs]
        counts = [len(t) for t in tables]
        section = np.concatenate([t.section for t in tables])
        binding = np.concatenate([t.binding for t in tables])
        is_global = binding != BIND_LOCAL
        rows = np.nonzero(is_global)[0]
        names_all = itertools.chain.from_iterable(t.names for t in tables)
        names = list(itertools.compress(names_all, is_global.tolist()))
        owner = np.repeat(np.arange(len(objs)), counts)[rows]
        first_row = np.cumsum([0, *counts[:-1]])
        local = rows - first_row[owner]
        shndx = section[rows].astype(np.int64)
        # a global in a section that is not loaded (a discarded COMDAT copy) is a reference
        loaded = np.array([sec is not None for obj in objs for sec in obj.sections] + [False],
                          dtype=bool)
        section_base = np.cumsum([0, *(len(obj.sections) for obj in objs)])[owner]
        in_loaded = np.zeros(len(rows), dtype=bool)
        placed = shndx >= 0
        in_loaded[placed] = loaded[section_base[placed] + shndx[placed]]
        is_ref = (shndx == UNDEF) | (placed & ~in_loaded)
        if self.wrapped:
            for n in np.nonzero(shndx == UNDEF)[0].tolist():
                names[n] = self.wrapped.get(names[n], names[n])
        # New names get ids in order of first appearance (as `intern` one by one would
        # give them), numbered by the lookups themselves; a library bound before them is
        # asked about each, as `intern` does.
        known = len(self.symbols)
        gid = np.fromiter(map(self.ids.__getitem__, names), np.int64, len(names))
        fresh = list(itertools.islice(self.ids, known, None))
        made = list(map(GlobalSymbol, range(known, known + len(fresh)), fresh))
        self.symbols.extend(made)
        self.by_name.update(zip(fresh, made))
        if self.libraries:
            for sym in made:
                self._bind_library(sym)
        symbols = self.symbols
        visibility = np.concatenate([t.visibility for t in tables])[rows]
        for n in np.nonzero(visibility)[0].tolist():
            sym, vis = symbols[int(gid[n])], int(visibility[n])
            if sym.visibility == 0 or vis < sym.visibility:
                sym.visibility = Visibility(vis)  # the most constraining visibility wins
        weak = binding[rows] == _WEAK
        defining = np.nonzero(~is_ref)[0]
        rows_defining = rows[defining]
        values = np.concatenate([t.value for t in tables])[rows_defining].tolist()
        sizes = np.concatenate([t.size for t in tables])[rows_defining].tolist()
        kinds = np.concatenate([t.type for t in tables])[rows_defining].tolist()
        for g, o, i, sh, w, value, size, kind in zip(
                gid[defining].tolist(), owner[defining].tolist(), local[defining].tolist(),
                shndx[defining].tolist(), weak[defining].tolist(), values, sizes, kinds):
            obj, sym = objs[o], symbols[g]
            if sh == COMMON:
                self._add_common(sym, obj, i)
            elif sym.file is None and not sym.linker_defined:
                # The first definition of a name (most of them in a large link): what
                # _add_definition and _define do for it, without two calls per symbol.
                sym.file, sym.index = obj, i
                sym.section = home = obj.sections[sh] if sh >= 0 else None
                sym.value, sym.size = value, size
                sym.type = _SYMTYPE.get(kind) or SymType(kind)
                sym.absolute, sym.common = home is None, False
                sym.dso = sym.dynsym = None
                sym.binding = Binding.WEAK if w else Binding.GLOBAL
            else:
                self._add_definition(sym, obj, i, w)
        # An undefined TLS reference stays STT_TLS in a shared object's .dynsym, or a
        # linker reading that takes the variable for an ordinary one.
        types = np.concatenate([t.type for t in tables])[rows]
        for g in gid[(shndx == UNDEF) & (types == TYPE_TLS)].tolist():
            sym = symbols[g]
            if sym.file is None and sym.dso is None:
                sym.type = SymType.TLS
        # after the definitions: a reference's referrers are kept only for symbols still
        # without one (see _add_references)
        self._add_references(objs, gid[is_ref], owner[is_ref], weak[is_ref])
        gids = np.full(len(section), -1, dtype=np.int64)
        gids[rows] = gid
        ends = np.cumsum(counts).tolist()
        for obj, start, end in zip(objs, [0, *ends[:-1]], ends):
            self.objects.append(obj)
            self.gids.append(gids[start:end])

    def _add_references(self, objs: list[ObjectFile], gid: np.ndarray, owner: np.ndarray,
                        weak: np.ndarray) -> None:
        """References in bulk: each referenced symbol flagged once, and, unless an object
        already gave it a strong definition, its first few referring files in command-line
        order.  Those lists are read only for a symbol without a definition (an undefined-
        symbol error, the reference that pulled an archive member) or with a COMMON one
        (the reference that pulled a member defining it); a strong definition is final
        (neither a COMMON nor a later object replaces it), so its list is not kept."""
        symbols = self.symbols
        flagged = np.zeros(len(symbols), dtype=bool)
        flagged[gid] = True
        referenced = np.flatnonzero(flagged).tolist()
        for g in referenced:
            symbols[g].referenced = True
        open_ = flagged  # reused: which referenced symbols have no definition yet
        open_[referenced] = [not _finally_defined(symbols[g]) for g in referenced]
        flagged = np.zeros(len(symbols), dtype=bool)
        flagged[gid[~weak]] = True
        for g in np.flatnonzero(flagged).tolist():
            symbols[g].strong_ref = True
        keep = open_[gid]
        gid, owner = gid[keep], owner[keep]
        # Each symbol's first referring files in command-line order: the references sorted
        # by symbol (stably, so in object order within one), and only the first few of each
        # symbol through the Python loop, which skips a path already listed.  A symbol
        # whose list that leaves short (the same path given twice) walks all of its own.
        order = np.argsort(gid, kind="stable")
        by_symbol, by_object = gid[order], owner[order]
        rank = np.arange(len(by_symbol)) - np.searchsorted(by_symbol, by_symbol)
        head = rank < _MAX_REFERRERS
        short: set[int] = set()
        for g, o, last in zip(by_symbol[head].tolist(), by_object[head].tolist(),
                              (rank[head] == _MAX_REFERRERS - 1).tolist()):
            referrers = symbols[g].referrers
            path = objs[o].path
            if len(referrers) < _MAX_REFERRERS and path not in referrers:
                referrers.append(path)
            if last and len(referrers) < _MAX_REFERRERS:
                short.add(g)
        for g in short:
            referrers = symbols[g].referrers
            for o in by_object[by_symbol == g][_MAX_REFERRERS:].tolist():
                if len(referrers) >= _MAX_REFERRERS:
                    break
                if objs[o].path not in referrers:
                    referrers.append(objs[o].path)

    def _discard_duplicate_comdats(self, obj: ObjectFile) -> None:
        for group in obj.groups:
            if group.signature in self.comdats:
                for index in group.sections:
                    sec = obj.sections[index]
                    if sec is not None:
                        self.discarded.append((obj.path, sec.name, sec.size))
                    obj.sections[index] = None
            else:
                self.comdats[group.signature] = obj

    def _add_common(self, sym: GlobalSymbol, obj: ObjectFile, i: int) -> None:
        t = obj.symbols
        size, align = int(t.size[i]), max(1, int(t.value[i]))
        if sym.file is not None and not sym.common and sym.binding != Binding.WEAK:
            if self.warn_common:
                warn(f"common is overridden by the definition in {sym.file.path}",
                     file=obj.path, symbol=sym.name)
            return  # a real definition beats a common one
        if sym.common:
            if self.warn_common and sym.file is not None:
                warn(f"multiple common (also in {sym.file.path})", file=obj.path,
                     symbol=sym.name)
            if size > sym.size:
                sym.file, sym.index = obj, i
            sym.size = max(sym.size, size)
            sym.common_align = max(sym.common_align, align)
            return
        self._define(sym, obj, i, None)
        sym.common = True
        sym.size, sym.common_align = size, align
        sym.binding = Binding.GLOBAL

    def _add_definition(self, sym: GlobalSymbol, obj: ObjectFile, i: int, weak: bool) -> None:
        if sym.file is not None and not sym.common:
            if weak:
                return  # a weak definition never replaces an earlier one
            if sym.binding != Binding.WEAK:
                if not self.allow_multiple_definition:
                    current().error(LinkError(
                        f"duplicate definition (first defined in {sym.file.path})",
                        file=obj.path,
                        section=_section_name(obj, i),
                        offset=int(obj.symbols.value[i]),
                        symbol=sym.name,
                    ))
                return  # the first definition stays (reported, unless -z muldefs)
        elif sym.common and weak:
            return  # a common symbol beats a weak definition
        elif sym.common and self.warn_common and sym.file is not None:
            warn(f"definition overrides the common in {sym.file.path}", file=obj.path,
                 symbol=sym.name)
        shndx = obj.symbols.section.item(i)
        self._define(sym, obj, i, obj.sections[shndx] if shndx >= 0 else None)
        sym.binding = Binding.WEAK if weak else Binding.GLOBAL

    def _define(
        self, sym: GlobalSymbol, obj: ObjectFile, i: int, section: InputSection | None
    ) -> None:
        t = obj.symbols
        sym.file, sym.index, sym.section = obj, i, section
        sym.value = t.value.item(i)  # .item: a Python int without a numpy scalar between
        sym.size = t.size.item(i)
        sym.type = _SYMTYPE.get(t.type.item(i)) or SymType(t.type.item(i))
        sym.absolute = section is None
        sym.common = False
        sym.dso = None
        sym.dynsym = None

    # -- shared libraries and linker-defined symbols ------------------------------------------

    def add_library(self, lib: DynamicLibrary, every_name: bool = True) -> None:
        """Bind the names `lib` exports that nothing defines yet.  With `every_name` False
        (ELF), a global symbol is made only for the names seen so far and for data objects
        (a COPY relocation moves a library object's aliases too: synth.py finds them by
        name); any other name first seen later binds in `intern`.  libc exports some 3,000
        names, most of which a program never mentions."""
        self.libraries.append(lib)
        by_name = self.by_name
        exports = lib.symbols
        for name in self._names_to_bind(exports, every_name):
            sym = by_name.get(name)
            if sym is None:
                sym = self.intern(name)
            dsym = exports[name]
            if sym.file is None and sym.dso is None and not sym.linker_defined:
                sym.dso, sym.dynsym = lib, dsym
                sym.type, sym.size = dsym.type, dsym.size
            elif sym.common and sym.dso is None and dsym.type == SymType.OBJECT:
                if dsym.nobits:  # the library's common: ours absorbs it, at the larger size
                    sym.size = max(sym.size, dsym.size)
                else:  # an initialised definition beats a common (GNU ld)
                    sym.file, sym.section, sym.common = None, None, False
                    sym.index, sym.absolute, sym.referenced = 0, False, True
                    sym.dso, sym.dynsym = lib, dsym
                    sym.type, sym.size = dsym.type, dsym.size

    def _names_to_bind(self, exports: Mapping[str, DynamicSymbol], every_name: bool
                       ) -> Iterable[str]:
        """The names `add_library` binds, in an order that gives new names their ids as
        a walk over all of them would: every name, or (`every_name` False) those seen so
        far and the data objects.  From a LazySymbols, the data objects first, in order,
        then the functions already seen (binding one depends on no other), looked up from
        whichever of the two tables is smaller: libc has 2,500 functions."""
        if every_name:
            return exports
        if not isinstance(exports, LazySymbols):
            by_name = self.by_name
            return [name for name in exports
                    if name in by_name or exports[name].type != SymType.FUNC]
        data = exports.names_not_of_type(SymType.FUNC)
        type_of = exports.type_of
        if len(self.by_name) < len(exports):
            seen = [name for name in self.by_name
                    if name in exports and type_of(name) == SymType.FUNC]
        else:
            by_name = self.by_name
            seen = [name for name in exports.names_of_type(SymType.FUNC) if name in by_name]
        return data + seen

    def bind_versioned_references(self) -> None:
        """References an object pinned to a version (`.symver f, f@VER`, seen here as the
        undefined name "f@VER") bind to that version of a library's export."""
        for sym in self.symbols:
            if "@" not in sym.name or not sym.undefined:
                continue
            for lib in self.libraries:
                dsym = lib.versioned.get(sym.name.replace("@@", "@"))
                if dsym is not None:
                    sym.dso, sym.dynsym = lib, dsym
                    sym.type, sym.size = dsym.type, dsym.size
                    break

    def bind_default_versions(self) -> None:
        """An object's default-version definition `foo@@VER` (`.symver foo_v2, foo@@VER`)
        also defines plain `foo` for the link, as GNU ld has it: a reference to `foo` that
        no object defines binds to it (even over a shared library's `foo`)."""
        for sym in list(self.symbols):
            if sym.file is None or "@@" not in sym.name:
                continue
            plain = self.by_name.get(sym.name.partition("@")[0])
            if plain is None or plain.file is not None or plain.linker_defined:
                continue
            for gids in self.gids:
                gids[gids == plain.id] = sym.id
            sym.referenced |= plain.referenced
            sym.strong_ref |= plain.strong_ref
            plain.referenced = plain.strong_ref = False
            plain.dso, plain.dynsym = None, None

    def define_linker_symbol(self, name: str) -> GlobalSymbol | None:
        """Provide `name` (PROVIDE semantics): only if referenced and defined nowhere else."""
        sym = self.by_name.get(name)
        if sym is None or not sym.referenced or sym.file is not None:
            return None
        sym.linker_defined = True
        sym.dso = None
        sym.dynsym = None
        return sym

    def define_symbols(self, definitions: list[tuple[str, str]]) -> None:
        """--defsym NAME=EXPR, after loading: EXPR is a number (an absolute symbol) or a
        symbol an object defines, optionally plus or minus a number (NAME is then an alias
        in the same section, as GNU ld makes it).  The definition replaces any other."""
        for name, expr in definitions:
            target, offset = parse_defsym_expression(name, expr)
            sym = self.intern(name)
            if target is None:
                sym.file = ObjectFile("--defsym", "", [None], _no_symbols(), ())
                sym.index, sym.section, sym.value, sym.absolute = 0, None, offset, True
                sym.type, sym.size = SymType.NOTYPE, 0
            else:
                base = self.by_name.get(target)
                if base is None or base.file is None or base.common:
                    raise LinkError(f"--defsym {name}={expr}: {target} is not defined by an "
                                    "object (a COMMON, a library's or the linker's symbol "
                                    "cannot be aliased by linkharness)")
                sym.file, sym.index, sym.section = base.file, base.index, base.section
                sym.value, sym.absolute = base.value + offset, base.absolute
                sym.type, sym.size = base.type, 0  # GNU ld gives the alias no size
            sym.common, sym.linker_defined = False, False
            sym.dso, sym.dynsym = None, None
            sym.binding = Binding.GLOBAL

    # -- queries ------------------------------------------------------------------------------

    def strongly_undefined(self) -> set[str]:
        """Names an archive member may be pulled in for."""
        return {s.name for s in self.symbols if s.strong_ref and s.undefined}

    def _relocated_against(self, sym: GlobalSymbol) -> bool:
        """Whether an object's relocation uses `sym` (or the command line names it: -u, the
        entry point); looked up only for a symbol still undefined, so only on failure."""
        objects = [o for o in self.objects if o.path in sym.referrers]
        return len(objects) < len(set(sym.referrers)) or any(
            _uses_undefined(o, sym.name) for o in objects)

    def check_undefined(self) -> None:
        """Report each strongly undefined symbol, one error each (the link's collector
        stops at its error limit)."""
        diagnostics = current()
        missing = [sym for sym in self.symbols
                   if sym.strong_ref and sym.undefined and not self.ignore_undefined
                   and not (self.undefined_needs_relocation
                            and not self._relocated_against(sym))]
        readable = demangled([sym.name for sym in missing[:diagnostics.room]])
        for sym in missing:
            problem = LinkError(
                # GNU ld's phrase leads, with the name demangled as GNU ld shows it: build
                # scripts and people grep for "undefined reference to `ns::f()'"
                f"undefined reference to `{readable.get(sym.name, sym.name)}' (undefined "
                f"symbol, referenced by {', '.join(sym.referrers)})",
                file=sym.referrers[0] if sym.referrers else None, symbol=sym.name)
            if self.warn_undefined:  # the reference then resolves to 0, as ignored ones do
                for d in problem.diagnostics:
                    diagnostics.warn(d)
            else:
                diagnostics.error(problem)
        diagnostics.check()


def _uses_undefined(obj: ObjectFile, name: str) -> bool:
    """Whether a relocation of `obj` names its undefined symbol `name`."""
    table = obj.symbols
    rows = [i for i, n in enumerate(table.names) if n == name and table.section[i] == UNDEF]
    return bool(rows) and any(
        sec is not None and len(sec.relocs) and np.isin(sec.relocs.rows["symbol"], rows).any()
        for sec in obj.sections)


def _finally_defined(sym: GlobalSymbol) -> bool:
    """Strongly defined by an object: nothing in the link replaces that definition."""
    return sym.file is not None and not sym.common and sym.binding == Binding.GLOBAL


def _no_symbols() -> SymbolTableArrays:
    z = np.zeros(0, dtype=np.uint64)
    return SymbolTableArrays([], z, z, z.astype(np.int32), z.astype(np.uint8),
                             z.astype(np.uint8), z.astype(np.uint8))


def _section_name(obj: ObjectFile, i: int) -> str | None:
    shndx = int(obj.symbols.section[i])
    sec = obj.sections[shndx] if 0 <= shndx < len(obj.sections) else None
    return sec.name if sec is not None else None
