"""i386 Mach-O SECTDIFF / LOCAL_SECTDIFF pairs of 1 and 2 bytes at the edges of their range.

A narrow difference `.byte A - B + K` (llvm-mc-14: a scattered SECTDIFF, or LOCAL_SECTDIFF
when the minuend is a non-external symbol, plus its PAIR) holds in the object the value the
assembler computed there, d_obj + K, sign-extended by the reader; the link gives it
D + K, D the two symbols' distance in the output.  linkharness's rule for the 1- and 2-byte
forms is GNU ld's bitfield rule, as for VANILLA (linker/macho/relocs_i386.py): a value fits
if either reading can hold it, -2**(8w-1) <= v <= 2**(8w) - 1.  The 4-byte form wraps.

So an edge value v is reachable only through the growth x = D - d_obj: the field holds
v - x (A - B) or v + x (B - A), which must fit the byte or the word.  The case makes that
growth: `_lh_b` in o0's __data, `_lh_a1` in __lh_a1 right after it and `_lh_a2` in __lh_a2
after that, and o1 fills __data with FILL[1] bytes and __lh_a1 with FILL[2] - FILL[1], so
x is about 192 for A1 (1-byte fields) and 48,192 for A2 (2-byte fields).  Its exact value
is the layout's: each link is preceded by a probe link of the same objects with every K
at 0 (all in range), whose symbol table gives D; then K is chosen so that the values are
exactly 2**(8w) - 1 and -2**(8w-1) (must link) or 2**(8w) and -2**(8w-1) - 1 (must be
refused, in one line naming the relocation and o0.o, with no output).

No reference linker links i386 Mach-O here: the rule is the linker's documented one, and
the field oracle checks every linked value against the output's own symbols.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from oracle.emulate.macho import image as mi

EDGES = ("at_max", "first_past_max", "at_min", "first_past_min")
FILL = {1: 192, 2: 48192}  # the growth x aimed at for each width (see the module's essay)
LLVM_MC = ["llvm-mc-14", "-triple=i386-apple-macosx10.7", "-filetype=obj"]
MINUENDS = {1: ("_lh_a1", "_lh_la1"), 2: ("_lh_a2", "_lh_la2")}  # (global, local) names
PROBE_SLACK = 32  # more than the alignment padding can add to or take from FILL


@dataclass(frozen=True)
class SectdiffField:
    width: int  # 1 or 2
    edge: str
    local: bool  # the minuend non-external: LOCAL_SECTDIFF

    @property
    def value(self) -> int:
        bits = 8 * self.width
        return {"at_max": (1 << bits) - 1, "first_past_max": 1 << bits,
                "at_min": -(1 << (bits - 1)), "first_past_min": -(1 << (bits - 1)) - 1}[
                    self.edge]

    @property
    def past(self) -> bool:
        return self.edge.startswith("first_past")

    @property
    def probe_value(self) -> int:
        """The probe's value: inside the edge on this field's side by PROBE_SLACK."""
        bits = 8 * self.width
        return (1 << bits) - 1 - PROBE_SLACK if self.edge.endswith("max") \
            else -(1 << (bits - 1)) + PROBE_SLACK


@dataclass(frozen=True)
class SectdiffCase:
    fields: tuple[SectdiffField, ...]

    @property
    def overflows(self) -> bool:
        return any(f.past for f in self.fields)


def sectdiff_cases() -> st.SearchStrategy[SectdiffCase]:
    field = st.builds(SectdiffField, st.sampled_from((1, 2)), st.sampled_from(EDGES),
                      st.booleans())
    return st.builds(SectdiffCase, st.lists(field, min_size=1, max_size=4).map(tuple))


SAMPLES = (
    SectdiffCase((SectdiffField(1, "at_max", False), SectdiffField(1, "at_min", True),
                  SectdiffField(2, "at_max", True), SectdiffField(2, "at_min", False))),
    SectdiffCase((SectdiffField(1, "first_past_max", False),)),
    SectdiffCase((SectdiffField(1, "first_past_min", True),)),
    SectdiffCase((SectdiffField(2, "first_past_max", True), SectdiffField(1, "at_max", True))),
    SectdiffCase((SectdiffField(2, "first_past_min", False),)),
)


def describe(case: SectdiffCase) -> set[str]:
    return {f"macho-i386:sectdiff:{f.width}:{f.edge}" for f in case.fields} | {
        "macho-i386:sectdiff:local" if f.local else "macho-i386:sectdiff:extern"
        for f in case.fields}


def _field(f: SectdiffField, delta: dict[int, int] | None, probe: bool) -> str:
    """The field's directive, K chosen for the value (`probe`: its probe_value) given D =
    delta[width]; `delta` None: K = 0 (an object whose d_obj is all that is read)."""
    directive = ".byte" if f.width == 1 else ".short"
    value = f.probe_value if probe else f.value
    a = MINUENDS[f.width][int(f.local)]
    if f.edge.endswith("max"):  # v = D + K
        pair, k = f"{a} - _lh_b", 0 if delta is None else value - delta[f.width]
    else:  # B - A: v = -D + K; the minuend is B, local or not as drawn
        b = "_lh_lb" if f.local else "_lh_b"
        pair, k = f"{b} - {MINUENDS[f.width][0]}", 0 if delta is None else \
            value + delta[f.width]
    return f"{directive} {pair} + ({k})"


def texts(case: SectdiffCase, delta: dict[int, int] | None, probe: bool = False
          ) -> list[str]:
    """o0 and o1's assembly, the fields placed for D = `delta` {width: D}."""
    o0 = [".section __TEXT,__text", ".globl _start", "_start:",
          "pushl $0", "pushl $0", "movl $1, %eax", "int $0x80",  # exit(0)
          ".section __DATA,__data", ".globl _lh_b", "_lh_b:", "_lh_lb:", ".long 0",
          *(_field(f, delta, probe) for f in case.fields),
          ".section __DATA,__lh_a1", ".globl _lh_a1", "_lh_a1:", "_lh_la1:", ".long 1",
          ".section __DATA,__lh_a2", ".globl _lh_a2", "_lh_a2:", "_lh_la2:", ".long 2", ""]
    o1 = [".section __DATA,__data", ".globl _lh_fill1", "_lh_fill1:", f".space {FILL[1]}",
          ".section __DATA,__lh_a1", ".globl _lh_fill2", "_lh_fill2:",
          f".space {FILL[2] - FILL[1]}", ""]
    return ["\n".join(o0), "\n".join(o1)]


