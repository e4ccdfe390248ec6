"""Mach-O x86_64 SUBTRACTOR pairs near the edges of their 4-byte range.

`.long _lh_a - _lh_b + K` (X86_64_RELOC_SUBTRACTOR against `_lh_b`, then UNSIGNED against
`_lh_a`, the addend K in the field) is a signed 32-bit difference.  `_lh_b` is code in
__TEXT and `_lh_a` data in __DATA (both in o0: llvm-mc wants both ends of a difference
defined; in different sections, the linker computes it), so in any layout 0 < a - b < 1 MiB (MARGIN):
with K = 2**31 - 1 - d for d >= MARGIN the value fits below the top edge (`near_max`), with
K = 2**31 - 1 it is past it (`past_max`); `_lh_b - _lh_a + K` with K = -2**31 + d fits
(`near_min`) and with K = -2**31 it is past the bottom (`past_min`).  An 8-byte pair
(`.quad`, no range) rides along.  The model: every field in range links, and its value is
what the field oracle computes; any field past an edge is refused naming `_lh_a` or `_lh_b`
and o0.o, in one line, with no output; ld64.lld-14 agrees on both (the generator checked).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

MARGIN = 1 << 20
EDGES = ("near_max", "near_min", "past_max", "past_min")
TOP, BOTTOM = 2**31 - 1, -(2**31)
LLVM_MC = ["llvm-mc-14", "-triple=x86_64-apple-macosx10.9", "-filetype=obj"]


@dataclass(frozen=True)
class SubtractorCase:
    fields: tuple[tuple[str, int], ...]  # (edge, distance d from it for near_* fields)

    @property
    def overflows(self) -> bool:
        return any(edge.startswith("past") for edge, _ in self.fields)


def subtractor_cases() -> st.SearchStrategy[SubtractorCase]:
    field = st.tuples(st.sampled_from(EDGES), st.integers(MARGIN, 4 * MARGIN))
    return st.builds(SubtractorCase, st.lists(field, min_size=1, max_size=4).map(tuple))


SAMPLES = (
    SubtractorCase((("near_max", MARGIN), ("near_min", MARGIN + 8))),
    SubtractorCase((("near_max", 2 * MARGIN), ("past_max", 0))),
    SubtractorCase((("past_min", 0),)),
)


def describe(case: SubtractorCase) -> set[str]:
    return {f"macho:subtractor:{edge}" for edge, _ in case.fields}


def _field(edge: str, distance: int) -> str:
    if edge == "near_max":
        return f".long _lh_a - _lh_b + {TOP - distance}"
    if edge == "past_max":
        return f".long _lh_a - _lh_b + {TOP}"
    if edge == "near_min":
        return f".long _lh_b - _lh_a + ({BOTTOM + distance})"
    return f".long _lh_b - _lh_a + ({BOTTOM})"


def texts(case: SubtractorCase) -> list[str]:
    o0 = [".section __TEXT,__text", ".globl _start", "_start:",
          "movl $0x2000001, %eax", "xorl %edi, %edi", "syscall",  # exit(0)
          ".globl _lh_b", "_lh_b:", "nop",
          ".section __DATA,__data", ".p2align 3", ".globl _lh_diffs", "_lh_diffs:",
          *(_field(edge, d) for edge, d in case.fields), ".p2align 3",
          ".quad _lh_a - _lh_b + 0x123456789",
          ".section __DATA,__lh_a", ".globl _lh_a", "_lh_a:", ".long 1", ""]
    o1 = [".section __DATA,__data", ".globl _lh_other", "_lh_other:", ".quad _lh_a", ""]
    return ["\n".join(o0), "\n".join(o1)]


def write_objects(case: SubtractorCase, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n, text in enumerate(texts(case)):
        src, obj = directory / f"o{n}.s", directory / f"o{n}.o"
        src.write_text(text)
        subprocess.run([*LLVM_MC, str(src), "-o", str(obj)], check=True, capture_output=True)
        out.append(obj)
    return out
