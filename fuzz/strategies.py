"""Hypothesis strategies that draw program models (fuzz.model), valid and erroneous.

A valid program is drawn in three passes: symbols (functions with a rank, data items,
absolute symbols) and where they live; then the bodies, whose calls only go to functions of
higher rank (so every program terminates); then the sections that hold everything.
Visibility follows the model's rules: a local symbol is seen only from its own object, and a
COMDAT function's body references only global symbols and imports (its copies must be
identical in every object that carries one).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from hypothesis import assume
from hypothesis import strategies as st

from . import libtrace
from .draws import Choices, choices_of, selections
from .model import (
    AbsSymbol,
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    Const,
    DataItem,
    ErrorKind,
    Field,
    Function,
    IfOdd,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    SelfRel,
    Step,
    Store,
)
from .semantics import TooBusy, outcome

ALIGNS = (1, 2, 4, 8, 16, 32, 64, 256, 4096)
SECTION_NAMES = {
    SectionKind.TEXT: (".text", ".text.lh_hot", "lh_code"),
    SectionKind.DATA: (".data", ".data.lh_rel", "lh_data"),
    SectionKind.RODATA: (".rodata", ".rodata.lh_cst", "lh_const"),
    SectionKind.BSS: (".bss", ".bss.lh_zero"),
}
FUNCTION_FORMS = ("global", "local", "weak", "weak_overridden", "comdat")
# An imported object has no fixed offset from the GOT base (GOTOFF64 needs it in the output).
IMPORT_ADDR_VIA = tuple(v for v in AddrVia if v is not AddrVia.GOT_BASE)
# Strategies built once (building them inside every draw costs more than drawing).
CALL_VIA = tuple(CallVia)
ADDR_VIA = tuple(AddrVia)
IMPORT_VIA = IMPORT_ADDR_VIA
NARROW_UNCHECKED_BY = frozenset({"gold"})  # linkers that truncate R_X86_64_8/16 silently
# the libtrace libraries a program links against: two or three of them, in order
LIBRARY_SETS = ((1, 2), (1, 3), (2, 3), (1, 2, 3))
BINDINGS = (Binding.GLOBAL, Binding.LOCAL, Binding.WEAK)
DATA_FORMS = ("data", "rodata", "bss", "common", "table_data", "table_rodata")


@dataclass
class FuncSym:
    """A logical function: one name, one or more definitions (weak + strong, COMDAT copies)."""

    name: str
    rank: int
    form: str
    objects: list[int]  # defining objects; for weak_overridden [weak, strong]


@dataclass
class DataSym:
    name: str
    form: str
    owner: int
    binding: Binding
    fields: tuple[Field, ...] = ()
    align: int = 4
    commons: tuple[tuple[int, int], ...] = ()  # more COMMON declarations: (object, words)


@dataclass
class Draft:
    n_objects: int
    libraries: tuple[int, ...]
    funcs: list[FuncSym] = field(default_factory=list)
    data: list[DataSym] = field(default_factory=list)
    absolutes: list[tuple[int, AbsSymbol]] = field(default_factory=list)
    menus: dict[tuple[int, int, bool], _Menu] = field(default_factory=dict)  # see _menu

    def __post_init__(self) -> None:
        # the libraries' functions and data, asked for at every import step
        self._imports = (_imports(self.libraries, False), _imports(self.libraries, True))

    def imports(self, functions: bool) -> tuple[libtrace.Import, ...]:
        return self._imports[functions]

    def visible_funcs(self, owner: int, rank: int, globals_only: bool) -> list[FuncSym]:
        return [f for f in self.funcs if f.rank > rank
                and (f.form != "local" or (not globals_only and f.objects[0] == owner))]

    def visible_data(self, owner: int, globals_only: bool) -> list[DataSym]:
        return [d for d in self.data
                if d.binding is not Binding.LOCAL or (not globals_only and d.owner == owner)]


@functools.lru_cache(maxsize=64)
def _imports(libraries: tuple[int, ...], functions: bool) -> tuple[libtrace.Import, ...]:
    """The functions (or data) of `libraries`, listed once per set of libraries."""
    return tuple(i for i in libtrace.catalogue()
                 if i.library in libraries and i.is_function == functions)


def _draw_symbols(draw: Choices, d: Draft) -> None:
    n = d.n_objects
    d.funcs.append(FuncSym("lh_main", 0, "global", [draw.integer(0, n - 1)]))
    for rank in range(1, draw.integer(1, 6) + 1):
        form = draw.pick(FUNCTION_FORMS)
        if form == "weak_overridden" or form == "comdat":
            most = 2 if form == "weak_overridden" else n
            objs = list(draw.pick(selections(tuple(range(n)), 2, most)))
        else:
            objs = [draw.integer(0, n - 1)]
        if form == "local":  # static functions of different objects share names
            name = f"lh_s{sum(f.form == 'local' and f.objects == objs for f in d.funcs)}"
        else:
            name = f"lh_f{rank}"
        d.funcs.append(FuncSym(name, rank, form, objs))
    for i in range(draw.integer(0, 2)):
        d.absolutes.append((draw.integer(0, n - 1),
                            AbsSymbol(f"lh_k{i}", draw.integer(0, 0x7F))))
    for i in range(draw.integer(1, 5)):
        form = draw.pick(DATA_FORMS)
        binding = Binding.GLOBAL if form == "common" else draw.pick(BINDINGS)
        name = f"lh_v{i}" if binding is not Binding.LOCAL else f"lh_w{i}"
        owner = draw.integer(0, n - 1)
        d.data.append(DataSym(name, form, owner, binding,
                              align=draw.pick((1, 4, 8, 16, 64))))
        if binding is Binding.GLOBAL and form in ("common", "data", "bss"):
            # the same name as COMMON in other objects: merged, or overridden by the
            # definition (word counts are drawn later, at most the definition's)
            others = draw.pick(selections(tuple(o for o in range(n) if o != owner), 0, 2))
            d.data[-1].commons = tuple((o, 0) for o in others)


def _draw_fields(draw: Choices, d: Draft, sym: DataSym) -> tuple[Field, ...]:
    count = draw.integer(1, 4)
    if sym.form in ("bss", "common"):
        return tuple(Const(4, 0) for _ in range(count))
    if sym.form.startswith("table"):
        # Pointers to functions visible from the table's object (imports only in writable
        # data: a read-only pointer to an import would need a text relocation).
        funcs = [f.name for f in d.visible_funcs(sym.owner, 0, False)]
        if sym.form == "table_data":
            funcs += [i.name for i in d.imports(True)]
        assume(funcs)
        entries = [draw.pick(funcs) for _ in range(count)]
        # 4-byte entries (R_X86_64_32) only for our own functions, which live below 4 GiB
        # in a non-PIE executable; an import's address is only known at run time.
        return tuple(Ref(8 if e in libtrace.IMPORTS or draw.pick((False, True)) else 4, e)
                     for e in entries)
    abs_names = [a for _, a in d.absolutes]
    out: list[Field] = []
    for _ in range(count):
        choice = draw.integer(0, 4 if abs_names else 2)
        if choice == 0:
            out.append(Const(4, draw.integer(0, 0xFFFFFFFF)))
        elif choice == 1:
            out.append(Const(8, draw.integer(0, 2**64 - 1)))
        elif choice == 2:  # pc-relative to its own item: R_X86_64_PC8/16/32/64
            out.append(SelfRel(draw.pick((1, 2, 4, 8)), draw.integer(-16, 40)))
        else:
            a = draw.pick(abs_names)
            width = draw.pick((1, 2, 4))
            room = (1 << (8 * width)) - 1 - a.value
            out.append(Ref(width, a.name, draw.integer(0, min(room, 0x7F))))
    return tuple(out)


def _loadable(d: Draft, sym: DataSym) -> list[int]:
    return [i for i, f in enumerate(sym.fields)
            if isinstance(f, Const | SelfRel) or isinstance(f, Ref)
            and not sym.form.startswith("table")]


@dataclass(frozen=True)
class _Menu:
    """What a step of a body may use: the same for every step of every body with the same
    owner, rank and visibility (symbols and data fields are all drawn before the bodies)."""

    funcs: list[FuncSym]
    tables: list[DataSym]
    loads: list[DataSym]
    stores: list[DataSym]
    kinds: tuple[str, ...]


def _menu(d: Draft, owner: int, rank: int, globals_only: bool) -> _Menu:
    key = (owner, rank, globals_only)
    found = d.menus.get(key)
    if found is not None:
        return found
    funcs = d.visible_funcs(owner, rank, globals_only)
    data = d.visible_data(owner, globals_only)
    tables = [t for t in data if t.form.startswith("table")
              and any(_callable_from(d, t, i, rank) for i in range(len(t.fields)))]
    loads = [x for x in data if _loadable(d, x)]
    stores = [x for x in data if x.form in ("data", "bss", "common") and
              any(isinstance(f, Const) and f.width == 4 for f in x.fields)]
    kinds = ["import"] * 3 + ["load_import"] + ["call"] * 2 * bool(funcs) + ["table"] * bool(tables)
    kinds += ["load"] * bool(loads) + ["store"] * bool(stores) + ["store_import"]
    d.menus[key] = _Menu(funcs, tables, loads, stores, tuple(kinds))
    return d.menus[key]


def _draw_step(draw: Choices, d: Draft, owner: int, rank: int, globals_only: bool) -> Step:
    menu = _menu(d, owner, rank, globals_only)
    funcs, tables, loads, stores = menu.funcs, menu.tables, menu.loads, menu.stores
    kind = draw.pick(menu.kinds)
    step: Step
    if kind == "import":
        target = draw.pick(d.imports(True)).name
        step = Call(target, draw.pick(CALL_VIA), _args(draw))
    elif kind == "call":
        step = Call(draw.pick(funcs).name, draw.pick(CALL_VIA))
    elif kind == "table":
        t = draw.pick(tables)
        index = draw.pick([i for i in range(len(t.fields)) if _callable_from(d, t, i, rank)])
        step = CallTable(t.name, index, draw.pick(ADDR_VIA), _args(draw))
    elif kind == "load_import":
        imp = draw.pick(d.imports(False))
        step = Load(imp.name, draw.integer(0, imp.size // 4 - 1),
                    draw.pick(IMPORT_VIA))
    elif kind == "store_import":  # into the executable's copy, or the library's own data
        imp = draw.pick(d.imports(False))
        step = Store(imp.name, draw.integer(0, imp.size // 4 - 1),
                     draw.pick(IMPORT_VIA))
    elif kind == "load":
        x = draw.pick(loads)
        step = Load(x.name, draw.pick(_loadable(d, x)), draw.pick(ADDR_VIA))
    else:
        x = draw.pick(stores)
        index = draw.pick([i for i, f in enumerate(x.fields)
                            if isinstance(f, Const) and f.width == 4])
        step = Store(x.name, index, draw.pick(ADDR_VIA))
    return IfOdd(step) if draw.integer(0, 3) == 0 else step


def _args(draw: Choices) -> tuple[int, ...]:
    """Five 32-bit call arguments, cut out of one 160-bit draw (one choice, not five: the
    arguments only travel to the trace, and shrinking still takes them all to 0)."""
    packed = draw.integer(0, (1 << 160) - 1)
    return tuple((packed >> (32 * i)) & 0xFFFFFFFF for i in range(5))


def _callable_from(d: Draft, table: DataSym, index: int, rank: int) -> bool:
    target = table.fields[index]
    assert isinstance(target, Ref)
    if target.target in libtrace.IMPORTS:
        return True
    return next(f.rank for f in d.funcs if f.name == target.target and (
        f.form != "local" or f.objects[0] == table.owner)) > rank


def _draw_body(draw: Choices, d: Draft, owner: int, f: FuncSym, globals_only: bool
               ) -> tuple[int, tuple[Step, ...]]:
    size = draw.integer(1 if f.rank else 2, 4)
    steps = tuple(_draw_step(draw, d, owner, f.rank, globals_only) for _ in range(size))
    return draw.integer(0, 0xFFFFFFFF), steps


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A valid program: links everywhere, and `semantics.outcome` says what it does.
    Its choices are read from byte blocks (draws.ByteChoices: two or three engine choices
    per model instead of about 160)."""
    return draw_program(draw)


