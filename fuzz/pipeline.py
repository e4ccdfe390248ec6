"""From a program model to files: its objects (our writer, or its assembly text through GNU
as / llvm-mc), and the link commands the properties use (linkharness through its public
API, the reference linkers through oracle.reference)."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from linker import link
from oracle.reference import ReferenceResult, link_reference

from . import subject
from .assemble_x86 import lowered_images
from .draws import byte_choices, integer, pick, selections
from .emit_asm import write_asm
from .emit_elf import write_elf
from .model import Program
from .pie import pie_form_legal
from .strategies import draw_program

DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"
# Both assemblers also describe the source in DWARF 5 (line table, unit, aranges, range
# lists, strings): debug sections whose relocations point at every text section, COMDAT
# copies included, so that debug relocations, merged strings and tombstones are fuzzed.
ASSEMBLERS = {
    "as": ["as", "--64", "--gdwarf-5", "-o"],
    "llvm-mc": ["llvm-mc-14", "-filetype=obj", "-triple=x86_64-linux-gnu", "-g",
                "-dwarf-version=5", "-o"],
}
REFERENCE_LINKERS = ("bfd", "gold", "lld", "mold")


def write_objects(program: Program, directory: Path, assembler: str | None = None) -> list[Path]:
    """The program's objects in `directory`: ours (assembler None) or an assembler's."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for obj, image in lowered_images(program):
        path = directory / f"{obj.name}.o"
        if assembler is None:
            with open(path, "wb") as out:  # Path.write_bytes goes through Path.open
                out.write(write_elf(image))
        else:
            src = directory / f"{obj.name}.s"
            src.write_text(write_asm(obj))
            subprocess.run([*ASSEMBLERS[assembler], str(path), str(src)], check=True,
                           capture_output=True)
        paths.append(path)
    return paths


def libraries(program: Program, lib_dir: Path) -> list[str]:
    """The libtraceN.so files the program links against."""
    return [str(lib_dir / f"libtrace{n}.so") for n in program.libraries]


@dataclass(frozen=True)
class LinkOptions:
    """How linkharness is asked to link: input order and output options (none of which may
    change what the program does)."""

    order: tuple[int, ...] = ()  # a permutation of the objects; () keeps their order
    bind_now: bool = False
    hash_style: str = "both"
    pie: bool = False  # a position-independent executable (only for fuzz.pie.pie_legal models)
    ibt_plt: bool = False  # -z ibtplt: the IBT PLT (.plt lazy entries with endbr + .plt.sec)
    emit_relocs: bool = False  # --emit-relocs: judged by oracle.check's ELF-EMITTED-RELOC-*

    def ordered(self, objects: Sequence[Path]) -> list[Path]:
        return [objects[i] for i in self.order] if self.order else list(objects)


def link_linkharness(objects: Sequence[Path], libs: Sequence[str], output: Path,
                     options: LinkOptions = LinkOptions()) -> None:
    """Link with linkharness, or the chosen subject (fuzz/subject.py; raises LinkError)."""
    if subject.active():
        return subject.link_elf(options.ordered(objects), libs, output, m32=False,
                                entry="_start", dynamic_linker=DYNAMIC_LINKER,
                                bind_now=options.bind_now)
    link([*map(str, options.ordered(objects)), *libs], output, entry="_start", dynamic_linker=DYNAMIC_LINKER,
         bind_now=options.bind_now, hash_style=options.hash_style, pie=options.pie,
         ibt_plt=options.ibt_plt, emit_relocs=options.emit_relocs)


HASH_STYLES = ("both", "sysv", "gnu")
# Input orders as one choice among all of them, up to this many objects (5! = 120 orders).
ORDERS_PICKED_UP_TO = 5


@functools.lru_cache(maxsize=64)
def link_options(n_objects: int, pie_ok: bool = False) -> st.SearchStrategy[LinkOptions]:
    """Input order, -z now, hash style, -z ibtplt and --emit-relocs each for about a third
    of the examples and, when the model is PIE-legal (`pie_ok`), -pie for about a third.  Built once per
    argument pair: the properties draw it for every program, and a fresh strategy is
    validated on its first draw."""
    return _link_options(n_objects, pie_ok)


@st.composite
def _link_options(draw: st.DrawFn, n_objects: int, pie_ok: bool) -> LinkOptions:
    return draw_link_options(draw, n_objects, pie_ok)


def draw_link_options(draw: st.DrawFn, n_objects: int, pie_ok: bool) -> LinkOptions:
    """What link_options(n_objects, pie_ok) draws, called with a composite's `draw`."""
    draw = byte_choices(draw, 16)  # one engine choice for all of them
    if n_objects <= ORDERS_PICKED_UP_TO:  # one choice (identity first), not one per object
        order = pick(draw, selections(tuple(range(n_objects)), n_objects, n_objects))
    else:
        order = tuple(draw(st.permutations(range(n_objects))))
    return LinkOptions(order, pick(draw, (False, True)), pick(draw, HASH_STYLES),
                       pie_ok and integer(draw, 0, 2) == 0, integer(draw, 0, 2) == 0,
                       integer(draw, 0, 2) == 0)


@st.composite
def linkharness_cases(draw: st.DrawFn) -> tuple[Program, LinkOptions]:
    """Property (a)'s draw (fuzz/test_linkharness.py, bench/fuzz_throughput.py): a program,
    and how linkharness is to link it (-pie only for models whose PIE form is legal; the
    property links that form).  A composite rather than a flatmap, which would build and
    validate a new strategy for every example; and drawing as programs() and
    link_options() draw, without drawing those strategies (each nested draw is
    validated and recorded by Hypothesis): the same choices, the same cases."""
    program = draw_program(draw)
    return program, draw_link_options(draw, len(program.objects), pie_form_legal(program))


def link_with(linker: str, objects: Sequence[Path], libs: Sequence[str],
              output: Path) -> ReferenceResult:
    return link_reference(linker, [str(o) for o in objects], str(output), libs=libs)
