"""The checks applied to a linked Mach-O program, each returning its problems as one-line
strings (empty: right): oracle.check, the Mach-O relocation-field oracle, the slide (every
pointer into a PIE image is rebased or locally relocated), and the emulated dyld (lazy or
eager binding) against the model's trace and exit status.  The model names
libraries by ELF soname (libtraceN.so); the emulated dyld by install name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho import relocations
from oracle.emulate.macho.opcodes import decode_rebases
from oracle.macho_relocs import check_macho_fields
from oracle.macho_relocs_inputs import read_object
from oracle.relocs.mismatch import FieldMismatch, FieldReport

from ..model import Program
from ..semantics import Outcome
from .emit_macho import N_EXT, N_WEAK_DEF
from .tbd import install_name

Trace = tuple[tuple[str, str, tuple[int, ...]], ...]


def macho_library(soname: str) -> str:
    """The install name of the dylib standing for ELF's libtraceN.so."""
    return install_name(int(soname.removeprefix("libtrace").removesuffix(".so")))


def expected_trace(expected: Outcome) -> Trace:
    """The model's trace with Mach-O library names."""
    return tuple((macho_library(t.library), t.symbol, t.args) for t in expected.trace)


def structure(output: Path) -> list[str]:
    return [f"oracle.check: {v}" for v in check(output)]


def fields(output: Path, objects: Sequence[Path], absolutes: frozenset[str] = frozenset(),
           report: FieldReport | None = None) -> list[str]:
    """Field-oracle mismatches.  `absolutes` (Darwin names of N_ABS symbols): the oracle
    does not resolve UNSIGNED fields against absolute symbols yet (it looks for a bind and
    reports "unresolved"); those fields are judged by the emulated run instead."""
    report = report or check_macho_fields(output, objects)
    return [f"relocation field: {m}" for m in report.mismatches
            if not (m.kind == "unresolved" and m.symbol in absolutes)
            and not _nonextern_pair(m)
            and not (m.kind == "unplaced" and m.section in _weak_only_sections(m.file))]


def _weak_only_sections(path: str) -> set[str]:
    """Sections of an input whose every external definition is weak.  Without
    MH_SUBSECTIONS_VIA_SYMBOLS a section is one atom, and ld64.lld-14 drops it whole when its
    weak definitions lose; the oracle reports its fields "unplaced" (reported upstream)."""
    obj = read_object(path)
    out = set()
    for ordinal, sec in enumerate(obj.sections, 1):
        defs = [s for s in obj.symbols if s.sect == ordinal and s.type & N_EXT]
        if defs and all(s.desc & N_WEAK_DEF for s in defs):
            out.add(f"{sec.segname},{sec.sectname}")
    return out


def _nonextern_pair(m: FieldMismatch) -> bool:
    """The oracle takes a non-extern UNSIGNED minuend of a SUBTRACTOR pair as an offset into
    its section, where llvm-mc, ld64.lld-14 and linkharness all take it as an address in the
    object's address space (so it is off by the section's object address).  Reported; the
    emulated run judges those fields meanwhile."""
    return m.type_name == "X86_64_RELOC_UNSIGNED+SUBTRACTOR" and m.symbol.startswith("section#")


def slid(output: Path, report: FieldReport) -> list[str]:
    """In an MH_PIE image, every pointer-sized absolute field that holds an address inside
    the image (the oracle confirmed it as S + A against a definition) must move with the
    slide: a rebase (dyld info) or a local relocation (classic LC_DYSYMTAB).  The emulated
    dyld loads at slide 0, so a pointer left out runs; this is where it is caught."""
    img = mi.parse(output.read_bytes())
    if not img.flags & mi.MH_PIE:
        return []
    problems = []
    moved = _slid_addresses(img)
    for site in report.confirmed:
        if site.type_name.startswith("X86_64_RELOC_UNSIGNED") and site.width == img.word \
                and site.formula.startswith("S + A") and site.field not in moved:
            problems.append(f"slide: {site.file} {site.section}+{site.offset:#x} "
                            f"({site.symbol}) at {site.field:#x} holds an address in the image "
                            "but is neither rebased nor locally relocated")
    return problems


def _slid_addresses(img: mi.MachOImage) -> set[int]:
    if img.dyld_info is None:
        return {e.address for e in relocations.entries(img, "local")}
    raw = img.bytes_at(*img.dyld_info.rebase, "rebase opcodes")
    return {img.segments[r.segment].vmaddr + r.offset
            for r in decode_rebases(raw, pointer_size=img.word)
            if r.segment < len(img.segments)}


def emulated_trace(output: Path, bind: str) -> tuple[Trace, int | None, list[str]]:
    """(trace, exit status, faults) of `output` under the emulated dyld."""
    result = run(output, bind=bind)
    trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace)
    return trace, result.exit_code, [f.describe() for f in result.faults]


def emulated(output: Path, expected: Outcome, bind: str) -> list[str]:
    trace, status, faults = emulated_trace(output, bind)
    problems = [f"emulated ({bind}): {f}" for f in faults]
    want = expected_trace(expected)
    if trace != want:
        problems.append(f"emulated ({bind}): trace {trace} != model {want}")
    if status != expected.status:
        problems.append(f"emulated ({bind}): exit {status} != model {expected.status}")
    return problems


def absolute_names(program: Program) -> frozenset[str]:
    return frozenset("_" + a.name for o in program.objects for a in o.absolutes)


def everything(output: Path, objects: Sequence[Path], program: Program, expected: Outcome
               ) -> list[str]:
    report = check_macho_fields(output, objects)
    return [*structure(output), *fields(output, objects, absolute_names(program), report),
            *slid(output, report), *emulated(output, expected, "lazy"),
            *emulated(output, expected, "now")]
