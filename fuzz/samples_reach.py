"""A hand-made x86-64 program with every feature of fuzz.strategies_reach at once: the fixed
example of the reach properties and an input of tests/test_harness_power.py, so that the
seeded bugs in these families are caught whatever Hypothesis draws.

- o0: main; COMMON lh_c0 (1 word, 4-aligned: the first, smallest and least aligned
  declaration) and COMMON lh_c3, which an archive member initialises;
- o1: lh_reach, with weak references to lh_u0 (defined only by a decoy archive member) and
  lh_u1 (defined nowhere), observed through every addressing form; COMMON lh_c0 (6 words,
  64-aligned: the largest and strictest) and lh_c1; a store to the last word of each COMMON,
  then loads of every word of every COMMON (a COMMON given too little room shows in a
  neighbour); every relocation field at both edges of its range (`lh_edge`); pointers with
  addends to imported data and to a COMMON (`lh_ptr`), read through;
- o2: COMMON lh_c0 (3 words, 16-aligned) and lh_c1 (1 word); a weak definition of lh_wc,
  which o0's COMMON lh_wc beats (its load reads 0);
- archive 0: o3 (lh_a0, calls lh_a1), o5 (initialises lh_c3), o7 (lh_a2, calls lh_a3), o9
  (lh_a4); archive 1: o4 (lh_a1, calls lh_a2 back in archive 0: only a group finds it), o6
  (the decoy lh_u0) and o8 (lh_a3, calls lh_a4: a second round of the group's rescan).
`ARCHIVE_SAMPLE` is one archive without a group whose second member pulls its first.
"""

from __future__ import annotations

from dataclasses import replace

from .model import (
    AddrMask,
    AddrNonNull,
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    ErrorKind,
    Function,
    Load,
    LoadThrough,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    Step,
    Store,
)
from .samples import SAMPLE
from .strategies_reach import EDGES, REACH_FUNCTION, edge_item, past_edge

TEXT = Section(".text", SectionKind.TEXT, 16)
DATA = Section(".data", SectionKind.DATA, 8)
EDGE_SECTION = Section(".data.lh_edge", SectionKind.DATA, 1)


def _common(name: str, words: int, align: int) -> DataItem:
    return DataItem(name, Binding.GLOBAL, None, align, (Const(4, 0),) * words)


_EDGES, _EDGE_ABSOLUTES = edge_item([
    (reloc, value, symbol_value)
    for n, reloc in enumerate(sorted(EDGES))
    for value, symbol_value in ((EDGES[reloc][4], (0, 0x40)[n % 2]),
                                (EDGES[reloc][3], (0x1000, 1)[n % 2]))])

_COMMON_WORDS = {"lh_c0": 6, "lh_c1": 2, "lh_c3": 1}

_REACH_STEPS: tuple[Step, ...] = (
    AddrNonNull("lh_u0", AddrVia.PC_REL),
    AddrNonNull("lh_u0", AddrVia.ABS_U32),
    AddrNonNull("lh_u0", AddrVia.ABS_S32),
    AddrNonNull("lh_u0", AddrVia.GOT),
    AddrNonNull("lh_u1", AddrVia.GOT),
    AddrNonNull("lh_u1", AddrVia.PC_REL),
    AddrMask("lh_u0", AddrVia.GOT_BASE, 0x7FFFFFFF),
    AddrMask("lh_u1", AddrVia.GOT_OFFSET, 0x7FFFFFFF),
    AddrMask("lh_c0", AddrVia.PC_REL, 63),
    AddrMask("lh_c1", AddrVia.ABS_U32, 7),
    AddrMask("lh_a1", AddrVia.GOT, 15),
    Call("lh_a0", CallVia.PLT),
    Store("lh_c0", 5, AddrVia.PC_REL),
    Store("lh_c1", 1, AddrVia.ABS_S32),
    Load("lh_wc", 0, AddrVia.GOT),  # the COMMON in o0 beats o2's weak definition: 0
    # pointers with addends to imported data (dynamic R_X86_64_64) and to a COMMON
    LoadThrough("lh_ptr", 0, AddrVia.PC_REL),
    LoadThrough("lh_ptr", 1, AddrVia.GOT),
    LoadThrough("lh_ptr", 2, AddrVia.ABS_S32),
    *(Load(name, k, AddrVia.PC_REL) for name, words in _COMMON_WORDS.items()
      for k in range(words)),
    *(Load(_EDGES.name, k, (AddrVia.PC_REL, AddrVia.ABS_S32, AddrVia.GOT)[k % 3])
      for k in range(len(_EDGES.fields))),
)

