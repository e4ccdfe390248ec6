"""The harness power over two GNU ld options the link-option draw makes (fuzz/pipeline.py):
the IBT PLT (`-z ibtplt`) and `--emit-relocs`.  Seed bugs into their linker code, one at
a time, and require property (a)'s judge (`fuzz.judge.everything`: structure, including
the ELF-EMITTED-RELOC rules, relocation fields, the emulated run lazy and eager) to catch
each on the every-flavour samples linked with both options, x86-64 and i386 (the PIE forms
are run natively in tests/integration/test_ibt_plt.py).  Every seeded bug must be caught.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fuzz import judge
from fuzz.libtrace import build_libraries
from fuzz.pipeline import LinkOptions, libraries, link_linkharness, write_objects
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
from fuzz.power import Mutants, print_kill_table, seed_each
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies_i386 import SAMPLE_CASE
from linker import LinkError
from linker.arch import ibt
from linker.arch.plt import PltField
from linker.elf import emit_relocs, write

MUTANTS = Mutants()


def _edit(mp: pytest.MonkeyPatch, arch: str, **changes: Any) -> None:
    for table in (ibt.IBT_PLT_TEMPLATES, ibt.IBT_PIC_PLT_TEMPLATES):
        if arch in table:
            mp.setitem(table, arch, dataclasses.replace(table[arch], **changes))


@MUTANTS("x86-64: a lazy .plt entry pushes the next relocation's index")
def _push_next(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "x86_64", push_value=lambda n: n + 1)


@MUTANTS("x86-64: a .plt.sec entry jumps through the next .got.plt slot")
def _next_slot(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "x86_64", sec_fields=lambda slot: (
        PltField(offset=6, target="got.plt", addend=slot + 8 - 4),))


@MUTANTS("x86-64: a lazy entry's jmp PLT0 lands 6 bytes in (on PLT0's jmp, not its push)")
def _skip_push(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "x86_64", lazy_fields=(PltField(offset=10, target="plt", addend=6 - 4),))


@MUTANTS("x86-64: PLT0 pushes GOT[2] instead of the link map GOT[1]")
def _plt0_push(mp: pytest.MonkeyPatch) -> None:
    push, jump = ibt.X86_64.plt0_fields
    _edit(mp, "x86_64", plt0_fields=(dataclasses.replace(push, addend=16 - 4), jump))


@MUTANTS("x86-64: the .plt.sec jmp's displacement misses its -4 (off by the field's width)")
def _no_minus_four(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "x86_64", sec_fields=lambda slot: (
        PltField(offset=6, target="got.plt", addend=slot),))


@MUTANTS("i386: a lazy .plt entry pushes n, not the byte offset 8n in .rel.plt")
def _i386_push_index(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "i386", push_value=lambda n: n)


@MUTANTS("i386: a .plt.sec entry jumps through the previous .got.plt word")
def _i386_prev_slot(mp: pytest.MonkeyPatch) -> None:
    _edit(mp, "i386", sec_fields=lambda slot: (
        PltField(offset=6, target="got.plt", addend=slot - 4, pc_relative=False),))


@MUTANTS("--emit-relocs: r_offset left as the input section's offset (not the address)")
def _offset_not_moved(mp: pytest.MonkeyPatch) -> None:
    original = emit_relocs._rows

    def rows(img: Any, obj: Any, sec: Any, *rest: Any) -> Any:
        table = original(img, obj, sec, *rest)
        table["offset"] -= img.layout.address_of(sec)
        return table
    mp.setattr(emit_relocs, "_rows", rows)


@MUTANTS("--emit-relocs: a section symbol's addend not moved by where its input landed")
def _addend_not_moved(mp: pytest.MonkeyPatch) -> None:
    original = emit_relocs._rows

    def rows(img: Any, obj: Any, sec: Any, gids: Any, index: Any, *rest: Any) -> Any:
        table = original(img, obj, sec, gids, index, *rest)
        sections = set(index.section.values())
        keep = sec.relocs.rows["addend"]
        moved = [n for n, s in enumerate(table["symbol"].tolist()) if s in sections]
        table["addend"][moved] = keep[moved]
        return table
    mp.setattr(emit_relocs, "_rows", rows)


@MUTANTS("--emit-relocs: a relaxed GOT load keeps its GOTPCRELX type")
def _relaxed_type_kept(mp: pytest.MonkeyPatch) -> None:
    from linker.elf.read import RELOC_TABLES

    def native(arch: str) -> Any:
        import numpy as np
        table = RELOC_TABLES[arch]
        names = {h.name: n for n, h in enumerate(table.howtos[:len(table.supported)])
                 if table.supported[n]}
        return np.array([n if n < len(table.supported) else names[h.name]
                         for n, h in enumerate(table.howtos)], dtype=np.int64)
    mp.setattr(emit_relocs, "native_types", native)


@MUTANTS("--emit-relocs: a global named by the .symtab entry after its own")
def _next_symbol(mp: pytest.MonkeyPatch) -> None:
    original = write.relocation_sections

    def sections(img: Any, symtab: Any, index: Any) -> Any:
        index.global_ = {gid: row + 1 for gid, row in index.global_.items()}
        return original(img, symtab, index)
    mp.setattr(write, "relocation_sections", sections)


@dataclass
class Cases:
    root: Path
    lib_dir: Path
    lib_dir_i386: Path


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    root = tmp_path_factory.mktemp("power_ibt")
    lib_dir, lib_dir_i386 = root / "lib", root / "lib32"
    build_libraries(lib_dir)
    build_libraries(lib_dir_i386, m32=True)
    return Cases(root, lib_dir, lib_dir_i386)


def _exposed(cases: Cases) -> str | None:
    """What exposes the linker as patched now: the x86-64 and the i386 samples, each linked with -z ibtplt and judged as property (a) judges."""
    runs = [("x86_64", SAMPLE), ("i386", SAMPLE_CASE.program)]
    for name, program in runs:
        work = cases.root / name
        i386 = name == "i386"
        lib_dir = cases.lib_dir_i386 if i386 else cases.lib_dir
        options = LinkOptions(ibt_plt=True, emit_relocs=True)
        exe = work / "out"
        try:
            if i386:
                objs = write_objects_i386(program, work, choices=SAMPLE_CASE.choices)
                link_linkharness_i386(objs, libraries(program, lib_dir), exe, options)
            else:
                objs = write_objects(program, work)
                link_linkharness(objs, libraries(program, lib_dir), exe, options)
        except LinkError as e:
            return f"{name}: valid link refused: {e}"
        problems = judge.everything(exe, objs, outcome(program), lib_dir)
        if problems:
            return f"{name}: {problems[0]}"
    return None


def test_unmutated_linker_passes(cases: Cases) -> None:
    assert _exposed(cases) is None


def test_seeded_ibt_plt_and_emit_relocs_bugs_are_caught(cases: Cases) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(cases))
    killed = print_kill_table("IBT PLT and --emit-relocs harness power", results, width=110)
    assert killed == len(MUTANTS), results
