"""The harness's own power: seed bugs into the linker, one at a time, and require the fuzz
properties (with every check they apply) to catch them.

Each mutant is a monkeypatch of a linker internal that a plausible bug would touch, filed
under a family of the feature inventory (fuzz/inventory.py).  The same programs (the
hand-made samples first: fuzz.samples.SAMPLE, fuzz.samples_reach's REACH_SAMPLE and
ARCHIVE_SAMPLE and one overflow past every field edge; then a deterministic handful of
drawn ones, plain and "reach") are linked by each mutant and judged by
`fuzz.judge.everything` (structure, relocation fields, emulated run lazy and eager); the
error models are judged by property (c)'s rule that the link must fail.  A mutant is killed
by the first program that exposes it.  At least 90% must be killed; the per-family table
and every mutant's fate are printed (`-s`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz import judge
from fuzz.copy_canonical import SAMPLES as COPY_SAMPLES
from fuzz.copy_canonical import build_library as build_libreach
from fuzz.copy_canonical import write_program as write_copy_program
from fuzz.debug_judge import debug_info
from fuzz.libtrace import build_libraries
from fuzz.model import Binding as ModelBinding
from fuzz.model import Call, CallVia, Function, ObjectModel, Program, Section, SectionKind
from fuzz.pipeline import libraries, write_objects
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
from fuzz.pipeline_reach import link_linkharness, linked_object_files, write_inputs
from fuzz.power import (
    Mutants,
    WrittenCases,
    case_directories,
    collect,
    first_exposure,
    print_kill_table,
    seed_each,
)
from fuzz.samples import SAMPLE
from fuzz.samples_reach import ARCHIVE_SAMPLE, REACH_SAMPLE, WEAK_SAMPLE, edge_error_samples
from fuzz.semantics import outcome
from fuzz.strategies import error_programs, programs
from fuzz.strategies_i386 import SAMPLE_CASE as I386_SAMPLE_CASE
from fuzz.strategies_reach import edge_error_programs, reach_programs
from fuzz.tls import SAMPLE as TLS_SAMPLE
from fuzz.tls import TLS_GET_ADDR_LIBRARY
from fuzz.tls import write_objects as write_tls_objects
from linker import LinkError, link
from linker import apply as apply_module
from linker import layout as layout_module
from linker import synth as synth_module
from linker.arch import PLT_TEMPLATES
from linker.elf import got_relax, hashes, read, read_bulk, tls_relax
from linker.elf import link as elf_link
from linker.elf import merge as merge_module
from linker.elf.load import Loader
from linker.kinds import Howto, Overflow, RelocKind
from linker.layout import OutputSection
from linker.model import Binding, DynamicSymbol, LazySymbols, RelocTable
from linker.resolve import SymbolTable
from linker.synth import SyntheticBuilder
from oracle.native import run_native
from tests.shared_mutants import canonical_not_exported, patch_howto_bounds

VALID_EXAMPLES = 40
REACH_EXAMPLES = 12
ERROR_EXAMPLES = 30
EDGE_ERROR_EXAMPLES = 10
REQUIRED_SHARE = 0.9  # of the seeded bugs, caught

# Each seeded bug is filed under a family of the issue's: printed as a per-family table.
MUTANTS = Mutants(default_family="dynamic tables and layout")
mutant = MUTANTS


def _template(mp: pytest.MonkeyPatch, **changes: Any) -> None:
    mp.setitem(PLT_TEMPLATES, "x86_64", dataclasses.replace(PLT_TEMPLATES["x86_64"], **changes))


@mutant("PC32 addend off by one", "relocations")
def _pc32_addend(mp: pytest.MonkeyPatch) -> None:
    original = read.relocation_rows  # what both readers, one by one and in bulk, build

    def rows(*args: Any) -> np.ndarray:
        out = original(*args).copy()
        out["addend"][out["howto"] == 2] += 1  # R_X86_64_PC32
        return out
    mp.setattr(read, "relocation_rows", rows)


@mutant("PLT0 pushes the wrong GOT slot")
def _plt0_push(mp: pytest.MonkeyPatch) -> None:
    push, jump = PLT_TEMPLATES["x86_64"].plt0_fields
    _template(mp, plt0_fields=(dataclasses.replace(push, addend=push.addend + 8), jump))


@mutant("a PLT entry pushes the wrong index")
def _plt_index(mp: pytest.MonkeyPatch) -> None:
    _template(mp, push_value=lambda n: n + 1)


@mutant("a PLT entry jumps through the wrong slot")
def _plt_slot(mp: pytest.MonkeyPatch) -> None:
    fields = PLT_TEMPLATES["x86_64"].entry_fields
    _template(mp, entry_fields=lambda slot, entry: tuple(
        dataclasses.replace(f, addend=f.addend + 8) if f.target == "got.plt" else f
        for f in fields(slot, entry)))


@mutant("a lazy slot points at its PLT entry instead of the push")
def _lazy_slot(mp: pytest.MonkeyPatch) -> None:
    _template(mp, push_offset=0)


@mutant("GOT[0] is not _DYNAMIC")
def _got0(mp: pytest.MonkeyPatch) -> None:
    original = SyntheticBuilder.reloc

    def reloc(self: SyntheticBuilder, sec, offset, howto, symbol, addend) -> None:
        if not (sec.name == ".got.plt" and offset == 0):
            original(self, sec, offset, howto, symbol, addend)
    mp.setattr(SyntheticBuilder, "reloc", reloc)


def _dynamic_relocs(mp: pytest.MonkeyPatch, edit: Callable[[Any, Any], None]) -> None:
    original = elf_link.plan_relocations

    def plan(tables, arch, *rest) -> None:
        original(tables, arch, *rest)
        edit(tables, arch)
    mp.setattr(elf_link, "plan_relocations", plan)


@mutant("a COPY relocation is missing", "COPY and canonical PLT")
def _copy_missing(mp: pytest.MonkeyPatch) -> None:
    def edit(tables, arch) -> None:
        tables.rela_dyn[:] = [r for r in tables.rela_dyn if r.type != arch.dyn.copy]
    _dynamic_relocs(mp, edit)


@mutant("a dynamic R_X86_64_64 loses its addend")
def _abs_addend(mp: pytest.MonkeyPatch) -> None:
    def edit(tables, arch) -> None:
        for r in tables.rela_dyn:
            if r.type == arch.dyn.abs_word:
                r.addend = 0
    _dynamic_relocs(mp, edit)


@mutant("a JUMP_SLOT relocation names the next slot")
def _jump_slot(mp: pytest.MonkeyPatch) -> None:
    def edit(tables, arch) -> None:
        for r in tables.rela_plt:
            where = r.where
            r.where = lambda where=where: where() + 8
    _dynamic_relocs(mp, edit)


@mutant("a section's alignment is ignored")
def _alignment(mp: pytest.MonkeyPatch) -> None:
    def add(self: OutputSection, sec) -> None:
        self.inputs.append(sec)
        self.offsets.append(self.size)
        self.size += sec.size
    mp.setattr(OutputSection, "add", add)


@mutant("a weak definition is preferred over a strong one", "symbol resolution")
def _weak_wins(mp: pytest.MonkeyPatch) -> None:
    original = SymbolTable._add_definition

    def add(self: SymbolTable, sym, obj, i, weak) -> None:
        if sym.file is not None and not sym.common and (weak or sym.binding == Binding.WEAK):
            if weak:  # whichever comes first, the weak definition ends up winning
                shndx = int(obj.symbols.section[i])
                self._define(sym, obj, i, obj.sections[shndx] if shndx >= 0 else None)
                sym.binding = Binding.WEAK
            return
        original(self, sym, obj, i, weak)
    mp.setattr(SymbolTable, "_add_definition", add)


@mutant("a batch of objects flags its weak references strong", "symbol resolution")
def _batch_weak_strong(mp: pytest.MonkeyPatch) -> None:
    """SymbolTable.add_objects' bulk reference pass with the weak mask lost: an undefined
    weak reference in a batch demands a definition (and may pull an archive member)."""
    original = SymbolTable._add_references

    def add(self: SymbolTable, objs, gid, owner, weak) -> None:
        original(self, objs, gid, owner, np.zeros_like(weak))
    mp.setattr(SymbolTable, "_add_references", add)


@mutant("the bulk reader drops the last relocation section of a batch", "relocations")
def _batch_last_relocations(mp: pytest.MonkeyPatch) -> None:
    """The bulk reader's split of a batch's rows by section one piece short (a zip over
    pieces and sections silently stops at the shorter)."""
    original = read_bulk._relocations

    def relocations(files) -> None:
        original(files)
        placed = [sec for f in files for sec in f.obj.sections
                  if sec is not None and len(sec.relocs)]
        if placed:
            placed[-1].relocs = RelocTable.empty()
    mp.setattr(read_bulk, "_relocations", relocations)


@mutant("R_X86_64_32S is checked as unsigned", "range checks")
def _32s_unsigned(mp: pytest.MonkeyPatch) -> None:
    table = read.RELOC_TABLES["x86_64"]
    howtos = list(table.howtos)
    howtos[11] = Howto("R_X86_64_32S", RelocKind.ABS, 4, Overflow.UNSIGNED)
    mp.setitem(read.RELOC_TABLES, "x86_64", dataclasses.replace(table, howtos=tuple(howtos)))


@mutant("GOTPCREL points one slot past the symbol's", "relocations")
def _got_pc(mp: pytest.MonkeyPatch) -> None:
    original = apply_module.compute

    def compute(kind: RelocKind, **letters: Any) -> np.ndarray:
        if kind is RelocKind.GOT_PC:
            letters["G"] = letters["G"] + 8
        return original(kind, **letters)
    mp.setattr(apply_module, "compute", compute)


@mutant("GOT relaxation in bulk retypes the loads but keeps their instruction bytes",
        "relocations")
def _got_relax_bytes_kept(mp: pytest.MonkeyPatch) -> None:
    """The bulk rewrite (got_relax._relax_all) with its bytes lost: each relaxed row is
    retyped to its direct form while the section keeps `mov foo@GOTPCREL(%rip)`, which
    then loads from the symbol's address instead of taking it."""
    original = got_relax._relax_all

    def relax_all(sections: list[Any], *rest: Any) -> Any:
        before = [sec.data for sec in sections]
        out = original(sections, *rest)
        for sec, data in zip(sections, before):
            sec.data = data
        return out
    mp.setattr(got_relax, "_relax_all", relax_all)


