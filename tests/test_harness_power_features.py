"""Harness power for fuzz/features.py's families (IFUNC, constructor order, SHF_MERGE,
__start_/__stop_, hidden symbols, -z relro, thin and index-less archives, GNU ld scripts):
each seeded bug, alone, must be caught by fuzz/test_features.py's judges (oracle.check, the
field oracle, hidden symbols kept local, the program's own checks run natively lazily and
with LD_BIND_NOW) on its samples (fuzz.features.SAMPLES) or a deterministic handful of
drawn cases.  A link the seeded linker refuses counts as caught (every case is valid)."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz import judge, versions
from fuzz.features import SAMPLES, FeatureCase, feature_cases
from fuzz.features_build import (
    Inputs,
    exported_hidden,
    field_problems,
    link_linkharness,
    run_status,
    write_inputs,
)
from fuzz.power import (
    Mutants,
    case_directories,
    collect,
    first_exposure,
    print_kill_table,
    seed_each,
)
from linker import LinkError, link
from linker.elf import archive as archive_module
from linker.elf import ctors as ctors_module
from linker.elf import dynamic as dynamic_module
from linker.elf import eh_frame as eh_frame_module
from linker.elf import hashes
from linker.elf import link as elf_link
from linker.elf import merge as merge_module
from linker.elf import relro as relro_module
from linker.elf import sections as sections_module
from linker.elf import write as write_module
from linker.elf.dynamic import DynamicTables
from linker.elf.load import Loader
from linker.model import SymType
from linker.synth import SyntheticBuilder
from oracle.reference import link_reference
from tests.shared_mutants import canonical_not_exported

DRAWN = 6
MUTANTS = Mutants()
mutant = MUTANTS


def _symbol_values(mp: pytest.MonkeyPatch, edit: Any) -> None:
    original = elf_link.linker_symbols

    def symbols(named: dict[str, Any], *rest: Any) -> Any:
        found = original(named, *rest)
        edit(found.address, named)
        return found
    mp.setattr(elf_link, "linker_symbols", symbols)


@mutant("__rela_iplt_end stops one IRELATIVE short", "IFUNC")
def _iplt_end_short(mp: pytest.MonkeyPatch) -> None:
    def edit(v: dict[str, int], named: dict[str, Any]) -> None:
        if v["__rela_iplt_end"] > v["__rela_iplt_start"]:
            v["__rela_iplt_end"] -= 24
    _symbol_values(mp, edit)


def _synthetic_reloc(mp: pytest.MonkeyPatch, section: str, at: int, step: int,
                     delta: int) -> None:
    """Shift the addend of the synthetic relocations at offsets `at` mod `step` of one
    linker-made section (what an off-by-one-slot slip in its builder writes)."""
    original = SyntheticBuilder.reloc

    def reloc(self: SyntheticBuilder, sec: Any, offset: int, howto: Any, symbol: Any,
              addend: int) -> None:
        if sec.name == section and offset % step == at:
            addend += delta
        original(self, sec, offset, howto, symbol, addend)
    mp.setattr(SyntheticBuilder, "reloc", reloc)


@mutant("an .iplt entry jumps through the next IFUNC's slot", "IFUNC")
def _iplt_next_slot(mp: pytest.MonkeyPatch) -> None:
    _synthetic_reloc(mp, ".iplt", 2, 16, 8)


@mutant("a static IRELATIVE names the next .got.iplt slot", "IFUNC")
def _irelative_next_slot(mp: pytest.MonkeyPatch) -> None:
    _synthetic_reloc(mp, ".rela.iplt", 0, 24, 8)


@mutant(".ctors.N sorted as N (the count-down ignored)", "init_array")
def _ctors_priority(mp: pytest.MonkeyPatch) -> None:
    original = sections_module.init_priority

    def priority(sec: Any) -> int:
        key = original(sec)
        return 65535 - key if sec.name.startswith(".ctors.") else key
    mp.setattr(sections_module, "init_priority", priority)


@mutant(".ctors words not reversed in .init_array", "init_array")
def _ctors_not_reversed(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(ctors_module, "_reverse_words", lambda sec, word: None)


@mutant("unnumbered .init_array inputs run before the numbered ones", "init_array")
def _plain_first(mp: pytest.MonkeyPatch) -> None:
    original = sections_module.init_priority
    mp.setattr(sections_module, "init_priority",
               lambda sec: -1 if original(sec) == 1 << 20 else original(sec))


@mutant("a reference inside a merged string lands at its piece's start", "merge")
def _merge_inner_offset(mp: pytest.MonkeyPatch) -> None:
    def remap(self: Any, offsets: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.starts, offsets, side="right") - 1, 0,
                    len(self.starts) - 1)
        return np.asarray(self.new[k])
    mp.setattr(merge_module._Pieces, "remap", remap)


@mutant("a section-symbol addend into a merged section is not remapped", "merge")
def _merge_section_addend(mp: pytest.MonkeyPatch) -> None:
    original = merge_module._redirect_object

    def redirect(obj: Any, moved: Any, carriers: Any) -> None:
        section = obj.symbols.type == merge_module.STT_SECTION
        saved = obj.symbols.type.copy()
        obj.symbols.type[section] = int(SymType.NOTYPE)  # the addend loop sees none
        try:
            original(obj, moved, carriers)
        finally:
            obj.symbols.type[:] = saved
    mp.setattr(merge_module, "_redirect_object", redirect)


@mutant("__stop_X bounds X's first input section only", "__start_/__stop_")
def _stop_first_input(mp: pytest.MonkeyPatch) -> None:
    def edit(v: dict[str, int], named: dict[str, Any]) -> None:
        for name, out in named.items():
            if f"__stop_{name}" in v and out.inputs:
                v[f"__stop_{name}"] = out.addr + out.offsets[0] + out.inputs[0].size
    _symbol_values(mp, edit)


@mutant("hidden symbols stay global in .symtab", "hidden symbols")
def _hidden_global(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(write_module, "STV_HIDDEN", 99)


@mutant("--export-dynamic exports hidden definitions too", "hidden symbols")
def _hidden_exported(mp: pytest.MonkeyPatch) -> None:
    original = elf_link._plan_tables

    def plan(symtab: Any, *rest: Any) -> Any:
        saved = [(s, s.visibility) for s in symtab.symbols]
        for s, _ in saved:
            s.visibility = 0
        try:
            return original(symtab, *rest)
        finally:
            for s, visibility in saved:
                s.visibility = visibility
    mp.setattr(elf_link, "_plan_tables", plan)


@mutant("the RELRO region ends at its last section, not at the next page", "-z relro")
def _relro_short(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.relro_region

    def region(relro: Any, segments: Any, page: int) -> Any:
        found = original(relro, segments, page)
        if found is None:
            return None
        last = max(o.end for o in relro)
        return dataclasses.replace(found, size=last - relro[0].addr)
    mp.setattr(elf_link, "relro_region", region)


@mutant(".data.rel.ro left out of the RELRO region", "-z relro")
def _relro_without_data_rel_ro(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(relro_module, "RELRO_SECTIONS", relro_module.RELRO_SECTIONS - {".data.rel.ro"})


@mutant("a thin archive's member read from the working directory", "archives and scripts")
def _thin_cwd(mp: pytest.MonkeyPatch) -> None:
    original = archive_module._thin_member
    mp.setattr(archive_module, "_thin_member",
               lambda path, name, pos: original("", name, pos))


@mutant("an archive without an index contributes nothing", "archives and scripts")
def _no_index_empty(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(archive_module, "_scan_index", lambda path, members, names: {})


@mutant("a script's GROUP is scanned once, not until nothing more is pulled",
        "archives and scripts")
def _group_once(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(Loader, "_rescan", lambda self, group: None)


@mutant("the .eh_frame_hdr table is left in .eh_frame's order, not sorted", ".eh_frame")
def _eh_hdr_unsorted(mp: pytest.MonkeyPatch) -> None:
    original = eh_frame_module.build_eh_frame_hdr

    def build(frame: Any, frame_addr: int, hdr_addr: int, word: int, where: str) -> bytes:
        out = original(frame, frame_addr, hdr_addr, word, where)
        head, table = out[:12], out[12:]
        pairs = [table[i:i + 8] for i in range(0, len(table), 8)]
        return head + b"".join(reversed(pairs))
    mp.setattr(eh_frame_module, "build_eh_frame_hdr", build)


@mutant("the .eh_frame_hdr table is relative to .eh_frame, not to the header", ".eh_frame")
def _eh_hdr_base(mp: pytest.MonkeyPatch) -> None:
    original = eh_frame_module.build_eh_frame_hdr
    mp.setattr(eh_frame_module, "build_eh_frame_hdr",
               lambda frame, frame_addr, hdr_addr, word, where:
               original(frame, frame_addr, frame_addr, word, where))


@mutant("every import's .gnu.version entry is 1 (unversioned)", "symbol versions")
def _versym_global(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(DynamicTables, "render_versym",
               lambda self: struct.pack(f"<{len(self.syms) + 1}H", 0, *(1 for _ in self.syms)))


@mutant("a version's vna_hash is its GNU hash, not its ELF hash", "symbol versions")
def _verneed_hash(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(dynamic_module, "sysv_hash", hashes.gnu_hash)


@mutant("a .symver definition gets its neighbour node's version index", "symbol versions")
def _symver_neighbour_index(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.version_indices

    def indices(opts: Any, exported: list[Any]) -> dict[int, int]:
        out = original(opts, exported)
        for sym in exported:
            if "@" in sym.name:
                out[sym.id] ^= 1  # VER_1 (2) <-> VER_2 (3), the hidden bit kept
        return out
    mp.setattr(elf_link, "version_indices", indices)


@mutant("a non-default .symver definition (foo@VER) loses its hidden bit", "symbol versions")
def _symver_not_hidden(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.version_indices
    mp.setattr(elf_link, "version_indices", lambda opts, exported: {
        gid: index & 0x7FFF for gid, index in original(opts, exported).items()})


def _version_objects(lib_dir: Path) -> list[list[Path]]:
    """fuzz.versions' samples, written by the fixture next to libver.so."""
    return [sorted((lib_dir / f"versions{n}").glob("*.o")) for n in range(len(versions.SAMPLES))]


