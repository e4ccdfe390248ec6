"""Scan: decide, from every relocation, which symbols need a GOT slot, a PLT entry, a COPY
or a dynamic relocation.  Nothing is allocated here (that is synth.py) and nothing is
written (apply.py); this pass only flags, as mold's scan does.

The decision for a relocation against a symbol imported from a shared library, in an
executable, is this table (rows: the relocation's kind; columns: what the import is):

    kind                       | function import            | data import
    ---------------------------+----------------------------+---------------------------
    PLT_PC, PLT_OFF            | PLT entry                  | PLT entry
    GOT_PC, GOT_OFF, GOT_ABS   | GOT slot + GLOB_DAT        | GOT slot + GLOB_DAT
    ABS word-sized, in writable| dynamic word relocation    | dynamic word relocation
    other ABS, PC              | canonical PLT entry        | COPY into .bss
    SIZE                       | (link-time size)           | (link-time size)

A symbol defined in the output needs a GOT slot for GOT kinds (filled at link time), and
nothing else: an executable is not preemptible.

A position-independent executable (`-pie`) is loaded at a base chosen at run time, so every
word that holds an address inside the image needs ld.so to add that base: the PIE column
(symbols defined in the output; imports are decided as above, except that an absolute
reference to one outside a writable word would be a text relocation):

    kind                       | executable (-no-pie)       | PIE, defined symbol
    ---------------------------+----------------------------+---------------------------
    ABS word-sized, writable   | link-time value            | link-time value + RELATIVE
    ABS in read-only, narrower | link-time value            | error: recompile with -fPIE
    GOT_PC, GOT_OFF            | slot filled at link time   | slot + RELATIVE
    GOT_ABS (i386 foo@GOT)     | slot's address             | error: recompile with -fPIE
    PC, PLT_*, TLS, SIZE, SUB  | link-time value            | link-time value
    PC to an undefined weak    | 0 - P + A                  | error: recompile with -fPIE

An absolute symbol (SHN_ABS) and an undefined weak one (0) do not move with the image and
need no RELATIVE.  Only allocated sections are scanned: debug information is never loaded.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from .errors import LinkError
from .kinds import (
    NEEDS_GOT,
    NEEDS_PLT,
    TLS_GOT_KINDS,
    TLS_LD_PAIR,
    TLS_PAIR,
    USES_GOT_BASE,
    Howto,
    RelocKind,
    first_index,
    per_howto_table,
)
from .model import TYPE_IFUNC, InputSection, ObjectFile, SectionFlags, SymType
from .records import dataclass, field
from .reloc_view import RelocView, allocated_relocations
from .resolve import GlobalSymbol, SymbolTable

GotKey = Hashable  # a global id (int), or (object number, symbol index) for a local


@dataclass(frozen=True, slots=True)
class DynamicWordSite:
    """A word in writable data that ld.so must fill with an import's address + addend."""

    section: InputSection
    offset: int
    gid: int
    addend: int


@dataclass(frozen=True, slots=True)
class RelativeSite:
    """A word in writable data, in a PIE, that ld.so must rebase: its link-time value (the
    field as apply.py writes it) plus the load base."""

    section: InputSection
    offset: int