@mutant("a weak definition beats a COMMON", "COMMON")
def _weak_beats_common(mp: pytest.MonkeyPatch) -> None:
    add_common, add_definition = SymbolTable._add_common, SymbolTable._add_definition

    def common(self: SymbolTable, sym, obj, i) -> None:
        if not (sym.file is not None and not sym.common and sym.binding == Binding.WEAK):
            add_common(self, sym, obj, i)

    def definition(self: SymbolTable, sym, obj, i, weak) -> None:
        if weak and sym.common and sym.file is not None:
            shndx = int(obj.symbols.section[i])
            self._define(sym, obj, i, obj.sections[shndx] if shndx >= 0 else None)
            sym.binding = Binding.WEAK
            return
        add_definition(self, sym, obj, i, weak)
    mp.setattr(SymbolTable, "_add_common", common)
    mp.setattr(SymbolTable, "_add_definition", definition)


@mutant("COMMON keeps the first size instead of the largest", "COMMON")
def _common_size(mp: pytest.MonkeyPatch) -> None:
    original = SymbolTable._add_common

    def add(self: SymbolTable, sym, obj, i) -> None:
        if not sym.common:
            original(self, sym, obj, i)
    mp.setattr(SymbolTable, "_add_common", add)


@mutant("the SysV hash puts names in the wrong bucket")
def _sysv_hash(mp: pytest.MonkeyPatch) -> None:
    original = hashes.sysv_hash
    mp.setattr(hashes, "sysv_hash", lambda name: original(name) + 1)


