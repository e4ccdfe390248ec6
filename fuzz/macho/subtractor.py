"""Mach-O x86-64 SUBTRACTOR pairs at and near the edges of their fields: one generator, two
forms (it merges the two written in parallel in session 4, fuzz/macho/edges.py and the
llvm-mc pairs of this module).

**In a drawn program** (our writer).  A `SelfRel` field (its own item's address + addend -
the field's address) is written as X86_64_RELOC_SUBTRACTOR (minus a label at the field) +
UNSIGNED (plus the item), the constant `addend` in the field.  ld64 reads that constant
sign-extended from the field's width and checks a 4-byte result against the signed 32-bit
range, so: 0x7fffffff (the field first in its item, constant 2**31 - 1) and -2**31 (the
field 4 bytes in, constant 4 - 2**31) link; in an 8-byte field, -2**63 exactly; -2**31 - 1
(4 bytes in, constant 3 - 2**31) is an error model (fuzz/macho/errors.py).  A SelfRel value
is at most its constant, so the positive side past the edge needs the pairs below.  The
edge item is loaded by the program's main, so its values reach the trace.

**Pairs of two symbols** (llvm-mc-14).  `.long _lh_a - _lh_b + K` (SUBTRACTOR against
`_lh_b`, then UNSIGNED against `_lh_a`, the constant K in the field) is a signed 32-bit
difference.  `_lh_b` is code in __TEXT and `_lh_a` data in __DATA (both in o0: llvm-mc wants
both ends defined; in different sections, the linker computes it), so in any layout
0 < D = a - b < 1 MiB (MARGIN).  Each field is one of:
- `near_max` (K = 2**31 - 1 - d, d >= MARGIN: fits), `past_max` (K = 2**31 - 1: past the top
  by D), `near_min` (`_lh_b - _lh_a` + -2**31 + d: fits), `past_min` (+ -2**31: past the
  bottom by D): right whatever the layout;
- `at_max`, `first_past_max`, `at_min`, `first_past_min`: exactly 2**31 - 1, 2**31, -2**31
  and -2**31 - 1.  These need D, which the layout decides: each linker first links the
  same objects with every such K at 0 (a probe, whose fields all fit), D is read from its
  symbol table, and the objects are written again with the Ks that put the values on the
  edges (the layout does not depend on the fields' contents; the field oracle then checks
  every value against the output's own symbols).
An 8-byte pair (`.quad`, no range) rides along.  The model: every field in range links, its
value what the field oracle computes; any field past an edge is refused naming `_lh_a` or
`_lh_b` and o0.o, in one line, with no output; ld64.lld-14 agrees on both (the generator's
check).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

from oracle.emulate.macho import image as mi

from ..model import (
    AddrVia,
    Binding,
    Const,
    DataItem,
    ErrorKind,
    Field,
    Load,
    Program,
    Section,
    SectionKind,
    SelfRel,
)
from ..strategies import programs
from .samples import MACHO_SAMPLE
from .strategies import VARIANTS, MachoCase
from .subset import macho_subset

# --- in a drawn program ----------------------------------------------------------------

EDGE_ITEM, OVER_ITEM = "lh_diff_edge", "lh_diff_over"
EDGE_SECTION = ".data.lh_edge"
INT32_MAX, INT32_MIN, INT64_MIN = 2**31 - 1, -(2**31), -(2**63)

# (field, the value the link must give it)
EDGE_FIELDS: tuple[tuple[Field, int], ...] = (
    (SelfRel(4, INT32_MAX), INT32_MAX),  # offset 0
    (SelfRel(4, 4 + INT32_MIN), INT32_MIN),  # offset 4
    (SelfRel(8, 8 + INT64_MIN), INT64_MIN),  # offset 8
)
OVER_FIELDS: tuple[Field, ...] = (Const(4, 0), SelfRel(4, 3 + INT32_MIN))  # -2**31 - 1


def _with_item(program: Program, owner: int, item: DataItem, load: bool) -> Program:
    objs = list(program.objects)
    obj = objs[owner]
    objs[owner] = replace(obj, sections=(*obj.sections, Section(EDGE_SECTION, SectionKind.DATA,
                                                                8)),
                          data=(*obj.data, item))
    if load:  # the main reads every edge field (a global item: any object reaches it)
        at = next(n for n, o in enumerate(objs) if any(f.name == program.main
                                                       for f in o.functions))
        steps = tuple(Load(item.name, k, AddrVia.PC_REL) for k in range(len(item.fields)))
        objs[at] = replace(objs[at], functions=tuple(
            replace(f, steps=(*steps, *f.steps)) if f.name == program.main else f
            for f in objs[at].functions))
    return replace(program, objects=tuple(objs))


def with_subtractor_edges(program: Program, owner: int) -> Program:
    """`program` (in the Mach-O subset) with the in-range edge item in object `owner`."""
    item = DataItem(EDGE_ITEM, Binding.GLOBAL, EDGE_SECTION, 8, tuple(f for f, _ in EDGE_FIELDS))
    return _with_item(program, owner, item, True)


def subtractor_overflow(program: Program, owner: int) -> Program:
    """`program` with a 4-byte SUBTRACTOR one past the bottom of its range: an error model."""
    item = DataItem(OVER_ITEM, Binding.GLOBAL, EDGE_SECTION, 8, OVER_FIELDS)
    return replace(_with_item(program, owner, item, False), error=ErrorKind.OVERFLOW,
                   culprit=OVER_ITEM, culprit_object=program.objects[owner].name)


@st.composite
def _edge_program(draw: st.DrawFn) -> Program:
    program = macho_subset(draw(programs()))
    return with_subtractor_edges(program, draw(st.integers(0, len(program.objects) - 1)))


def edge_cases() -> st.SearchStrategy[MachoCase]:
    return st.builds(MachoCase, _edge_program(), VARIANTS)


def describe_items(program: Program, prefix: str = "macho") -> set[str]:
    """subtractor:edge:* for the edge and overflow items."""
    items = {d.name for o in program.objects for d in o.data}
    labels = set()
    if EDGE_ITEM in items:
        labels |= {f"{prefix}:subtractor:edge:32:max", f"{prefix}:subtractor:edge:32:min",
                   f"{prefix}:subtractor:edge:64:min"}
    if OVER_ITEM in items:
        labels.add(f"{prefix}:subtractor:edge:32:past_min")
    return labels


EDGE_SAMPLE = MachoCase(with_subtractor_edges(MACHO_SAMPLE, 1), 1)

# --- pairs of two symbols ----------------------------------------------------------------

MARGIN = 1 << 20
EDGES = ("near_max", "near_min", "past_max", "past_min")
EXACT = ("at_max", "at_min", "first_past_max", "first_past_min")
PAST = ("past_max", "past_min", "first_past_max", "first_past_min")
TOP, BOTTOM = 2**31 - 1, -(2**31)
LLVM_MC = ["llvm-mc-14", "-triple=x86_64-apple-macosx10.9", "-filetype=obj"]


@dataclass(frozen=True)
class SubtractorCase:
    fields: tuple[tuple[str, int], ...]  # (edge, distance d from it for near_* fields)

    @property
    def overflows(self) -> bool:
        return any(edge in PAST for edge, _ in self.fields)

    @property
    def exact(self) -> bool:
        return any(edge in EXACT for edge, _ in self.fields)


def subtractor_cases() -> st.SearchStrategy[SubtractorCase]:
    field = st.tuples(st.sampled_from(EDGES + EXACT), st.integers(MARGIN, 4 * MARGIN))
    return st.builds(SubtractorCase, st.lists(field, min_size=1, max_size=4).map(tuple))


SAMPLES = (
    SubtractorCase((("near_max", MARGIN), ("near_min", MARGIN + 8))),
    SubtractorCase((("near_max", 2 * MARGIN), ("past_max", 0))),
    SubtractorCase((("past_min", 0),)),
    SubtractorCase((("at_max", 0), ("at_min", 0))),
    SubtractorCase((("first_past_max", 0), ("at_min", 0))),
    SubtractorCase((("at_max", 0), ("first_past_min", 0))),
)


def describe(case: SubtractorCase) -> set[str]:
    return {f"macho:subtractor:{edge}" for edge, _ in case.fields}


def _field(edge: str, distance: int, delta: int | None) -> str:
    """One field's directive; `delta` (D) places the exact edges (unused by the others)."""
    if delta is None:  # the probe: every field the same size, in range whatever D is
        return ".long _lh_a - _lh_b"
    exact = {"at_max": TOP - delta, "first_past_max": TOP + 1 - delta,
             "at_min": BOTTOM + delta, "first_past_min": BOTTOM - 1 + delta}
    if edge in exact:
        pair = "_lh_a - _lh_b" if edge.endswith("max") else "_lh_b - _lh_a"
        return f".long {pair} + ({exact[edge]})"
    if edge == "near_max":
        return f".long _lh_a - _lh_b + {TOP - distance}"
    if edge == "past_max":
        return f".long _lh_a - _lh_b + {TOP}"
    if edge == "near_min":
        return f".long _lh_b - _lh_a + ({BOTTOM + distance})"
    return f".long _lh_b - _lh_a + ({BOTTOM})"