@dataclass
class ScanResult:
    got: list[GotKey] = field(default_factory=list)  # in slot order
    got_index: dict[GotKey, int] = field(default_factory=dict)
    plt: list[int] = field(default_factory=list)  # global ids, in PLT order
    plt_index: dict[int, int] = field(default_factory=dict)
    canonical: set[int] = field(default_factory=set)  # imports whose address is their PLT entry
    copies: list[int] = field(default_factory=list)  # imports copied into the executable
    dynamic_words: list[DynamicWordSite] = field(default_factory=list)
    relative_words: list[RelativeSite] = field(default_factory=list)  # PIE only
    pie: bool = False  # position-independent output: a PIE or a shared object
    shared: bool = False
    # -z notext: a word in a read-only section may get a dynamic relocation (DT_TEXTREL)
    text_relocations_allowed: bool = False
    text_relocations: bool = False  # ... and one did
    # The arch's PIC PLT entry reads the GOT base from a register (i386's %ebx), so it
    # cannot be a function's canonical address in a PIE (ArchTraits.plt_reads_got_register)
    plt_reads_got_register: bool = False
    # Per global id: references must go through ld.so (imports; in a shared object also
    # its undefined symbols and default-visibility exports).  None: only imports.
    preemptible: np.ndarray | None = None
    static_tls: bool = False  # initial-exec TLS in a shared object: DF_STATIC_TLS
    uses_got_base: bool = False
    # Defined STT_GNU_IFUNC symbols, global (by id) or local ((object number, index), as GOT
    # keys): each gets an .iplt entry (its canonical address) whose slot an IRELATIVE
    # relocation fills with what the resolver returns.  The resolver itself is never the
    # target of a reference.
    iplt: list[GotKey] = field(default_factory=list)
    iplt_index: dict[GotKey, int] = field(default_factory=dict)

    def is_preemptible(self, key: object) -> bool:
        """Is this GOT key's symbol bound by ld.so (GLOB_DAT, not a link-time value)?"""
        return isinstance(key, int) and self.preemptible is not None \
            and bool(self.preemptible[key])

    def want_got_pair(self, key: GotKey) -> None:
        """Two consecutive slots (a TLS module id and offset), keyed `key` and
        (TLS_SECOND, key)."""
        if key not in self.got_index:
            self.want_got(key)
            self.want_got((TLS_SECOND, key))

    def want_got(self, key: GotKey) -> None:
        if key not in self.got_index:
            self.got_index[key] = len(self.got)
            self.got.append(key)

    def want_plt(self, gid: int) -> None:
        if gid not in self.plt_index:
            self.plt_index[gid] = len(self.plt)
            self.plt.append(gid)

    def want_iplt(self, key: GotKey) -> None:
        if key not in self.iplt_index:
            self.iplt_index[key] = len(self.iplt)
            self.iplt.append(key)

    def want_copy(self, gid: int) -> None:
        if gid not in self.copies:
            self.copies.append(gid)


def kind_array(howtos: tuple[Howto, ...] | list[Howto]) -> np.ndarray:
    """howto index -> RelocKind, for vectorised masks."""
    return np.array([h.kind for h in howtos], dtype=np.uint8)


@per_howto_table
def _table_kinds(howtos: Sequence[Howto]) -> np.ndarray:
    """kind_array of a table, once per table (read-only)."""
    kinds = kind_array(list(howtos))
    kinds.flags.writeable = False
    return kinds


@per_howto_table
def _table_no_base(howtos: Sequence[Howto]) -> np.ndarray | None:
    """no_base_array of a table, once per table (read-only)."""
    no_base = no_base_array(list(howtos))
    if no_base is not None:
        no_base.flags.writeable = False
    return no_base


def no_base_array(howtos: list[Howto]) -> np.ndarray | None:
    """howto index -> index of its `no_base` form (-1: none), or None if no howto has one."""
    if not any(h.no_base is not None for h in howtos):
        return None
    first = first_index(howtos)
    return np.array([(first[h.no_base] if h.no_base in first else howtos.index(h.no_base))
                     if h.no_base is not None else -1 for h in howtos], dtype=np.int64)


# ModRM with mod = 00 and r/m = 101: a bare 32-bit displacement, no base register (on i386;
# x86-64 reads the same bits as %rip-relative, but no x86-64 howto has a `no_base` form).
_MODRM_MOD_RM = 0xC7
_MODRM_DISP32 = 0x05


def pick_instruction_forms(symtab: SymbolTable) -> None:
    """Settle, before anything reads a kind, the relocations whose kind depends on the
    instruction they patch (howtos with a `no_base` form)."""
    for obj in symtab.objects:
        no_base_of = _table_no_base(obj.howtos)
        if no_base_of is None:
            continue
        for sec in obj.sections:
            if sec is not None and len(sec.relocs):
                pick_no_base_forms(sec, no_base_of)