@mutant("zero-fill is written to the file")
def _zero_fill_written(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.assign_addresses

    def assign(segments, **kw: Any):
        layout = original(segments, **kw)
        for seg in segments:
            seg.filesz = seg.memsz  # .bss bytes become (zero) file bytes
        last = segments[-1]
        layout.end_of_file_data = max(layout.end_of_file_data, last.file_offset + last.memsz)
        return layout
    mp.setattr(elf_link, "assign_addresses", assign)


@mutant("a segment starts on a page but not on its alignment")
def _segment_on_page(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(layout_module, "segment_alignment", lambda seg, page: page)


def _howto(mp: pytest.MonkeyPatch, index: int, overflow: Overflow) -> None:
    table = read.RELOC_TABLES["x86_64"]
    howtos = list(table.howtos)
    howtos[index] = dataclasses.replace(howtos[index], overflow=overflow)
    mp.setitem(read.RELOC_TABLES, "x86_64", dataclasses.replace(table, howtos=tuple(howtos)))


@mutant("R_X86_64_32 is checked as signed (32S's rule)", "range checks")
def _32_signed(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 10, Overflow.SIGNED)  # R_X86_64_32: 0x80000000..0xffffffff refused


@mutant("R_X86_64_8/16 are checked as unsigned (negative values refused)", "range checks")
def _narrow_unsigned(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 12, Overflow.UNSIGNED)  # R_X86_64_16
    _howto(mp, 14, Overflow.UNSIGNED)  # R_X86_64_8


@mutant("R_X86_64_PC8/PC16 are not range-checked", "range checks")
def _pc_narrow_unchecked(mp: pytest.MonkeyPatch) -> None:
    _howto(mp, 13, Overflow.NONE)  # R_X86_64_PC16
    _howto(mp, 15, Overflow.NONE)  # R_X86_64_PC8


@mutant("a signed range's lower bound is off by one (-2**(w-1)+1)", "range checks")
def _signed_low_off_by_one(mp: pytest.MonkeyPatch) -> None:
    original = Howto.bounds

    def bounds(self: Howto) -> tuple[int, int]:
        low, high = original(self)
        return (low + 1, high) if self.overflow is Overflow.SIGNED else (low, high)
    patch_howto_bounds(mp, bounds)


@mutant("an unsigned range's upper bound is off by one (2**w, not 2**w-1)", "range checks")
def _unsigned_high_off_by_one(mp: pytest.MonkeyPatch) -> None:
    original = Howto.bounds

    def bounds(self: Howto) -> tuple[int, int]:
        low, high = original(self)
        return (low, high + 1) if self.overflow is Overflow.UNSIGNED else (low, high)
    patch_howto_bounds(mp, bounds)


@mutant("merged COMMON takes the first declaration's alignment", "COMMON")
def _common_align(mp: pytest.MonkeyPatch) -> None:
    original = SymbolTable._add_common

    def add(self: SymbolTable, sym, obj, i) -> None:
        kept = sym.common_align if sym.common else None
        original(self, sym, obj, i)
        if kept is not None and sym.common:
            sym.common_align = kept
    mp.setattr(SymbolTable, "_add_common", add)


@mutant("a weak reference pulls an archive member", "archives and weak references")
def _weak_pulls(mp: pytest.MonkeyPatch) -> None:
    original = Loader._pull

    def pull(self: Loader, archive, loaded) -> bool:
        weak = [s for s in self.symtab.symbols if s.referenced and not s.strong_ref]
        for s in weak:
            s.strong_ref = True  # the pull asks "referenced?" instead of "strongly?"
        try:
            return original(self, archive, loaded)
        finally:
            for s in weak:
                s.strong_ref = False
    mp.setattr(Loader, "_pull", pull)


@mutant("an archive is scanned once (a member needed by a later member is missed)",
        "archives and weak references")
def _archive_single_pass(mp: pytest.MonkeyPatch) -> None:
    def pull(self: Loader, archive, loaded) -> bool:
        added = False
        for name, members in archive.index.items():
            sym = self.symtab.by_name.get(name)
            if sym is None:
                continue
            if sym.common and sym.file is not None:
                found = [m for m in members if m not in loaded
                         and self._defines_data(archive, m, name)]
                if not found:
                    continue
                n = found[0]
            elif not sym.strong_ref or not sym.undefined:
                continue
            else:
                n = members[0]
            if n not in loaded:
                self._load_member(archive, n, loaded)
                added = True
        return added
    mp.setattr(Loader, "_pull", pull)


@mutant("a group is rescanned only once", "archives and weak references")
def _group_once(mp: pytest.MonkeyPatch) -> None:
    def rescan(self: Loader, group) -> None:
        for archive, loaded in group:
            self._pull(archive, loaded)
    mp.setattr(Loader, "_rescan", rescan)


@mutant("an archive member initialising a COMMON is not pulled", "archives and weak references")
def _common_member(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(Loader, "_defines_data", lambda self, archive, n, name: False)


@mutant("an undefined weak symbol is the image base, not 0", "archives and weak references")
def _weak_undefined_base(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.symbol_addresses

    def addresses(symtab: SymbolTable, *rest: Any):
        out = original(symtab, *rest)
        for sym in symtab.symbols:
            if sym.undefined and not sym.linker_defined:
                out.address[sym.id] = 0x400000
        return out
    mp.setattr(elf_link, "symbol_addresses", addresses)


@mutant("a COPY alias gets its own copy", "COPY and canonical PLT")
def _copy_alias(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(synth_module, "_aliases", lambda globals_, sym: [])


@mutant("a library export's record is made from the row after its name's",
        "COPY and canonical PLT")
def _export_next_row(mp: pytest.MonkeyPatch) -> None:
    """model.LazySymbols makes a record when a name is asked for: an off-by-one between
    the names and the columns would bind imports to another export's name, type and size."""
    def record(self: LazySymbols, name: str) -> DynamicSymbol:
        row = self.rows[name]
        return self._make(row + 1 if row + 1 < len(self._types) else row)
    mp.setattr(LazySymbols, "__getitem__", record)


@mutant("a COPY ignores the library's alignment", "COPY and canonical PLT")
def _copy_alignment(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(synth_module, "_copy_alignment", lambda sym: 4)


mutant("a canonical PLT entry is not the import's .dynsym value",
       "COPY and canonical PLT")(canonical_not_exported)


@mutant("local exec offsets from the TLS block's start (variant I), not its end", "TLS")
def _tls_variant_one(mp: pytest.MonkeyPatch) -> None:
    original = apply_module.compute

    def compute(kind: RelocKind, **letters: Any) -> np.ndarray:
        if kind is RelocKind.TLS_TPOFF:
            letters["TP"] = letters.get("TLS", 0)
        return original(kind, **letters)
    mp.setattr(apply_module, "compute", compute)


@mutant("an initial exec load names the next GOT slot", "TLS")
def _tls_ie_slot(mp: pytest.MonkeyPatch) -> None:
    original = apply_module.compute

    def compute(kind: RelocKind, **letters: Any) -> np.ndarray:
        if kind is RelocKind.TLS_GOT_PC:
            letters["G"] = letters["G"] + 8
        return original(kind, **letters)
    mp.setattr(apply_module, "compute", compute)


@mutant("general dynamic relaxed to local exec leaves the address in %rcx", "TLS")
def _tls_gd_register(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tls_relax, "LE_FROM_GD", tls_relax.LE_FROM_GD[:-1] + b"\x88")


@mutant("R_X86_64_DTPOFF32 not turned into a TP offset when local dynamic is relaxed", "TLS")
def _tls_dtpoff_kept(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tls_relax, "RELAXABLE", (tls_relax.R_TLSGD, tls_relax.R_TLSLD))


@mutant("a debug relocation misses its target's place in its output section", "debug information")
def _debug_placement(mp: pytest.MonkeyPatch) -> None:
    """Every non-allocated input taken to sit at the start of its output section: a second
    object's unit then names the first one's abbreviations, lines and strings."""
    original = elf_link.place_non_alloc

    def place(outs: list[OutputSection], layout: Any, start: int) -> int:
        end = original(outs, layout, start)
        for out in outs:
            for sec in out.inputs:
                layout.section_address[id(sec)] = 0
        return end
    mp.setattr(elf_link, "place_non_alloc", place)


@mutant("a debug field of the surviving COMDAT copy tombstoned", "debug information")
def _debug_live_tombstone(mp: pytest.MonkeyPatch) -> None:
    """Every local symbol of a COMDAT member taken as discarded, the kept copy's too: its
    code's ranges and line rows get the tombstone instead of its address."""
    original = apply_module._in_discarded_sections

    def dead(objects: Any, layout: Any) -> np.ndarray:
        mask = original(objects, layout).copy()
        start = 0
        for obj in objects:  # the objects' symbol tables are joined in the mask
            end = start + len(obj.symbols)
            for index, sec in enumerate(obj.sections):
                if sec is not None and sec.comdat:
                    mask[start:end] |= obj.symbols.section == index
            start = end
        return mask
    mp.setattr(apply_module, "_in_discarded_sections", dead)


@mutant("debug strings not merged", "debug information")
def _debug_strings_unmerged(mp: pytest.MonkeyPatch) -> None:
    original = merge_module._cut
    mp.setattr(merge_module, "_cut", lambda sec: None if sec.name.startswith(".debug_")
               else original(sec))


def _comdat_object(name: str, caller: str) -> ObjectModel:
    return ObjectModel(name, (Section(".text", SectionKind.TEXT, 16),
                              Section(".text.lh_f1", SectionKind.TEXT, 16, group="lh_f1")),
                       functions=(Function(caller, ModelBinding.GLOBAL, ".text", 16, 1,
                                           (Call("lh_f1", CallVia.DIRECT),)),
                                  Function("lh_f1", ModelBinding.WEAK, ".text.lh_f1", 16, 2, ())))


# Two objects with one COMDAT group, assembled with debug information: the second copy's
# ranges and line rows must get tombstones, the first's its address.
COMDAT_DEBUG = Program(objects=(_comdat_object("o0", "lh_main"), _comdat_object("o1", "lh_g")),
                       libraries=())


@dataclasses.dataclass(frozen=True)
class Case:
    program: Program
    objects: list[Path]  # every object written (archive members too)
    inputs: list[str]  # the link's inputs: objects, archives, group markers


@dataclasses.dataclass(frozen=True)
class Cases:
    root: Path
    lib_dir: Path
    valid: list[Case]
    errors: list[Case]
    copies: list[Path]  # fuzz.copy_canonical's samples, run natively against libreach
    libreach: Path
    tls: list[Path]  # fuzz.tls's sample, run natively (exit 0) against libtrace1.so
    debug: list[Path]  # the sample through GNU as --gdwarf-5: objects with debug sections
    debug_comdat: list[Path]  # COMDAT_DEBUG through GNU as --gdwarf-5


def _cases(programs_: list[Program], root: Path, prefix: str) -> list[Case]:
    out = []
    for n, p in enumerate(programs_):
        objects, inputs = write_inputs(p, root / f"{prefix}{n}")
        out.append(Case(p, objects, inputs))
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power")
    lib_dir = root / "lib"
    lib_dir.mkdir()
    build_libraries(lib_dir)
    # The fuzzers' hand-made sample (every flavour at once) first, so that what is caught does
    # not hinge on which programs a Hypothesis version happens to draw; then drawn ones.
    # The reach sample (archives, undefined weak, COMMON alignments, every field edge) and
    # one overflow past every edge come first for the same reason.
    drawn = [SAMPLE, REACH_SAMPLE, ARCHIVE_SAMPLE, WEAK_SAMPLE,
             *collect(programs(), VALID_EXAMPLES),
             *collect(reach_programs(), REACH_EXAMPLES)]
    errors = [*edge_error_samples(), *collect(error_programs(), ERROR_EXAMPLES),
              *collect(edge_error_programs(), EDGE_ERROR_EXAMPLES)]
    copies = [write_copy_program(c, root / f"c{n}") for n, c in enumerate(COPY_SAMPLES)]
    return Cases(root, lib_dir, _cases(drawn, root, "v"), _cases(errors, root, "e"), copies,
                 build_libreach(lib_dir), write_tls_objects(TLS_SAMPLE, root / "tls"),
                 write_objects(SAMPLE, root / "debug", "as"),
                 write_objects(COMDAT_DEBUG, root / "debug-comdat", "as"))


def _exposed(cases: Cases) -> str | None:
    """What exposes the current linker, or None when every check passes."""
    for n, case in enumerate(cases.valid):
        exe = cases.root / f"out{n}"
        try:
            link_linkharness(case.inputs, libraries(case.program, cases.lib_dir), exe)
        except LinkError as e:
            return f"valid program {n} refused: {e}"
        problems = judge.everything(exe, linked_object_files(case.program, case.objects),
                                    outcome(case.program), cases.lib_dir)
        if problems:
            return f"program {n}: {problems[0]}"
    for n, obj in enumerate(cases.copies):
        exe = cases.root / f"copy{n}"
        link([str(obj), str(cases.libreach)], exe, entry="_start",
             dynamic_linker=judge.DYNAMIC_LINKER)
        problems = [*judge.structure(exe), *judge.fields(exe, [obj])]
        status = run_native(str(exe), env={"LD_LIBRARY_PATH": str(cases.lib_dir)}).exit_code
        if problems or status:
            return f"COPY/canonical sample {n}: exit mask {status:#x} {problems[:1]}"
    exe = cases.root / "tls.out"
    link([*map(str, cases.tls), str(cases.lib_dir / "libtrace1.so"), TLS_GET_ADDR_LIBRARY],
         exe, entry="_start", dynamic_linker=judge.DYNAMIC_LINKER)
    problems = [*judge.structure(exe), *judge.fields(exe, cases.tls)]
    status = run_native(str(exe), env={"LD_LIBRARY_PATH": str(cases.lib_dir)}).exit_code
    if problems or status:
        return f"TLS sample: exit mask {status:#x} {problems[:1]}"
    for name, program, objects in (("sample", SAMPLE, cases.debug),
                                   ("COMDAT sample", COMDAT_DEBUG, cases.debug_comdat)):
        exe = cases.root / f"debug-{len(objects)}.out"
        link_linkharness([str(o) for o in objects], libraries(program, cases.lib_dir), exe)
        problems = [*judge.structure(exe), *judge.fields(exe, objects), *debug_info(exe)]
        if problems:
            return f"{name} with debug information: {problems[0]}"
    for n, case in enumerate(cases.errors):
        try:
            link_linkharness(case.inputs, libraries(case.program, cases.lib_dir),
                             cases.root / "err")
        except LinkError:
            continue
        return f"error model {n} ({case.program.error}, {case.program.culprit}) accepted"
    return None


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_bugs_are_caught(cases: Cases) -> None:
    assert len(MUTANTS) >= 25
    results = seed_each(MUTANTS, lambda: _exposed(cases))
    killed = print_kill_table("harness power", results, MUTANTS)
    assert killed >= REQUIRED_SHARE * len(MUTANTS), results


# -- debug information on i386 -----------------------------------------------------------------
# The "debug information" family again, on elf32-i386: the i386 sample and COMDAT_DEBUG
# through `as --32 --gdwarf-5` (R_386_32 debug relocations), each mutant caught there too.


@pytest.fixture(scope="module")
def i386_debug(tmp_path_factory: pytest.TempPathFactory) -> WrittenCases[Program]:
    root, lib_dir = case_directories(tmp_path_factory, "power-debug-i386", m32=True)
    sample = I386_SAMPLE_CASE
    return WrittenCases(root, lib_dir, [
        (sample.program, write_objects_i386(sample.program, root / "sample", use_as=True,
                                            choices=sample.choices)),
        (COMDAT_DEBUG, write_objects_i386(COMDAT_DEBUG, root / "comdat", use_as=True))])


def _judged_i386_debug(debug: WrittenCases[Program], n: int) -> list[str]:
    program, objects = debug.cases[n]
    exe = debug.root / f"debug{n}.out"
    link_linkharness_i386(objects, libraries(program, debug.lib_dir), exe)
    return [*judge.structure(exe), *judge.fields(exe, objects), *debug_info(exe)]


def _exposed_i386_debug(debug: WrittenCases[Program]) -> str | None:
    return first_exposure((f"i386 debug case {n}", partial(_judged_i386_debug, debug, n))
                          for n in range(len(debug.cases)))


def test_debug_bugs_are_caught_on_i386(i386_debug: WrittenCases[Program]) -> None:
    assert _exposed_i386_debug(i386_debug) is None
    family = Mutants()
    for name, seed in MUTANTS.seeds.items():
        if MUTANTS.family.get(name) == "debug information":
            family.seeds[name] = seed
    assert len(family) == 3
    results = seed_each(family, lambda: _exposed_i386_debug(i386_debug))
    assert print_kill_table("i386 debug information", results) == len(family), results