@dataclasses.dataclass(frozen=True)
class Built:
    case: FeatureCase
    inputs: Inputs
    out: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Built]]:
    root, lib_dir = case_directories(tmp_path_factory, "power-features")
    versions.build_library(lib_dir)
    for n, sample in enumerate(versions.SAMPLES):
        versions.write_objects(sample, lib_dir / f"versions{n}")
    cases = [*SAMPLES, *collect(feature_cases(), DRAWN)]
    return lib_dir, [Built(c, write_inputs(c, root / f"f{n}"), root / f"f{n}.out")
                     for n, c in enumerate(cases)]


def _problems_else_failed_runs(problems: list[str], run_status: Callable[[bool], int]
                               ) -> list[str]:
    """The judges' problems; where there are none, the program's first failed check when
    run natively (lazily bound, then with LD_BIND_NOW; `run_status` gives 1 + its index)."""
    if problems:
        return problems
    for bind_now in (False, True):
        status = run_status(bind_now)
        if status:
            return [f"check {status - 1} failed (bind_now={bind_now})"]
    return []


def _judged(lib_dir: Path, b: Built) -> list[str]:
    link_linkharness(b.case, b.inputs, lib_dir, b.out)
    return _problems_else_failed_runs(
        [*judge.structure(b.out), *field_problems(b.out, b.inputs.objects),
         *exported_hidden(b.case, b.out)],
        partial(run_status, b.out, lib_dir))