def pick_no_base_forms(sec: InputSection, no_base_of: np.ndarray) -> None:
    """Switch each relocation whose instruction addresses memory with no base register to
    its howto's `no_base` form, reading the ModRM byte just before the field (as the i386
    psABI prescribes for R_386_GOT32/GOT32X).  A field at offset 0 has no instruction byte
    before it and keeps the table's form.  Idempotent: a `no_base` form has none itself."""
    rows = sec.relocs.rows
    choice = no_base_of[rows["howto"]]
    candidates = np.nonzero((choice >= 0) & (rows["offset"] >= 1))[0]
    if not len(candidates) or sec.data is None:
        return
    code = np.frombuffer(sec.data, dtype=np.uint8)
    modrm = code[rows["offset"][candidates] - 1]
    hits = candidates[(modrm & _MODRM_MOD_RM) == _MODRM_DISP32]
    rows["howto"][hits] = choice[hits]


TLS_GOT = "tls"  # GOT keys ("tls", gid or (object, index)): slots holding S - TP
# A shared object's TLS GOT pairs: ("tlsgd", gid or (object, index)) for a variable,
# ("tlsld",) for the module; the pair's second slot is keyed (TLS_SECOND, first key).
TLS_GD, TLS_LD, TLS_SECOND = "tlsgd", "tlsld", "tls2"
TLS_KEYS = frozenset({TLS_GOT, TLS_GD, TLS_LD, TLS_SECOND})


def is_tls_key(key: object) -> bool:
    return isinstance(key, tuple) and bool(key) and key[0] in TLS_KEYS


def _kind_set(kinds: frozenset[RelocKind]) -> np.ndarray:
    """Lookup table by kind number (read-only): one fancy-index instead of np.isin."""
    table = np.zeros(len(RelocKind), dtype=bool)
    table[[int(k) for k in kinds]] = True
    table.flags.writeable = False
    return table


_NEEDS_GOT, _TLS_PAIR_KIND = _kind_set(NEEDS_GOT), _kind_set(TLS_PAIR)
_USES_GOT_BASE, _ABSOLUTE_KIND = _kind_set(USES_GOT_BASE), _kind_set(frozenset({RelocKind.ABS}))
_GOT_ABS_KIND = _kind_set(frozenset({RelocKind.GOT_ABS, RelocKind.TLS_GOT_ABS}))
_PIE_WORK_KIND = _kind_set(frozenset({RelocKind.ABS, RelocKind.GOT_ABS, RelocKind.TLS_GOT_ABS}))
_PC_KIND = _kind_set(frozenset({RelocKind.PC}))
_LOCAL_EXEC_KIND = _kind_set(frozenset({RelocKind.TLS_TPOFF, RelocKind.TLS_NEG_TPOFF}))


