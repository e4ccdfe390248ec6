"""The harness's own power: seed bugs into the linker, one at a time, and require the fuzz
properties (with every check they apply) to catch them.

Each mutant is a monkeypatch of a linker internal that a plausible bug would touch.  The
same drawn programs (ci budget: a handful, deterministic) are linked by each mutant and
judged by `fuzz.judge.everything` (structure, relocation fields, emulated run lazy and
eager); the error models are judged by property (c)'s rule that the link must fail.  A
mutant is killed by the first program that exposes it.  The issue asks for at least 11
kills; the count is printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis.strategies import SearchStrategy

from fuzz import judge
from fuzz.libtrace import build_libraries
from fuzz.model import Program
from fuzz.pipeline import libraries, link_linkharness, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies import error_programs, programs
from linker import LinkError
from linker import apply as apply_module
from linker import layout as layout_module
from linker.arch import PLT_TEMPLATES
from linker.elf import hashes, read
from linker.elf import link as elf_link
from linker.kinds import Howto, Overflow, RelocKind
from linker.layout import OutputSection
from linker.model import Binding
from linker.resolve import SymbolTable
from linker.synth import SyntheticBuilder

VALID_EXAMPLES = 40
ERROR_EXAMPLES = 30
REQUIRED_KILLS = 11

Mutant = Callable[[pytest.MonkeyPatch], None]
MUTANTS: dict[str, Mutant] = {}


def mutant(name: str) -> Callable[[Mutant], Mutant]:
    def register(fn: Mutant) -> Mutant:
        MUTANTS[name] = fn
        return fn
    return register


def _template(mp: pytest.MonkeyPatch, **changes: Any) -> None:
    mp.setitem(PLT_TEMPLATES, "x86_64", dataclasses.replace(PLT_TEMPLATES["x86_64"], **changes))


@mutant("PC32 addend off by one")
def _pc32_addend(mp: pytest.MonkeyPatch) -> None:
    original = read._reloc_rows

    def rows(*args: Any) -> np.ndarray:
        out = original(*args).copy()
        out["addend"][out["howto"] == 2] += 1  # R_X86_64_PC32
        return out
    mp.setattr(read, "_reloc_rows", rows)


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


@mutant("a COPY relocation is missing")
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


@mutant("a weak definition is preferred over a strong one")
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


@mutant("R_X86_64_32S is checked as unsigned")
def _32s_unsigned(mp: pytest.MonkeyPatch) -> None:
    table = read.RELOC_TABLES["x86_64"]
    howtos = list(table.howtos)
    howtos[11] = Howto("R_X86_64_32S", RelocKind.ABS, 4, Overflow.UNSIGNED)
    mp.setitem(read.RELOC_TABLES, "x86_64", dataclasses.replace(table, howtos=tuple(howtos)))


@mutant("GOTPCREL points one slot past the symbol's")
def _got_pc(mp: pytest.MonkeyPatch) -> None:
    original = apply_module.compute

    def compute(kind: RelocKind, **letters: Any) -> np.ndarray:
        if kind is RelocKind.GOT_PC:
            letters["G"] = letters["G"] + 8
        return original(kind, **letters)
    mp.setattr(apply_module, "compute", compute)


@mutant("COMMON keeps the first size instead of the largest")
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


def _collect(strategy: SearchStrategy[Program], count: int) -> list[Program]:
    drawn: list[Program] = []

    @settings(max_examples=count, derandomize=True, phases=[Phase.generate], database=None,
              deadline=None)
    @given(strategy)
    def collect(program: Program) -> None:
        drawn.append(program)

    collect()
    return drawn


@dataclasses.dataclass(frozen=True)
class Cases:
    root: Path
    lib_dir: Path
    valid: list[tuple[Program, list[Path]]]
    errors: list[tuple[Program, list[Path]]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power")
    lib_dir = root / "lib"
    lib_dir.mkdir()
    build_libraries(lib_dir)
    # The fuzzers' hand-made sample (every flavour at once) first, so that what is caught does
    # not hinge on which programs a Hypothesis version happens to draw; then drawn ones.
    drawn = [SAMPLE, *_collect(programs(), VALID_EXAMPLES)]
    valid = [(p, write_objects(p, root / f"v{n}")) for n, p in enumerate(drawn)]
    errors = [(p, write_objects(p, root / f"e{n}")) for n, p in
              enumerate(_collect(error_programs(), ERROR_EXAMPLES))]
    return Cases(root, lib_dir, valid, errors)


def _exposed(cases: Cases) -> str | None:
    """What exposes the current linker, or None when every check passes."""
    for n, (program, objs) in enumerate(cases.valid):
        exe = cases.root / f"out{n}"
        try:
            link_linkharness(objs, libraries(program, cases.lib_dir), exe)
        except LinkError as e:
            return f"valid program {n} refused: {e}"
        problems = judge.everything(exe, objs, outcome(program), cases.lib_dir)
        if problems:
            return f"program {n}: {problems[0]}"
    for n, (program, objs) in enumerate(cases.errors):
        try:
            link_linkharness(objs, libraries(program, cases.lib_dir), cases.root / "err")
        except LinkError:
            continue
        return f"error model {n} ({program.error}) accepted"
    return None


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_bugs_are_caught(cases: Cases) -> None:
    assert len(MUTANTS) >= 12
    results: dict[str, str | None] = {}
    for name, seed in MUTANTS.items():
        with pytest.MonkeyPatch.context() as mp:
            seed(mp)
            results[name] = _exposed(cases)
    killed = [n for n, how in results.items() if how]
    print(f"\nharness power: {len(killed)}/{len(MUTANTS)} seeded bugs caught")
    for name, how in results.items():
        print(f"  {'KILLED ' if how else 'SURVIVED'} {name}" + (f": {how[:100]}" if how else ""))
    assert len(killed) >= REQUIRED_KILLS, results