def _exposed(lib_dir: Path, cases: list[Built]) -> str | None:
    for n, objects in enumerate(_version_objects(lib_dir)):
        out = lib_dir / f"versions{n}.out"
        try:
            link([*map(str, objects), str(lib_dir / "libver.so")], out, entry="_start",
                 dynamic_linker=judge.DYNAMIC_LINKER)
        except LinkError as e:
            return f"versions sample {n} refused: {e}"
        status = run_status(out, lib_dir, False)
        if status:
            return f"versions sample {n}: call {status - 1} bound to another version"
    # libver.so linked by linkharness (as seeded), and each sample linked against it.
    lh_dir = lib_dir / "libver-lh"
    try:
        lh_lib = versions.build_library_linkharness(lh_dir)
        for n, objects in enumerate(_version_objects(lib_dir)):
            out = lh_dir / f"versions{n}.out"
            link([*map(str, objects), str(lh_lib)], out, entry="_start",
                 dynamic_linker=judge.DYNAMIC_LINKER)
            # GNU ld reads the library too: a lost hidden bit makes foo@VER_1 a default.
            ref = lh_dir / f"versions{n}.bfd.out"
            linked = link_reference("bfd", [str(o) for o in objects], str(ref),
                                    libs=[str(lh_lib)])
            if not linked.ok:
                return f"GNU ld refused linkharness's libver.so: {linked.stderr}"
            for exe in (out, ref):
                status = run_status(exe, lh_dir, False)
                if status:
                    return f"versions sample {n} ({exe.name}) against linkharness's " \
                           f"libver.so: call {status - 1} bound to another version"
    except LinkError as e:
        return f"linkharness's libver.so or a sample against it refused: {e}"
    return first_exposure((f"case {n}", partial(_judged, lib_dir, b))
                          for n, b in enumerate(cases))