def scan_relocations(symtab: SymbolTable, word: int, *, pie: bool = False,
                     preemptible: np.ndarray | None = None, shared: bool = False,
                     text_relocations: bool = False, plt_reads_got_register: bool = False,
                     view: RelocView | None = None) -> ScanResult:
    """Flag what every allocated relocation needs.  `preemptible` (per global id) says
    which symbols ld.so binds; by default the imports.  `shared`: a shared object (its
    preemptible symbols get no COPY and no canonical PLT entry); `text_relocations`:
    -z notext; `plt_reads_got_register`: the arch's trait of that name.  `view`: the
    link's allocated relocations as they are now, when a pass before has one at hand
    (it only picks the sections to visit: each is then read from its own table)."""
    pick_instruction_forms(symtab)
    if preemptible is None:
        preemptible = np.array([s.imported for s in symtab.symbols], dtype=bool)
    result = ScanResult(pie=pie or shared, shared=shared,
                        text_relocations_allowed=text_relocations, preemptible=preemptible,
                        plt_reads_got_register=plt_reads_got_register)
    imported = preemptible
    ifunc = np.array([s.type == SymType.IFUNC and s.file is not None for s in symtab.symbols],
                     dtype=bool)
    needs_got, tls_pair, uses_base, absolute_kind = \
        _NEEDS_GOT, _TLS_PAIR_KIND, _USES_GOT_BASE, _ABSOLUTE_KIND
    undefined = np.array([s.undefined for s in symtab.symbols], dtype=bool)
    # Which rows need a Python step (a slot, an entry, a dynamic relocation or an error),
    # asked of every row of the link at once; only their sections are walked below.
    if view is None:
        view = allocated_relocations(symtab)
    kinds_all = view.by_howto(_table_kinds)
    targets_all = view.gid
    if uses_base[kinds_all].any():
        result.uses_got_base = True
    known_all = targets_all >= 0
    target_all = np.maximum(targets_all, 0)
    work = needs_got[kinds_all] | tls_pair[kinds_all]
    if ifunc.any():
        work |= known_all & ifunc[target_all]
    local_ifunc_all = (view.symbol_column(symtab.objects, "type") == TYPE_IFUNC) \
        & (view.symbol_column(symtab.objects, "section") >= 0)
    if local_ifunc_all.any():
        work |= ~known_all & local_ifunc_all[view.local]
    work |= known_all & imported[target_all]
    if result.pie:
        work |= _PIE_WORK_KIND[kinds_all] \
            | (_PC_KIND[kinds_all] & known_all & undefined[target_all])
    if shared:
        work |= _LOCAL_EXEC_KIND[kinds_all]
    for number, sec in view.sections_where(work):
        obj, gids = symtab.objects[number], symtab.gids[number]
        kinds_of = _table_kinds(obj.howtos)
        # A local IFUNC (`static int f(void) __attribute__((ifunc(...)))`) is bound like a
        # global one: the symbol's own value is only its resolver.
        local_ifunc = (gids < 0) & (obj.symbols.type == TYPE_IFUNC) & (
            obj.symbols.section >= 0)
        rows = sec.relocs.rows
        kinds = kinds_of[rows["howto"]]
        targets = gids[rows["symbol"]]
        got_rows = np.nonzero(needs_got[kinds])[0]
        for r in got_rows.tolist():
            gid = int(targets[r])
            key: GotKey = gid if gid >= 0 else (number, int(rows["symbol"][r]))
            if int(kinds[r]) in TLS_GOT_KINDS:
                # in a shared object, or to an import: a TPOFF dynamic relocation
                result.static_tls |= shared
                key = (TLS_GOT, key)
            result.want_got(key)
        for r in np.nonzero(tls_pair[kinds])[0].tolist():
            if not shared:
                raise LinkError("general- or local-dynamic TLS left unrelaxed in an "
                                "executable", file=obj.path, section=sec.name,
                                offset=int(rows["offset"][r]))
            gid = int(targets[r])
            local: GotKey = gid if gid >= 0 else (number, int(rows["symbol"][r]))
            result.want_got_pair((TLS_LD,) if int(kinds[r]) in TLS_LD_PAIR
                                 else (TLS_GD, local))
        known = targets >= 0
        if ifunc.any():
            hits = np.zeros(len(rows), dtype=bool)
            hits[known] = ifunc[targets[known]]
            for r in np.nonzero(hits)[0].tolist():
                result.want_iplt(int(targets[r]))
        if local_ifunc.any():
            for index in rows["symbol"][local_ifunc[rows["symbol"]]].tolist():
                result.want_iplt((number, int(index)))
        is_import = np.zeros(len(rows), dtype=bool)
        is_import[known] = imported[targets[known]]
        for r in np.nonzero(is_import)[0].tolist():
            _scan_import(result, obj, sec, rows[r], int(targets[r]), symtab, word)
        if result.pie and SectionFlags.ALLOC in sec.flags:
            absolute = np.nonzero((absolute_kind[kinds] & ~is_import)
                                  | _GOT_ABS_KIND[kinds])[0]
            for r in absolute.tolist():
                _scan_pie_absolute(result, obj, sec, rows[r], int(targets[r]), symtab,
                                   word)
            _refuse_pc_to_undefined(obj, sec, kinds, targets, undefined, symtab)
        if shared:
            _refuse_local_exec(obj, sec, kinds, targets, symtab)
    return result