def write_objects(case: SectdiffCase, directory: Path, delta: dict[int, int] | None,
                  probe: bool = False) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n, text in enumerate(texts(case, delta, probe)):
        src, obj = directory / f"o{n}.s", directory / f"o{n}.o"
        src.write_text(text)
        subprocess.run([*LLVM_MC, str(src), "-o", str(obj)], check=True, capture_output=True)
        out.append(obj)
    return out


def distances(output: Path) -> dict[int, int]:
    """{width: D} in a linked output: _lh_a1 - _lh_b and _lh_a2 - _lh_b."""
    values = {s.name: s.value for s in mi.parse(output.read_bytes()).symbols()
              if not s.undefined}
    return {w: values[MINUENDS[w][0]] - values["_lh_b"] for w in (1, 2)}


def object_distances(objects: list[Path]) -> dict[int, int]:
    """{width: d_obj} in o0."""
    values = {s.name: s.value for s in mi.parse(objects[0].read_bytes()).symbols()
              if not s.undefined}
    return {w: values[MINUENDS[w][0]] - values["_lh_b"] for w in (1, 2)}


Linker = Callable[[list[Path], Path], str]  # (objects, output) -> '' or why it refused


def linked(case: SectdiffCase, directory: Path, link: Linker) -> tuple[list[Path], str]:
    """Probe, then write and link `case` with `link`: (the objects, the refusal or '').
    The probe's fields sit PROBE_SLACK inside their edges for the growth FILL aims at, so
    every one fits whatever the padding; a refused probe is returned as 'probe: ...'.
    Growth outside what a field can express is a generator bug (AssertionError)."""
    d_obj = object_distances(write_objects(case, directory / "zero", None))
    probe = directory / "probe"
    refused = link(write_objects(case, probe, {w: d_obj[w] + FILL[w] for w in (1, 2)}, True),
                   probe / "out")
    if refused:
        return [], f"probe: {refused}"
    delta = distances(probe / "out")
    for w, lo, hi in ((1, 129, 255), (2, 32769, 65535)):
        assert lo <= delta[w] - d_obj[w] <= hi, f"generator: growth {delta[w] - d_obj[w]} " \
            f"for {w}-byte fields, outside [{lo}, {hi}]"
    objects = write_objects(case, directory / "objs", delta)
    return objects, link(objects, directory / "out")