def test_unmutated_linker_passes(built: tuple[Path, list[Built]]) -> None:
    assert _exposed(*built) is None


def test_seeded_feature_bugs_are_caught(built: tuple[Path, list[Built]]) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(*built))
    killed = print_kill_table("harness power, features", results, MUTANTS)
    assert killed == len(MUTANTS), results


# -- i386 (fuzz/features_i386.py): archives, undefined weak, canonical PLT, IFUNC ----------------

I386_MUTANTS = Mutants()
i386_mutant = I386_MUTANTS


@i386_mutant("a weak reference pulls an archive member", "archives and weak references")
def _weak_pulls(mp: pytest.MonkeyPatch) -> None:
    original = Loader._pull

    def pull(self: Loader, archive: Any, loaded: Any) -> bool:
        weak = [s for s in self.symtab.symbols if s.referenced and not s.strong_ref]
        for s in weak:
            s.strong_ref = True  # the pull asks "referenced?" instead of "strongly?"
        try:
            return bool(original(self, archive, loaded))
        finally:
            for s in weak:
                s.strong_ref = False
    mp.setattr(Loader, "_pull", pull)


@i386_mutant("an undefined weak symbol is the image base, not 0", "archives and weak references")
def _weak_undefined_base(mp: pytest.MonkeyPatch) -> None:
    original = elf_link.symbol_addresses

    def addresses(symtab: Any, *rest: Any) -> Any:
        out = original(symtab, *rest)
        for sym in symtab.symbols:
            if sym.undefined and not sym.linker_defined:
                out.address[sym.id] = 0x8048000
        return out
    mp.setattr(elf_link, "symbol_addresses", addresses)


i386_mutant("a canonical PLT entry is not the import's .dynsym value",
            "canonical PLT")(canonical_not_exported)