def _refuse_local_exec(obj: ObjectFile, sec: InputSection, kinds: np.ndarray,
                       targets: np.ndarray, symtab: SymbolTable) -> None:
    """A shared object's TLS block sits at an offset from the thread pointer that only
    ld.so knows: local-exec code (x@tpoff) cannot be linked into one."""
    hits = np.nonzero(_LOCAL_EXEC_KIND[kinds])[0]
    if len(hits):
        row = sec.relocs.rows[int(hits[0])]
        gid = int(targets[int(hits[0])])
        raise LinkError(f"{obj.howtos[int(row['howto'])].name} (local-exec TLS) cannot be "
                        "used when making a shared object; recompile with -fPIC",
                        file=obj.path, section=sec.name, offset=int(row["offset"]),
                        symbol=symtab.symbols[gid].name if gid >= 0
                        else obj.symbols.names[int(row["symbol"])] or None)


def _refuse_pc_to_undefined(obj: ObjectFile, sec: InputSection, kinds: np.ndarray,
                            targets: np.ndarray, undefined: np.ndarray,
                            symtab: SymbolTable) -> None:
    """In a PIE, `lea w(%rip)` of an undefined weak w cannot give 0 (the code moves, 0 does
    not): GNU ld, lld and mold refuse it, and so do we.  A call through the PLT may stay."""
    hits = _PC_KIND[kinds] & (targets >= 0)
    hits[hits] = undefined[targets[hits]]
    if hits.any():
        r = int(np.nonzero(hits)[0][0])
        row = sec.relocs.rows[r]
        howto = obj.howtos[int(row["howto"])]
        raise LinkError(f"{howto.name} against an undefined symbol cannot be used in a "
                        "position-independent executable (its address 0 does not move with "
                        "the code); recompile with -fPIE", file=obj.path, section=sec.name,
                        offset=int(row["offset"]), symbol=symtab.symbols[int(targets[r])].name)


def moves_with_image(symtab: SymbolTable, obj: ObjectFile | None, gid: int, index: int) -> bool:
    """Is the symbol's address inside the image, so that a PIE's load base moves it?  Not
    for an absolute symbol, an undefined (weak) one or an import (ld.so's business)."""
    if gid >= 0:
        sym = symtab.symbols[gid]
        if sym.linker_defined:
            return True
        return sym.file is not None and (sym.common or not sym.absolute)
    assert obj is not None
    return index > 0 and int(obj.symbols.section[index]) >= 0


def _scan_pie_absolute(
    result: ScanResult,
    obj: ObjectFile,
    sec: InputSection,
    row: np.void,
    gid: int,
    symtab: SymbolTable,
    word: int,
) -> None:
    """The PIE column for an absolute reference to a symbol defined in the output."""
    index = int(row["symbol"])
    howto = obj.howtos[int(row["howto"])]
    # A GOT slot's own address (i386 `foo@GOT`, no base register) moves whatever foo is.
    if howto.kind not in (RelocKind.GOT_ABS, RelocKind.TLS_GOT_ABS) \
            and not moves_with_image(symtab, obj, gid, index):
        return
    if howto.kind == RelocKind.ABS and howto.width == word and _dynamic_word_ok(result, sec):
        result.relative_words.append(RelativeSite(sec, int(row["offset"])))
        return
    name = symtab.symbols[gid].name if gid >= 0 else (obj.symbols.names[index] or sec.name)
    output = "a shared object" if result.shared else "a position-independent executable"
    where = "a read-only section" if howto.width == word else output
    raise LinkError(f"{howto.name} against a local or defined symbol cannot be used in {where} "
                    f"(it would need a text relocation); recompile with {_pic_flag(result)}",
                    file=obj.path, section=sec.name, offset=int(row["offset"]), symbol=name)


def _pic_flag(result: ScanResult) -> str:
    return "-fPIC" if result.shared else "-fPIE"


def _dynamic_word_ok(result: ScanResult, sec: InputSection) -> bool:
    """May ld.so write this word?  In writable data always; in a read-only section only
    under -z notext (a text relocation: ld.so makes the segment writable meanwhile)."""
    if SectionFlags.WRITE in sec.flags:
        return True
    if result.text_relocations_allowed:
        result.text_relocations = True
        return True
    return False


