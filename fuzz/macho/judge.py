"""The checks applied to a linked Mach-O program, each returning its problems as one-line
strings (empty: right): oracle.check, the Mach-O relocation-field oracle (which also
requires every pointer into an MH_PIE image to be slid: rebased, or locally relocated), and
the emulated dyld (lazy or eager binding, MH_PIE images slid) against the model's trace and
exit status.  The model names
libraries by ELF soname (libtraceN.so); the emulated dyld by install name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oracle.check import check
from oracle.check.macho.stabs import N_FUN, N_GSYM, N_STSYM, Unit, debug_map_units
from oracle.emulate import run
from oracle.emulate.macho import image as mi
from oracle.macho_relocs import check_macho_fields
from oracle.macho_relocs_inputs import read_object
from oracle.macho_relocs_output import Output, Placement

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


def fields(output: Path, objects: Sequence[Path]) -> list[str]:
    """Field-oracle mismatches.  One oracle gap is still worked around (below); two others
    the judge hid are closed in the oracle and no longer filtered: UNSIGNED fields against
    N_ABS symbols (37f8dc5) and a SUBTRACTOR pair's non-extern minuend (b50b904), whose
    filter hid a linkharness bug (the minuend resolved by address instead of by section)."""
    report = check_macho_fields(output, objects)
    return [f"relocation field: {m}" for m in report.mismatches
            if not (m.kind == "unplaced" and m.section in _weak_only_sections(m.file))]


def _weak_only_sections(path: str) -> set[str]:
    """Sections of an input whose every external definition is weak.  Without
    MH_SUBSECTIONS_VIA_SYMBOLS a section is one atom, and ld64.lld-14 drops it whole when its
    weak definitions lose; the oracle reports its fields "unplaced" (reported upstream).
    Still needed: its "in a weak definition that lost" skip does not cover every such field
    (fuzz/test_macho_properties.py's lld property, without this filter: an unplaced
    X86_64_RELOC_BRANCH in a dropped weak-only __text)."""
    obj = read_object(path)
    out = set()
    for ordinal, sec in enumerate(obj.sections, 1):
        defs = [s for s in obj.symbols if s.sect == ordinal and s.type & N_EXT]
        if defs and all(s.desc & N_WEAK_DEF for s in defs):
            out.add(f"{sec.segname},{sec.sectname}")
    return out


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


S_ATTR_INSTRUCTIONS = 0x80000400


def _debug_symbols(path: Path) -> tuple[bool, set[str], set[str], set[str]]:
    """(has a DWARF unit, strong code symbols, strong data symbols, the rest) of an input:
    what its debug-map unit must list, and what it may (a weak definition may have lost,
    a COMMON is the linker's to place)."""
    img = mi.parse(path.read_bytes())
    sections = img.sections()
    has_unit = any(s.segname == "__DWARF" and s.sectname == "__debug_info" and s.size
                   for s in sections)
    code: set[str] = set()
    data: set[str] = set()
    weak: set[str] = set()
    for sym in img.symbols():
        if sym.undefined and sym.value and sym.type & N_EXT:
            weak.add(sym.name)  # COMMON: ld64.lld lists it under a declaring object
        if not sym.defined_in_section or not sym.name or sym.name[0] in "lL":
            continue
        sect = sections[sym.sect - 1]
        if sect.segname == "__DWARF":
            continue
        if sym.desc & N_WEAK_DEF:
            weak.add(sym.name)
        else:
            (code if sect.flags & S_ATTR_INSTRUCTIONS else data).add(sym.name)
    return has_unit, code, data, weak


def debug_map(output: Path, objects: Sequence[Path]) -> list[str]:
    """The map against the inputs: one unit per object with a DWARF unit and a strong
    definition, in link order, naming the object by absolute path and its source; each
    unit lists exactly the object's strong functions (N_FUN) and data (N_GSYM/N_STSYM),
    and may list its weak definitions and COMMON symbols."""
    units = debug_map_units(mi.parse(output.read_bytes()))
    mapped = [(u.objects[0].name if len(u.objects) == 1 else None, u) for u in units]
    problems = []
    expected = []
    for obj in objects:
        has_unit, code, data, weak = _debug_symbols(obj)
        if has_unit and (code or data or weak):
            expected.append((str(obj.resolve()), obj.stem, code, data, weak,
                             not (code or data)))
    names = [name for name, _ in mapped]
    required = [e[0] for e in expected if not e[5]]
    allowed = {e[0] for e in expected}
    if [n for n in names if n in required] != required or not set(names) <= allowed:
        problems.append(f"debug map: N_OSO {names}, inputs with debug information "
                        f"{required} (and perhaps {sorted(allowed - set(required))})")
        return problems
    by_path = {name: unit for name, unit in mapped}
    problems += _stab_addresses(output, objects, by_path)
    for path, stem, code, data, weak in (e[:5] for e in expected):
        unit = by_path.get(path)
        if unit is None:
            continue
        if not unit.sources or not unit.sources[-1].endswith(f"{stem}.s"):
            problems.append(f"debug map: unit of {path} names source {unit.sources}")
        functions = {e.name for e in unit.entries if e.type == N_FUN and e.name}
        variables = {e.name for e in unit.entries if e.type in (N_GSYM, N_STSYM)}
        if not code <= functions <= code | weak or not data <= variables <= data | weak:
            problems.append(f"debug map: unit of {path} lists functions {sorted(functions)} "
                            f"and data {sorted(variables)}; the object defines "
                            f"{sorted(code)} and {sorted(data)} (weak: {sorted(weak)})")
    return problems


def _stab_addresses(output: Path, objects: Sequence[Path], units: dict[str | None, Unit]
                    ) -> list[str]:
    """Each N_FUN/N_STSYM/N_GSYM of a unit at the address its object's symbol landed at,
    found without the output's symbol table (which lists no static symbol): each input
    section placed by the field oracle's Placement (its external symbols, else its bytes)."""
    out = Output(output)
    cursor: dict[str, int] = {}
    problems = []
    for path in objects:
        obj = read_object(path)
        place = Placement(out, obj, cursor)  # in input order: the cursor follows the link
        unit = units.get(str(path.resolve()))
        if unit is None:
            continue
        where: dict[str, int] = {}
        for sym in obj.symbols:
            index = sym.sect - 1
            if sym.defined_in_section and not sym.desc & N_WEAK_DEF and index in place.bases:
                where[sym.name] = place.bases[index] + sym.value - obj.sections[index].addr
        for entry in unit.entries:
            if entry.type in (N_FUN, N_STSYM, N_GSYM) and entry.name in where \
                    and not (entry.type == N_GSYM and entry.value == 0) \
                    and entry.value != where[entry.name]:
                problems.append(f"debug map: {entry.name} of {path} at {entry.value:#x}, its "
                                f"section places it at {where[entry.name]:#x}")
    return problems


def everything(output: Path, objects: Sequence[Path], program: Program, expected: Outcome,
               tables: str = "full") -> list[str]:
    """Every judge.  `tables` (judge_tables.TABLE_MODES): an output linked with -s has no
    debug map, and with -s or -x too few symbols for the field oracle, which finds each
    target by name; the checker and the emulated runs judge those still."""
    return [*structure(output),
            *(fields(output, objects) if tables == "full" else []),
            *(debug_map(output, objects) if tables != "strip" else []),
            *emulated(output, expected, "lazy"),
            *emulated(output, expected, "now")]