def draw_program(composite_draw: st.DrawFn) -> Program:
    """What programs() draws, called with a composite's `draw`: for a strategy that draws
    a program and more (fuzz.pipeline.linkharness_cases) without a nested strategy draw,
    which Hypothesis validates and records each time."""
    draw = choices_of(composite_draw)
    n = draw.integer(2, 4)
    libs = draw.pick(LIBRARY_SETS)
    d = Draft(n, libs)
    _draw_symbols(draw, d)
    for sym in d.data:
        sym.fields = _draw_fields(draw, d, sym)
        most = len(sym.fields) if sym.form == "common" else 4
        sym.commons = tuple((o, draw.integer(1, most)) for o, _ in sym.commons)
    functions: list[list[Function]] = [[] for _ in range(n)]
    text_sections: list[dict[str, Section]] = [{} for _ in range(n)]
    for f in d.funcs:
        comdat = f.form == "comdat"
        shared = _draw_body(draw, d, f.objects[0], f, True) if comdat else None
        for k, owner in enumerate(f.objects):
            seed, steps = shared or _draw_body(draw, d, owner, f, False)
            binding = {"local": Binding.LOCAL, "weak": Binding.WEAK}.get(f.form, Binding.GLOBAL)
            if f.form == "weak_overridden" and k == 0:
                binding = Binding.WEAK
            if comdat:
                sec = Section(f".text.{f.name}", SectionKind.TEXT, 16, group=f.name)
            else:
                name = draw.pick(SECTION_NAMES[SectionKind.TEXT])
                sec = text_sections[owner].setdefault(
                    name, Section(name, SectionKind.TEXT, draw.pick(ALIGNS[:6])))
            text_sections[owner][sec.name] = sec
            align = draw.pick((1, 16))
            functions[owner].append(Function(f.name, binding, sec.name, align, seed, steps))
    objects = [_object(draw, d, i, functions[i], text_sections[i]) for i in range(n)]
    program = Program(tuple(objects), libs)
    try:
        outcome(program)
    except TooBusy:
        assume(False)
    return program