def _scan_import(
    result: ScanResult,
    obj: ObjectFile,
    sec: InputSection,
    row: np.void,
    gid: int,
    symtab: SymbolTable,
    word: int,
) -> None:
    howto = obj.howtos[int(row["howto"])]
    kind = howto.kind
    sym = symtab.symbols[gid]
    is_func = sym.type == SymType.FUNC
    if result.shared:
        _scan_preemptible_in_shared(result, obj, sec, row, sym, howto, word)
        return
    if kind in NEEDS_PLT:
        result.want_plt(gid)
    elif kind in NEEDS_GOT or kind == RelocKind.SIZE or kind == RelocKind.NONE:
        pass  # GOT slot already wanted; sizes are known at link time
    elif kind == RelocKind.ABS and howto.width == word and SectionFlags.WRITE in sec.flags:
        result.dynamic_words.append(
            DynamicWordSite(sec, int(row["offset"]), gid, int(row["addend"]))
        )
    elif result.pie and kind == RelocKind.ABS:
        raise LinkError(f"{howto.name} against a symbol imported from "
                        f"{sym.dso.soname if sym.dso else '?'} cannot be used in a "
                        "position-independent executable (it would need a text relocation); "
                        "recompile with -fPIE", file=obj.path, section=sec.name,
                        offset=int(row["offset"]), symbol=sym.name)
    elif kind in (RelocKind.ABS, RelocKind.PC):
        if is_func and result.pie and result.plt_reads_got_register:
            raise LinkError(f"{howto.name} to a function imported from "
                            f"{sym.dso.soname if sym.dso else '?'} would need a canonical PLT "
                            "entry, which an i386 PIE's PLT cannot be (it reads %ebx); "
                            "recompile with -fPIE", file=obj.path, section=sec.name,
                            offset=int(row["offset"]), symbol=sym.name)
        if is_func:
            result.want_plt(gid)
            result.canonical.add(gid)
        else:
            result.want_copy(gid)
    else:
        raise LinkError(
            f"{howto.name} cannot refer to a symbol imported from {sym.dso.soname if sym.dso else '?'}",
            file=obj.path,
            section=sec.name,
            offset=int(row["offset"]),
            symbol=sym.name,
        )


def _scan_preemptible_in_shared(result: ScanResult, obj: ObjectFile, sec: InputSection,
                                row: np.void, sym: GlobalSymbol, howto: Howto,
                                word: int) -> None:
    """A shared object's reference to a symbol ld.so binds (an import, an undefined
    symbol or a preemptible definition):

        kind                        | shared object
        ----------------------------+------------------------------------------------
        PLT_PC, PLT_OFF             | PLT entry (JUMP_SLOT)
        GOT_PC, GOT_OFF             | GOT slot + GLOB_DAT
        ABS word-sized, writable    | symbolic dynamic relocation (R_X86_64_64, R_386_32)
        ABS word-sized, read-only   | error (-z notext: the same, and DT_TEXTREL)
        other ABS, PC, GOTOFF, ...  | error: recompile with -fPIC
        SIZE, NONE                  | link-time value

    No COPY and no canonical PLT entry: those belong to executables."""
    kind = howto.kind
    if kind in NEEDS_PLT:
        result.want_plt(sym.id)
    elif kind in NEEDS_GOT or kind in TLS_PAIR or kind in (RelocKind.SIZE, RelocKind.NONE):
        pass  # the slot (pair) is wanted already; ld.so fills it
    elif kind == RelocKind.ABS and howto.width == word and _dynamic_word_ok(result, sec):
        result.dynamic_words.append(
            DynamicWordSite(sec, int(row["offset"]), sym.id, int(row["addend"])))
    else:
        what = "a preemptible symbol" if sym.defined else "an undefined symbol"
        raise LinkError(f"{howto.name} against {what} cannot be used when making a shared "
                        "object (ld.so may bind it elsewhere"
                        + (", and the section is read-only" if kind == RelocKind.ABS else "")
                        + "); recompile with -fPIC", file=obj.path, section=sec.name,
                        offset=int(row["offset"]), symbol=sym.name)