def texts(case: SubtractorCase, delta: int | None = 0) -> list[str]:
    """The objects' assembly; `delta` None: the probe's."""
    o0 = [".section __TEXT,__text", ".globl _start", "_start:",
          "movl $0x2000001, %eax", "xorl %edi, %edi", "syscall",  # exit(0)
          ".globl _lh_b", "_lh_b:", "nop",
          ".section __DATA,__data", ".p2align 3", ".globl _lh_diffs", "_lh_diffs:",
          *(_field(edge, d, delta) for edge, d in case.fields), ".p2align 3",
          ".quad _lh_a - _lh_b + 0x123456789",
          ".section __DATA,__lh_a", ".globl _lh_a", "_lh_a:", ".long 1", ""]
    o1 = [".section __DATA,__data", ".globl _lh_other", "_lh_other:", ".quad _lh_a", ""]
    return ["\n".join(o0), "\n".join(o1)]


def write_objects(case: SubtractorCase, directory: Path, delta: int | None = 0
                  ) -> list[Path]:
    """The case's objects; the exact edges placed for D = `delta` (None: the probe)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n, text in enumerate(texts(case, delta)):
        src, obj = directory / f"o{n}.s", directory / f"o{n}.o"
        src.write_text(text)
        subprocess.run([*LLVM_MC, str(src), "-o", str(obj)], check=True, capture_output=True)
        out.append(obj)
    return out


def distance(output: Path) -> int:
    """D = _lh_a - _lh_b in a linked output, from its symbol table."""
    values = {s.name: s.value for s in mi.parse(output.read_bytes()).symbols()
              if s.name in ("_lh_a", "_lh_b") and not s.undefined}
    return values["_lh_a"] - values["_lh_b"]


Linker = Callable[[list[Path], Path], str]  # (objects, output) -> '' or why it refused


def linked(case: SubtractorCase, directory: Path, link: Linker) -> tuple[list[Path], str]:
    """Write and link `case` with `link`: the objects and the link's refusal ('' when it
    linked).  With exact edges, a probe link measures D first; a refused probe (whose fields
    all fit) is returned as the refusal, prefixed 'probe: '."""
    delta = 0
    if case.exact:
        probe = directory / "probe"
        refused = link(write_objects(case, probe, None), probe / "out")
        if refused:
            return [], f"probe: {refused}"
        delta = distance(probe / "out")
    objects = write_objects(case, directory / "objs", delta)
    return objects, link(objects, directory / "out")