def _object(draw: Choices, d: Draft, owner: int, functions: list[Function],
            text: dict[str, Section]) -> ObjectModel:
    sections = dict(text)
    items: list[DataItem] = []
    kind_of = {"data": SectionKind.DATA, "table_data": SectionKind.DATA, "bss": SectionKind.BSS,
               "rodata": SectionKind.RODATA, "table_rodata": SectionKind.RODATA}
    for sym in d.data:
        items += [DataItem(sym.name, Binding.GLOBAL, None, 4, (Const(4, 0),) * words)
                  for o, words in sym.commons if o == owner]
        if sym.owner != owner:
            continue
        if sym.form == "common":
            items.append(DataItem(sym.name, Binding.GLOBAL, None, sym.align, sym.fields))
            continue
        kind = kind_of[sym.form]
        name = draw.pick(SECTION_NAMES[kind])
        if name not in sections:
            sections[name] = Section(name, kind, draw.pick(ALIGNS))
        elif sections[name].kind is not kind:  # a name already used for another kind
            name = f"{name}.{kind.value}"
            sections.setdefault(name, Section(name, kind, 8))
        items.append(DataItem(sym.name, sym.binding, name, sym.align, sym.fields))
    absolutes = tuple(a for o, a in d.absolutes if o == owner)
    return ObjectModel(f"o{owner}", tuple(sections.values()), tuple(functions), tuple(items),
                       absolutes)