REACH_SAMPLE = Program((
    ObjectModel("o0", (TEXT,), functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 16, 5,
                 (Call(REACH_FUNCTION, CallVia.DIRECT), Call("lt1_f1_a1", CallVia.PLT))),),
        data=(_common("lh_c0", 1, 4), _common("lh_c3", 1, 4), _common("lh_wc", 1, 4))),
    ObjectModel("o1", (TEXT, EDGE_SECTION, DATA), functions=(
        Function(REACH_FUNCTION, Binding.GLOBAL, ".text", 16, 9, _REACH_STEPS),),
        data=(_EDGES, _common("lh_c0", 6, 64), _common("lh_c1", 2, 8),
              DataItem("lh_ptr", Binding.LOCAL, ".data", 8,
                       (Ref(8, "lt1_d1", 8), Ref(8, "lt2_d0", 4), Ref(8, "lh_c1", 4)))),
        absolutes=_EDGE_ABSOLUTES, weak_refs=("lh_u0", "lh_u1")),
    ObjectModel("o2", (DATA,), data=(
        _common("lh_c0", 3, 16), _common("lh_c1", 1, 4),
        DataItem("lh_wc", Binding.WEAK, ".data", 4, (Const(4, 0x7777),)))),
    ObjectModel("o3", (TEXT,), functions=(
        Function("lh_a0", Binding.GLOBAL, ".text", 16, 3,
                 (Call("lh_a1", CallVia.GOT_INDIRECT),)),)),
    ObjectModel("o4", (TEXT,), functions=(
        Function("lh_a1", Binding.GLOBAL, ".text", 16, 4,
                 (Call("lt2_f1_a1", CallVia.PLT), Call("lh_a2", CallVia.DIRECT))),)),
    ObjectModel("o5", (DATA,), data=(
        DataItem("lh_c3", Binding.GLOBAL, ".data", 4, (Const(4, 0x5EED),)),)),
    ObjectModel("o6", (TEXT,), functions=(
        Function("lh_u0", Binding.GLOBAL, ".text", 16, 6, ()),)),
    ObjectModel("o7", (TEXT,), functions=(
        Function("lh_a2", Binding.GLOBAL, ".text", 16, 7,
                 (Call("lt3_f1_a1", CallVia.PLT), Call("lh_a3", CallVia.PLT))),)),
    ObjectModel("o8", (TEXT,), functions=(
        Function("lh_a3", Binding.GLOBAL, ".text", 16, 8, (Call("lh_a4", CallVia.DIRECT),)),)),
    ObjectModel("o9", (TEXT,), functions=(
        Function("lh_a4", Binding.GLOBAL, ".text", 16, 9, (Call("lt1_f1_a1", CallVia.PLT),)),)),
), (1, 2, 3), archives=((3, 5, 7, 9), (4, 6, 8)), grouped=True)

# One archive, no group: lh_b0 (pulled by main) needs lh_b1 from a member before it in the
# same archive, which only a second scan of that archive finds.
ARCHIVE_SAMPLE = Program((
    ObjectModel("o0", (TEXT,), functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 16, 2, (Call("lh_b0", CallVia.PLT),)),)),
    ObjectModel("o1", (TEXT,), functions=(
        Function("lh_b1", Binding.GLOBAL, ".text", 16, 11, (Call("lt2_f1_a1", CallVia.PLT),)),)),
    ObjectModel("o2", (TEXT,), functions=(
        Function("lh_b0", Binding.GLOBAL, ".text", 16, 10,
                 (Call("lh_b1", CallVia.GOT_LOAD),)),)),
), (1, 2), archives=((1, 2),))


# A weak definition (o0) and a strong one (o1) of lh_w, each calling its own import: the
# trace says which one the call from main reached (the strong one).
WEAK_SAMPLE = Program((
    ObjectModel("o0", (TEXT,), functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 16, 2, (Call("lh_w", CallVia.DIRECT),)),
        Function("lh_w", Binding.WEAK, ".text", 16, 12, (Call("lt1_f1_a1", CallVia.PLT),)))),
    ObjectModel("o1", (TEXT,), functions=(
        Function("lh_w", Binding.GLOBAL, ".text", 16, 13, (Call("lt2_f1_a1", CallVia.PLT),)),)),
), (1, 2))


def edge_error_samples() -> list[Program]:
    """SAMPLE plus one field just past an edge, for every relocation and side (the error
    property's fixed examples: each overflow is tried whatever Hypothesis draws)."""
    out = []
    for n, reloc in enumerate(sorted(EDGES)):
        for high in (True, False):
            item, absolutes = edge_item([(reloc, past_edge(reloc, high), (0x40, 1)[n % 2])])
            last = item.fields[-1]
            culprit = getattr(last, "target", item.name)
            o = SAMPLE.objects[1]
            o = replace(o, sections=(*o.sections, EDGE_SECTION), data=(*o.data, item),
                        absolutes=(*o.absolutes, *absolutes))
            out.append(replace(SAMPLE, objects=(SAMPLE.objects[0], o), error=ErrorKind.OVERFLOW,
                               culprit=culprit, culprit_object=o.name))
    return out
