"""What the x86-64 ELF "reach" properties draw on top of `fuzz.strategies.programs`: the
features the shared generator leaves out, each with the model saying what a run observes.

- archives: objects of the drawn program become archive members, with a member pulled by a
  strong reference that pulls another member, and a decoy member defining only a name that
  is referenced weakly (it must not be pulled); one or two archives, grouped or not;
- weak references to names nothing defines (`AddrNonNull`: 0; `AddrMask`: every bit 0);
- COMMON symbols of several sizes and alignments across objects (`AddrMask` of the merged
  symbol's alignment; a store to the last word of the largest, then loads of a neighbour);
- relocation values at the edges of each field width: the largest and smallest values that
  fit R_X86_64_8/16/32/32S and R_X86_64_PC8/16/32 (valid programs), and in
  `edge_error_programs` the first value past an edge, which every checking linker refuses.

The additions live in one more object, `REACH_OBJECT`, whose function `lh_reach` the main
function calls first.  These programs use model forms only the x86-64 ELF lowering knows
(AddrMask, AddrNonNull, signed Ref): the i386 and Mach-O properties do not draw them.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume
from hypothesis import strategies as st

from . import libtrace
from .model import (
    AbsSymbol,
    AddrMask,
    AddrNonNull,
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    ErrorKind,
    Field,
    Function,
    Load,
    LoadThrough,
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
from .strategies import programs

REACH_FUNCTION = "lh_reach"
EDGE_ITEM = "lh_edge"
CALL_VIA = st.sampled_from(CallVia)
WEAK_SECTION = Section(".data.lh_wc", SectionKind.DATA, 4)
ADDR_VIA = st.sampled_from(AddrVia)

# (relocation, field width, signed 32S?, pc-relative?) -> the inclusive range that fits, as
# GNU ld, lld and linkharness check it: R_X86_64_8/16 either reading (-2**(w-1) .. 2**w-1),
# R_X86_64_32 unsigned, 32S and the pc-relative ones signed.
EDGES: dict[str, tuple[int, bool, bool, int, int]] = {
    "R_X86_64_8": (1, False, False, -0x80, 0xFF),
    "R_X86_64_16": (2, False, False, -0x8000, 0xFFFF),
    "R_X86_64_32": (4, False, False, 0, 0xFFFFFFFF),
    "R_X86_64_32S": (4, True, False, -0x80000000, 0x7FFFFFFF),
    "R_X86_64_PC8": (1, False, True, -0x80, 0x7F),
    "R_X86_64_PC16": (2, False, True, -0x8000, 0x7FFF),
    "R_X86_64_PC32": (4, False, True, -0x80000000, 0x7FFFFFFF),
}


SYMBOL_VALUES = (0, 1, 0x40, 0x1000)


def edge_field(reloc: str, value: int, offset: int, symbol_value: int
               ) -> tuple[Field, AbsSymbol | None]:
    """A field of `reloc` whose computed value is `value`, at `offset` in its item: an
    absolute symbol of `symbol_value` (small, non-negative) plus the addend that makes
    `value` (negative values come from negative addends), or, pc-relative, the distance
    to its own item (`SelfRel`: value = addend - offset).  An absolute symbol whose value
    is itself negative (at or above 2**63) is refused by linkharness, not by GNU ld: see
    the `known_bug` row of fuzz/inventory.py."""
    width, signed, pc, _, _ = EDGES[reloc]
    if pc:
        return SelfRel(width, value + offset), None
    name = f"lh_e_{reloc[9:].lower()}_{'hi' if value > 0 else 'lo'}_{offset}"
    return Ref(width, name, value - symbol_value, signed), AbsSymbol(name, symbol_value)


def edge_item(choices: list[tuple[str, int, int]], binding: Binding = Binding.GLOBAL
              ) -> tuple[DataItem, tuple[AbsSymbol, ...]]:
    """A data item of edge fields, (reloc, value, symbol value) each, and their absolute
    symbols."""
    fields: list[Field] = []
    absolutes: list[AbsSymbol] = []
    offset = 0
    for reloc, value, split in choices:
        f, a = edge_field(reloc, value, offset, split)
        fields.append(f)
        absolutes += [a] if a else []
        offset += f.width
    return DataItem(EDGE_ITEM, binding, ".data.lh_edge", 1, tuple(fields)), tuple(absolutes)


@st.composite
def _edges(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    out = []
    for reloc in draw(st.lists(st.sampled_from(sorted(EDGES)), min_size=1, max_size=5)):
        _, _, _, low, high = EDGES[reloc]
        value = draw(st.sampled_from((low, high)))
        out.append((reloc, value, draw(st.sampled_from(SYMBOL_VALUES))))
    return out


def _commons(draw: st.DrawFn, n_objects: int) -> tuple[list[tuple[int, DataItem]], list[Step]]:
    """COMMON declarations of one or two names in several objects (sizes 1..6 words,
    alignments 1..64), and the steps that observe them: the merged symbol's alignment, a
    store to the last word of the largest declaration, loads of every name's words."""
    decls: list[tuple[int, DataItem]] = []
    steps: list[Step] = []
    for k in range(draw(st.integers(1, 2))):
        name = f"lh_c{k}"
        owners = draw(st.lists(st.integers(0, n_objects - 1), min_size=1, max_size=3,
                               unique=True))
        sizes = [draw(st.integers(1, 6)) for _ in owners]
        aligns = [draw(st.sampled_from((1, 2, 4, 8, 16, 32, 64))) for _ in owners]
        decls += [(o, DataItem(name, Binding.GLOBAL, None, a, (Const(4, 0),) * s))
                  for o, s, a in zip(owners, sizes, aligns, strict=True)]
        steps += [AddrMask(name, draw(ADDR_VIA), max(aligns) - 1),
                  Store(name, max(sizes) - 1, draw(ADDR_VIA))]
    for k in range(len(steps) // 2):
        steps.append(Load(f"lh_c{k}", 0, draw(ADDR_VIA)))
    return decls, steps


@st.composite
def reach_programs(draw: st.DrawFn) -> Program:
    """A valid program with the features of this module's docstring."""
    base = draw(programs())
    n = len(base.objects)
    reach = n  # the index of the reach object
    steps: list[Step] = []
    # weak references to names nothing (linked) defines
    weak = [f"lh_u{k}" for k in range(draw(st.integers(1, 2)))]
    for name in weak:
        steps += [AddrNonNull(name, draw(ADDR_VIA)), AddrMask(name, draw(ADDR_VIA), 0x7FFFFFFF)]
    decls, common_steps = _commons(draw, n + 1)
    steps += common_steps
    # a weak data definition and a COMMON of the same name: the COMMON wins (value 0)
    weak_vs_common: list[tuple[int, DataItem]] = []
    if draw(st.booleans()):
        weak_owner, common_owner = draw(st.permutations(range(n + 1)))[:2]
        weak_vs_common = [
            (weak_owner, DataItem("lh_wc", Binding.WEAK, WEAK_SECTION.name, 4,
                                  (Const(4, draw(st.integers(1, 0xFFFFFFFF))),))),
            (common_owner, DataItem("lh_wc", Binding.GLOBAL, None, 4, (Const(4, 0),)))]
        steps.append(Load("lh_wc", 0, draw(ADDR_VIA)))
    # pointers with addends to imported data (dynamic R_X86_64_64, or the COPY) and to the
    # COMMONs, read through
    targets = [(i.name, i.size // 4) for i in libtrace.catalogue()
               if not i.is_function and i.library in base.libraries]
    targets += [(d.name, min(len(d.fields), *(len(e.fields) for _, e in decls if e.name == d.name)))
                for _, d in decls]
    pointers = tuple(Ref(8, name, 4 * draw(st.integers(0, words - 1)))
                     for name, words in draw(st.lists(st.sampled_from(targets), max_size=3)))
    steps += [LoadThrough("lh_ptr", k, draw(ADDR_VIA)) for k in range(len(pointers))]
    edges, absolutes = edge_item(draw(_edges()))
    steps += [Load(EDGE_ITEM, i, draw(ADDR_VIA)) for i in range(len(edges.fields))]
    objects = [*base.objects]
    # archives: a member pulled by a strong reference (lh_a0) pulls another (lh_a1); a
    # decoy member defines only the first weakly referenced name
    members: list[int] = []
    if draw(st.booleans()):
        steps.append(Call("lh_a0", draw(CALL_VIA)))
        a1 = Function("lh_a1", Binding.GLOBAL, ".text", 16, draw(st.integers(0, 0xFFFF)), ())
        a0 = Function("lh_a0", Binding.GLOBAL, ".text", 16, draw(st.integers(0, 0xFFFF)),
                      (Call("lh_a1", draw(CALL_VIA)),))
        decoy = Function(weak[0], Binding.GLOBAL, ".text", 16, 1, ())
        text = (Section(".text", SectionKind.TEXT, 16),)
        objects += [ObjectModel("o_placeholder", ())]  # the reach object, set below
        for fn in (a0, a1, decoy):
            members.append(len(objects))
            objects.append(ObjectModel(f"o{len(objects)}", text, functions=(fn,)))
    steps = list(draw(st.permutations(steps)))
    reach_fn = Function(REACH_FUNCTION, Binding.GLOBAL, ".text", 16,
                        draw(st.integers(0, 0xFFFFFFFF)), tuple(steps))
    reach_obj = ObjectModel(
        f"o{reach}", (Section(".text", SectionKind.TEXT, 16),
                      Section(".data.lh_edge", SectionKind.DATA, 1), WEAK_SECTION),
        functions=(reach_fn,), data=(edges, *[d for o, d in decls if o == reach], *(
            [DataItem("lh_ptr", Binding.LOCAL, ".data.lh_wc", 8, pointers)] if pointers else [])),
        absolutes=absolutes, weak_refs=tuple(weak))
    if members:
        objects[reach] = reach_obj
    else:
        objects.append(reach_obj)
    for o, d in [*decls, *weak_vs_common]:
        obj = objects[o] if o < n else objects[reach]
        if d.section is not None and WEAK_SECTION not in obj.sections:  # a base object
            obj = replace(obj, sections=(*obj.sections, WEAK_SECTION))
        if o < n or d.name == "lh_wc":
            obj = replace(obj, data=(*obj.data, d))
        objects[o if o < n else reach] = obj
    objects = _call_reach_first(objects, base.main)
    # base objects other than main's may go into the archives too (those referenced
    # strongly are pulled; a member no one needs is dropped, with its COMMON sizes)
    main_owner = next(i for i, o in enumerate(objects) if any(
        f.name == base.main for f in o.functions))
    extra = [i for i in draw(st.sets(st.integers(1, n - 1), max_size=2)) if i != main_owner]
    pool = members + extra
    archives: tuple[tuple[int, ...], ...] = ()
    if pool:
        order = draw(st.permutations(pool))
        cut = draw(st.integers(0, len(order)))
        archives = tuple(a for a in (tuple(order[:cut]), tuple(order[cut:])) if a)
    program = Program(tuple(objects), base.libraries, base.main, archives=archives,
                      grouped=draw(st.booleans()))
    for candidate in (program, replace(program, grouped=True),
                      replace(program, archives=(tuple(members),) if members else ())):
        try:
            outcome(candidate)
        except TooBusy:
            assume(False)
        except (KeyError, IndexError, AssertionError):
            # a member the link drops was needed, or sized or aligned a COMMON: try another
            continue
        return candidate
    assume(False)
    raise AssertionError("unreachable")


def _call_reach_first(objects: list[ObjectModel], main: str) -> list[ObjectModel]:
    out = []
    for obj in objects:
        fns = tuple(replace(f, steps=(Call(REACH_FUNCTION, CallVia.DIRECT), *f.steps))
                    if f.name == main else f for f in obj.functions)
        out.append(replace(obj, functions=fns))
    return out


def past_edge(reloc: str, high: bool) -> int:
    """The first value of `reloc`'s field past its range, above it or below it."""
    _, _, _, low, top = EDGES[reloc]
    return top + 1 if high else low - 1


@st.composite
def edge_error_programs(draw: st.DrawFn) -> Program:
    """A valid program plus fields just past the edge of one relocation's range (after
    fields at the edges): above it, below it, or both (then one example draws both of the
    inventory's rows for the relocation, the first of them named).  Every linker that
    checks the field refuses it, naming the absolute symbol (or, pc-relative, the item) and
    the object."""
    base = draw(programs())
    reloc = draw(st.sampled_from(sorted(EDGES)))
    sides = draw(st.sampled_from(((True, False), (True,), (False,))))
    fitting = draw(_edges())
    past = [(reloc, past_edge(reloc, high), draw(st.sampled_from(SYMBOL_VALUES)))
            for high in sides]
    edges, absolutes = edge_item([*fitting, *past])
    first = edges.fields[len(edges.fields) - len(past)]
    culprit = first.target if isinstance(first, Ref) else EDGE_ITEM
    owner = draw(st.integers(0, len(base.objects) - 1))
    obj = base.objects[owner]
    obj = replace(obj, sections=(*obj.sections, Section(".data.lh_edge", SectionKind.DATA, 1)),
                  data=(*obj.data, edges), absolutes=(*obj.absolutes, *absolutes))
    objects = (*base.objects[:owner], obj, *base.objects[owner + 1:])
    return replace(base, objects=objects, error=ErrorKind.OVERFLOW, culprit=culprit,
                   culprit_object=obj.name)