@st.composite
def error_programs(draw: st.DrawFn) -> Program:
    """A program every linker must refuse, with the culprit symbol named."""
    base = draw(programs())
    kind = draw(st.sampled_from(ErrorKind))
    objs = list(base.objects)
    target = draw(st.integers(0, len(objs) - 1))
    obj = objs[target]
    if kind is ErrorKind.UNDEFINED:
        culprit = "lh_missing"
        fn = Function("lh_needs_missing", Binding.GLOBAL, ".text.lh_err", 1, 0,
                      (Call(culprit, draw(st.sampled_from(CallVia))),))
        extra = Section(".text.lh_err", SectionKind.TEXT, 16)
        objs[target] = replace(obj, sections=(*obj.sections, extra),
                               functions=(*obj.functions, fn))
    elif kind is ErrorKind.DUPLICATE:
        # a second strong definition of a strong global function, in an object that does
        # not define the name yet (a symbol table holds each name once)
        strong = [f.name for o in objs for f in o.functions if f.binding is Binding.GLOBAL
                  and not any(s.group for s in o.sections if s.name == f.section)]
        culprit = draw(st.sampled_from(sorted(set(strong))))
        free = [i for i, o in enumerate(objs)
                if all(f.name != culprit for f in o.functions)]
        assume(free)
        dup_owner = draw(st.sampled_from(free))
        fn = Function(culprit, Binding.GLOBAL, ".text.lh_dup", 1, 1, ())
        dup = objs[dup_owner]
        target = dup_owner
        objs[dup_owner] = replace(dup, sections=(*dup.sections, Section(
            ".text.lh_dup", SectionKind.TEXT, 16)), functions=(*dup.functions, fn))
    else:
        # An 8-bit field cannot hold the address of a function, nor a 32-bit one that
        # address plus 4 GiB.  (gold lets the 8-bit one through: see NARROW_UNCHECKED_BY.)
        culprit = "lh_main"
        field = draw(st.sampled_from((Ref(1, culprit), Ref(4, culprit, 1 << 32))))
        item = DataItem("lh_narrow", Binding.GLOBAL, ".data.lh_narrow", 1, (field,))
        objs[target] = replace(obj, sections=(*obj.sections, Section(
            ".data.lh_narrow", SectionKind.DATA, 1)), data=(*obj.data, item))
    return Program(tuple(objs), base.libraries, error=kind, culprit=culprit,
                   culprit_object=objs[target].name)
