"""Linker features beyond relocation and resolution (x86-64 ELF): self-checking programs.

A case draws any of these, across two or three objects, and the program checks each one
itself; its exit status is 0 when every check held, else 1 + the number of the first check
that failed (the bits below); in a dynamic link the whole mask also goes to libtrace1's
`lt1_f1_a1`, so it is in the trace.  The model is simply "every check holds": what each
check expects is computed here from the case.

- IFUNC (`@gnu_indirect_function`) in a static link (the program applies
  `__rela_iplt_start..__rela_iplt_end` itself, as a libc's static start does) and in a
  dynamic one (ld.so applies the IRELATIVEs): called directly, through the GOT, through an
  address taken with `lea` or stored in data; every address taken of one IFUNC is the same
  (bits 1, 2);
- constructors in `.init_array[.N]` and `.ctors[.N]` (the program walks
  `__init_array_start..__init_array_end`): the order GNU ld's script gives, by priority
  (`.ctors.M` at 65535 - M, its words reversed), then unnumbered ones in input order (bits 4,
  8);
- SHF_MERGE strings (`.rodata.str1.1`, shared tails and duplicates across objects) reached
  at drawn offsets through pc-relative, absolute and data references, by local label or
  global name, and `.rodata.cst8` constants (bits 16, 32);
- `__start_lh_set`/`__stop_lh_set` around one section's pieces from every object (64, 128);
- hidden symbols (STV_HIDDEN) reached through the GOT, the PLT or directly, and in a dynamic
  link a hidden definition of a name libtrace1.so exports, which must bind locally and not
  be exported even with --export-dynamic (bits 256, 512);
- the objects after the first as plain inputs, one archive (`ar rcs`), a thin archive
  (`ar rcsT`), an archive without an index (`ar rcS`), a GNU ld script `INPUT(...)`, or one
  archive per object in a script's `GROUP(...)` where each member needs the one before it
  (only rescanning the group finds them): a chain of calls through every object (bit 1024);
- .eh_frame from `.cfi_*` functions in every object, and --eh-frame-hdr: the program finds
  PT_GNU_EH_FRAME through `__ehdr_start`'s program headers, checks the header's encodings,
  the FDE count and the table's order, and finds each function's FDE by binary-search key
  (datarel) and its pc_begin (pcrel) pointing back at the function (bits 4096, 8192);
- -z relro in a dynamic link: `.data.rel.ro` and `_DYNAMIC` are read-only once ld.so has
  run (the kernel refuses to write a clock_gettime result there: -EFAULT) (bit 2048).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

IFUNC_FORMS = ("call", "got_call", "lea", "got_load", "data")
ADDRESS_FORMS = frozenset({"lea", "got_load", "data"})  # forms that take the address
PACKAGINGS = ("objects", "archive", "thin", "no_index", "script_input", "script_group")
MERGE_FORMS = ("pc_rel", "abs32", "data64")
HIDDEN_FORMS = ("direct", "got", "plt")
MERGE_POOL = ("linkharness", "harness", "ness", "link", "ink", "lh", "h", "")
SHADOWED = "lt1_f0_a0"  # a libtrace1.so export that a hidden definition shadows

BITS = {"ifunc_value": 1, "ifunc_address": 2, "init_order": 4, "init_count": 8,
        "merge_string": 16, "merge_constant": 32, "set_size": 64, "set_sum": 128,
        "hidden_value": 256, "hidden_shadow": 512, "chain": 1024, "relro": 2048,
        "eh_frame_hdr": 4096, "eh_frame_fde": 8192}


@dataclass(frozen=True)
class Ifunc:
    owner: int
    value: int
    uses: tuple[tuple[int, str], ...]  # (from object, form)


@dataclass(frozen=True)
class InitSection:
    owner: int
    kind: str  # "init_array" | "ctors"
    priority: int | None  # the effective (init_array) priority; None: unnumbered
    ids: tuple[int, ...]  # constructor ids, in the section's word order

    @property
    def name(self) -> str:
        if self.priority is None:
            return f".{self.kind}"
        number = self.priority if self.kind == "init_array" else 65535 - self.priority
        return f".{self.kind}.{number:05d}"


@dataclass(frozen=True)
class MergeString:
    owner: int
    text: str
    named: bool  # a global name (referenced by name) or a local label (section + addend)
    middle: int = 0  # > 0: a second label this far into the string (a symbol inside a piece)


@dataclass(frozen=True)
class MergeUse:
    string: int
    offset: int  # within the string, 0..len
    form: str
    from_object: int
    from_middle: bool = False  # reached from the string's middle label (offset >= middle)


@dataclass(frozen=True)
class Hidden:
    owner: int
    function: bool
    value: int
    uses: tuple[tuple[int, str], ...]  # (from object, form)


@dataclass(frozen=True)
class FeatureCase:
    objects: int  # 2 or 3
    dynamic: bool
    ifuncs: tuple[Ifunc, ...] = ()
    inits: tuple[InitSection, ...] = ()
    strings: tuple[MergeString, ...] = ()
    string_uses: tuple[MergeUse, ...] = ()
    constants: tuple[tuple[int, int, int], ...] = ()  # (owner, value, from object)
    set_pieces: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (owner, quads)
    hidden: tuple[Hidden, ...] = ()
    shadow: bool = False  # a hidden SHADOWED in object 0 (dynamic only)
    packaging: str = "objects"
    relro: bool = False  # dynamic only
    export_dynamic: bool = False
    unwind: tuple[int, ...] = ()  # the owner of each function with CFI (`lh_cfik`)
    eh_frame_hdr: bool = False  # --eh-frame-hdr: the program finds each FDE through it

    def init_order(self) -> tuple[int, ...]:
        """The constructors' run order: prioritized sections by priority (a .ctors section's
        words reversed), then the unnumbered ones in input order."""
        ranked = sorted((s for s in self.inits if s.priority is not None),
                        key=lambda s: s.priority or 0)
        plain = [s for s in self.inits if s.priority is None]
        order: list[int] = []
        for s in [*ranked, *sorted(plain, key=lambda s: s.owner)]:
            order += reversed(s.ids) if s.kind == "ctors" else s.ids
        return tuple(order)

    def hidden_names(self) -> tuple[str, ...]:
        names = [hidden_name(k, h) for k, h in enumerate(self.hidden)]
        return (*names, SHADOWED) if self.shadow else tuple(names)


def hidden_name(k: int, h: Hidden) -> str:
    return f"lh_hid{'f' if h.function else 'd'}{k}"


def _word(draw: st.DrawFn) -> int:
    return draw(st.integers(1, 0x7FFFFFFF))


@st.composite
def feature_cases(draw: st.DrawFn) -> FeatureCase:
    n = draw(st.integers(2, 3))
    dynamic = draw(st.booleans())
    obj = st.integers(0, n - 1)
    packaging = draw(st.sampled_from(PACKAGINGS))
    ifuncs = tuple(
        Ifunc(draw(obj), _word(draw),
              tuple(draw(st.lists(st.tuples(obj, st.sampled_from(IFUNC_FORMS)), min_size=1,
                                  max_size=4))))
        for _ in range(draw(st.integers(0, 2))))
    inits = _draw_inits(draw, n, packaging)
    strings = []
    for _ in range(draw(st.integers(0, 5))):
        text = draw(st.sampled_from(MERGE_POOL))
        strings.append(MergeString(draw(obj), text, draw(st.booleans()),
                                   draw(st.integers(0, len(text) - 1)) if len(text) > 1 else 0))
    uses: list[MergeUse] = []
    for _ in range(draw(st.integers(0, 5)) if strings else 0):
        k = draw(st.integers(0, len(strings) - 1))
        offset = draw(st.integers(0, len(strings[k].text)))
        uses.append(MergeUse(k, offset, draw(st.sampled_from(MERGE_FORMS)), draw(obj),
                             0 < strings[k].middle <= offset and draw(st.booleans())))
    constants = tuple((draw(obj), draw(st.sampled_from((0, 1, 0x1122334455667788, 2**64 - 1))),
                       draw(obj)) for _ in range(draw(st.integers(0, 3))))
    pieces = tuple((draw(obj), tuple(_word(draw) for _ in range(draw(st.integers(1, 3)))))
                   for _ in range(draw(st.integers(0, 3))))
    hidden = tuple(
        Hidden(draw(obj), fn := draw(st.booleans()), _word(draw),
               tuple(draw(st.lists(st.tuples(obj, st.sampled_from(
                   HIDDEN_FORMS if fn else ("direct", "got"))), min_size=1, max_size=3))))
        for _ in range(draw(st.integers(0, 2))))
    return FeatureCase(n, dynamic, ifuncs, inits, tuple(strings), tuple(uses), constants, pieces,
                       hidden, dynamic and draw(st.booleans()), packaging,
                       dynamic and draw(st.booleans()), dynamic and draw(st.booleans()),
                       tuple(draw(st.lists(obj, max_size=3))), draw(st.booleans()))


def _draw_inits(draw: st.DrawFn, n: int, packaging: str) -> tuple[InitSection, ...]:
    """Constructor sections with distinct priorities; unnumbered ones only where the input
    order is the model's (plain objects, a script's INPUT), else in object 0 alone (the
    order archive members are loaded in differs between linkers)."""
    count = draw(st.integers(0, 4))
    priorities = draw(st.lists(st.integers(101, 65000), min_size=count, max_size=count,
                               unique=True))
    ordered = packaging in ("objects", "script_input")
    sections: list[InitSection] = []
    next_id = 1
    seen_plain: set[tuple[int, str]] = set()
    for priority in priorities:
        kind = draw(st.sampled_from(("init_array", "ctors")))
        numbered = draw(st.booleans())
        owner = draw(st.integers(0, n - 1)) if numbered or ordered else 0
        if not numbered and (owner, kind) in seen_plain:
            continue  # one unnumbered section per kind per object: its order is the model's
        ids = tuple(range(next_id, next_id + draw(st.integers(1, 3))))
        next_id += len(ids)
        if not numbered:
            seen_plain.add((owner, kind))
        sections.append(InitSection(owner, kind, priority if numbered else None, ids))
    return tuple(sections)


# Every feature and form at least once, for the properties and the harness-power tests.
SAMPLES = (
    FeatureCase(
        3, False,
        ifuncs=(Ifunc(1, 0x1234567, ((0, "call"), (0, "got_call"), (2, "lea"), (0, "data"),
                                     (0, "got_load"), (1, "lea"))),
                Ifunc(0, 0x7654321, ((2, "got_call"), (2, "got_load"), (0, "lea")))),
        inits=(InitSection(0, "init_array", None, (1, 2)), InitSection(1, "ctors", None, (3, 4)),
               InitSection(2, "init_array", 500, (5, 6)), InitSection(1, "ctors", 300, (7, 8)),
               InitSection(0, "init_array", 200, (9,)), InitSection(2, "init_array", None, (10,))),
        strings=(MergeString(0, "linkharness", False, 4), MergeString(1, "harness", True),
                 MergeString(2, "linkharness", True, 4), MergeString(1, "ink", False),
                 MergeString(2, "", False)),
        string_uses=(MergeUse(0, 4, "pc_rel", 0), MergeUse(1, 0, "abs32", 2),
                     MergeUse(2, 11, "data64", 1), MergeUse(3, 1, "pc_rel", 1),
                     MergeUse(2, 3, "pc_rel", 0), MergeUse(4, 0, "abs32", 0),
                     MergeUse(0, 7, "data64", 0), MergeUse(0, 6, "abs32", 0, True),
                     MergeUse(2, 4, "pc_rel", 1, True), MergeUse(2, 8, "data64", 0, True)),
        constants=((1, 0x1122334455667788, 0), (2, 0x1122334455667788, 1), (0, 1, 2)),
        set_pieces=((0, (5, 6)), (1, (7,)), (2, (8, 9, 10))),
        hidden=(Hidden(1, True, 0x4242, ((0, "plt"), (0, "got"), (2, "direct"))),
                Hidden(2, False, 0x5151, ((0, "got"), (1, "direct")))),
        packaging="objects"),
    FeatureCase(
        3, True,
        ifuncs=(Ifunc(2, 0x2468, ((0, "call"), (0, "lea"), (1, "got_load"), (1, "data"),
                                  (0, "got_call"))),),
        inits=(InitSection(0, "ctors", None, (1, 2, 3)), InitSection(1, "init_array", 1000, (4,)),
               InitSection(2, "ctors", 64000, (5, 6))),
        strings=(MergeString(1, "lh", True), MergeString(2, "h", False)),
        string_uses=(MergeUse(0, 1, "abs32", 0), MergeUse(1, 0, "data64", 2)),
        set_pieces=((1, (3,)), (2, (4,))),
        hidden=(Hidden(2, True, 0x77, ((0, "got"), (1, "plt"))),),
        shadow=True, packaging="script_group", relro=True, export_dynamic=True,
        unwind=(2, 0, 1, 2), eh_frame_hdr=True),
    FeatureCase(2, True, ifuncs=(Ifunc(1, 99, ((0, "call"), (0, "lea"))),),
                inits=(InitSection(1, "init_array", 150, (1,)),),
                hidden=(Hidden(1, False, 5, ((0, "direct"),)),), packaging="thin",
                relro=True),
    FeatureCase(2, False, ifuncs=(Ifunc(1, 7, ((0, "data"), (0, "got_call"))),),
                set_pieces=((1, (1, 2)),), packaging="no_index", unwind=(1, 0),
                eh_frame_hdr=True),
    FeatureCase(3, True, inits=(InitSection(2, "ctors", 4000, (1, 2)),),
                strings=(MergeString(2, "ness", True),),
                string_uses=(MergeUse(0, 2, "pc_rel", 1),), packaging="archive", shadow=True),
    # only the chain crosses objects: only rescanning the script's GROUP finds object 1
    FeatureCase(3, False, set_pieces=((1, (1,)), (2, (2,))), packaging="script_group"),
    FeatureCase(2, False, inits=(InitSection(1, "ctors", None, (1, 2)),
                                 InitSection(0, "init_array", None, (3,))),
                constants=((1, 2**64 - 1, 0),), packaging="script_input"),
)


def describe(case: FeatureCase) -> set[str]:
    """The coverage labels of a case (fuzz/inventory.py's feature rows)."""
    mode = "dynamic" if case.dynamic else "static"
    labels = {f"inputs:{case.packaging}"}
    for f in case.ifuncs:
        labels.add(f"ifunc:{mode}")
        labels |= {f"ifunc:{form}" for _, form in f.uses}
    for s in case.inits:
        numbered = "numbered" if s.priority is not None else "unnumbered"
        labels.add(f"init:{s.kind}:{numbered}")
    if len({s.priority for s in case.inits if s.priority is not None}) > 1:
        labels.add("init:priority_order")
    if case.string_uses:
        labels |= {f"merge:string:{u.form}" for u in case.string_uses}
        texts = [s.text for s in case.strings]
        if len(set(texts)) < len(texts):
            labels.add("merge:string:duplicate")
        if any(a != b and a.endswith(b) for a in texts for b in texts):
            labels.add("merge:string:tail")
        if any(case.strings[u.string].named for u in case.string_uses):
            labels.add("merge:string:named")
        if any(u.offset for u in case.string_uses):
            labels.add("merge:string:inner_offset")
        if any(u.from_middle for u in case.string_uses):
            labels.add("merge:string:symbol_inside_a_piece")
    if case.constants:
        labels.add("merge:constant")
    if len(case.set_pieces) > 1:
        labels.add("start_stop:several_objects")
    for h in case.hidden:
        labels.add(f"hidden:{'function' if h.function else 'data'}")
        labels |= {f"hidden:{form}" for _, form in h.uses}
    if case.shadow:
        labels.add("hidden:shadows_library_export")
    if case.relro:
        labels.add("relro")
    if case.unwind:
        labels.add("eh_frame:fdes" if len(case.unwind) > 1 else "eh_frame:fde")
        if case.eh_frame_hdr:
            labels.add("eh_frame_hdr")
    if case.export_dynamic and (case.hidden or case.shadow):
        labels.add("hidden:export_dynamic")
    return labels