@i386_mutant("an .iplt entry jumps through the next slot", "IFUNC")
def _iplt_next_slot_i386(mp: pytest.MonkeyPatch) -> None:
    _synthetic_reloc(mp, ".iplt", 2, 16, 4)


@i386_mutant("R_386_GOTOFF refused in a non-allocated section (what gcc -m32 -fPIC -g writes)",
             "debug information")
def _gotoff_non_alloc_refused(mp: pytest.MonkeyPatch) -> None:
    from linker.elf import read
    from linker.kinds import RelocKind
    mp.setattr(read, "_NON_ALLOC_KINDS",
               tuple(k for k in read._NON_ALLOC_KINDS if k is not RelocKind.REL_GOT))
    mp.setattr(read, "_LOOKUPS", {})  # the per-table arrays are built again from it


@i386_mutant("a GOT-relative field in a non-allocated section written as S + A (no GOT base)",
             "debug information")
def _gotoff_non_alloc_no_base(mp: pytest.MonkeyPatch) -> None:
    import numpy as np

    from linker import apply
    from linker.kinds import RelocKind
    original = apply._write_all

    def write_all(image: Any, f: dict[str, Any], symtab: Any, got_base: int,
                  *rest: Any) -> None:
        # (a non-allocated section's P is its offset in the output section, below any
        # address of these non-PIE i386 executables, which start at 0x8048000)
        rows = (f["kind"] == int(RelocKind.REL_GOT)) & (f["P"] < 0x8000000)
        if rows.any():
            f = {**f, "S": np.where(rows, f["S"] + got_base, f["S"])}
        original(image, f, symtab, got_base, *rest)
    mp.setattr(apply, "_write_all", write_all)


I386_MUTANTS("a thin archive's member read from the working directory",
             "archives and weak references")(_thin_cwd)
I386_MUTANTS("a script's GROUP is scanned once", "archives and weak references")(_group_once)


@dataclasses.dataclass(frozen=True)
class Built32:
    objects: list[Path]
    inputs: list[str]
    out: Path


@pytest.fixture(scope="module")
def built_i386(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[Built32]]:
    from fuzz.features_i386 import SAMPLES as I386_SAMPLES
    from fuzz.features_i386 import build_libreach32, i386_feature_cases
    from fuzz.features_i386 import write_inputs as write_i386_inputs
    root, lib_dir = case_directories(tmp_path_factory, "power-features32", m32=True)
    libs = [str(lib_dir / "libtrace1.so"), str(build_libreach32(root / "reach"))]
    cases = [*I386_SAMPLES, *collect(i386_feature_cases(), DRAWN)]
    built = []
    for n, case in enumerate(cases):
        objects, inputs = write_i386_inputs(case, root / f"f{n}")
        built.append(Built32(objects, inputs, root / f"f{n}.out"))
    return libs, built


def _judged_i386(libs: list[str], b: Built32) -> list[str]:
    from fuzz.features_i386 import link_i386
    from fuzz.features_i386 import run_status as run_status_i386
    link_i386(b.inputs, libs, b.out)
    return _problems_else_failed_runs(
        [*judge.structure(b.out), *judge.fields(b.out, b.objects)],
        partial(run_status_i386, b.out, libs))


def _exposed_i386(libs: list[str], cases: list[Built32]) -> str | None:
    return first_exposure((f"case {n}", partial(_judged_i386, libs, b))
                          for n, b in enumerate(cases))


def test_unmutated_linker_passes_on_i386(built_i386: tuple[list[str], list[Built32]]) -> None:
    assert _exposed_i386(*built_i386) is None


def test_seeded_i386_feature_bugs_are_caught(
    built_i386: tuple[list[str], list[Built32]],
) -> None:
    results = seed_each(I386_MUTANTS, lambda: _exposed_i386(*built_i386))
    killed = print_kill_table("harness power, i386 features", results, I386_MUTANTS)
    assert killed == len(I386_MUTANTS), results
