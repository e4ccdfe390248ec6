"""The Mach-O dylib harness's own power: seed bugs into linkharness's `-dylib` paths (and the
executable's binds to a dylib), one at a time, and require the dylib property's judges
(fuzz/test_macho_dylib.py: oracle.check on both images, the field oracle on both, the
emulated dyld loading the dylib slid, lazy and now, against the model) to catch every
one.  Inputs: the dylib sample split, a few drawn x86_64 splits and a few drawn i386
splits (deterministic).  The kill table is printed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fuzz.macho import judge
from fuzz.macho.dylib_split import (
    LIBRARY,
    DylibCase,
    cases,
    link_dylib,
    link_executable,
    write_objects,
)
from fuzz.macho.dylib_split_i386 import (
    DylibCase386,
    dylib_cases_i386,
    link_dylib_i386,
    link_executable_i386,
    write_objects_i386,
)
from fuzz.macho.judge_i386 import expected_trace as expected_trace_i386
from fuzz.macho.tbd import write_tbds
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from fuzz.semantics import outcome
from fuzz.test_macho_dylib import SAMPLE_SPLIT, emulated, judge_split
from linker import LinkError
from linker.macho import link as macho_link
from linker.macho.dyldinfo import BindEntry

DRAWN_EXAMPLES = 4
DRAWN_I386 = 4
MUTANTS = Mutants()
mutant = MUTANTS


@mutant("binds name the wrong library ordinal (the first two libraries' ordinals swapped)")
def _wrong_ordinal(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.library_ordinals

    def library_ordinals(symtab):
        # link.py writes the load commands in the dict's key order, which stays: only the
        # numbers that binds and n_desc use are swapped
        ordinals = original(symtab)
        real = [name for name, n in ordinals.items() if n > 0]
        if len(real) >= 2:
            first, second = real[:2]
            ordinals[first], ordinals[second] = ordinals[second], ordinals[first]
        return ordinals
    mp.setattr(macho_link, "library_ordinals", library_ordinals)


@mutant("a rebase in the dylib is missing (its last one)")
def _dylib_rebase_missing(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.rebase_opcodes

    def rebase_opcodes(sites, *rest):
        # a dylib's __DATA is segment 1 (no __PAGEZERO); an x86_64 executable's is 2
        mine = sorted(s for s in sites if s[0] == 1)
        return original([s for s in sites if not mine or s != mine[-1]], *rest)
    mp.setattr(macho_link, "rebase_opcodes", rebase_opcodes)


@mutant("a dylib export points into another section (the first export at the last's address)")
def _export_off_by_a_section(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.export_trie

    def export_trie(exports):
        if any(name == "__mh_execute_header" for name, _, _ in exports):
            return original(exports)  # the executable's: left alone
        ordered = sorted((e for e in exports if not e[2] & 2), key=lambda e: e[1])  # not N_ABS
        if len(ordered) >= 2 and ordered[-1][1] - ordered[0][1] >= 0x1000:
            first, last = ordered[0], ordered[-1]
            exports = [(n, last[1], f) if n == first[0] else (n, a, f) for n, a, f in exports]
        return original(exports)
    mp.setattr(macho_link, "export_trie", export_trie)


@mutant("the dylib's lazy binds name the executable's ordinal (-1) instead of the library's")
def _lazy_bind_executable(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.lazy_bind_opcodes

    def lazy_bind_opcodes(entries: list[BindEntry]):
        if entries and all(e.segment == 1 for e in entries):  # a dylib's
            entries = [dataclasses.replace(e, ordinal=-1) for e in entries]
        return original(entries)
    mp.setattr(macho_link, "lazy_bind_opcodes", lazy_bind_opcodes)


@mutant("i386: the dylib's text rebases are missing (its code keeps link-time addresses)")
def _text_rebases_missing(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.rebase_opcodes

    def rebase_opcodes(sites, text_segments=frozenset()):
        return original([s for s in sites if s[0] not in text_segments], text_segments)
    mp.setattr(macho_link, "rebase_opcodes", rebase_opcodes)


@mutant("i386: the dylib's text rebases typed REBASE_TYPE_POINTER")
def _text_rebases_as_pointers(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.rebase_opcodes
    mp.setattr(macho_link, "rebase_opcodes", lambda sites, text_segments=frozenset():
               original(sites))


@dataclasses.dataclass(frozen=True)
class Built:
    root: Path
    cases: list[tuple[DylibCase, list[Path], list[Path], list[Path]]]
    i386: list[tuple[DylibCase386, list[Path], list[Path], list[Path]]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("power-dylib")
    out = []
    for n, case in enumerate([SAMPLE_SPLIT, *collect(cases(), DRAWN_EXAMPLES)]):
        exe_objs, dylib_objs = write_objects(case, root / f"c{n}")
        out.append((case, exe_objs, dylib_objs,
                    write_tbds(root / f"s{n}", case.program.libraries)))
    i386 = []
    for n, case386 in enumerate(collect(dylib_cases_i386(), DRAWN_I386)):
        exe_objs, dylib_objs = write_objects_i386(case386, root / f"i{n}")
        i386.append((case386, exe_objs, dylib_objs,
                     write_tbds(root / f"t{n}", case386.program.libraries)))
    return Built(root, out, i386)


def _exposed(built: Built) -> str | None:
    for n, (case, exe_objs, dylib_objs, stubs) in enumerate(built.cases):
        directory = built.root / f"out{n}"
        directory.mkdir(exist_ok=True)
        dylib, exe = directory / LIBRARY, directory / "main"
        try:
            link_dylib(dylib_objs, stubs, dylib)
            link_executable(exe_objs, dylib, stubs, exe)
        except LinkError as e:
            return f"case {n} refused: {e}"
        problems = judge_split(exe, dylib, exe_objs, dylib_objs, outcome(case.program))
        if problems:
            return f"case {n}: {problems[0]}"
    for n, (case386, exe_objs, dylib_objs, stubs) in enumerate(built.i386):
        directory = built.root / f"out-i386-{n}"
        directory.mkdir(exist_ok=True)
        dylib, exe = directory / LIBRARY, directory / "main"
        try:
            link_dylib_i386(dylib_objs, stubs, dylib)
            link_executable_i386(exe_objs, dylib, stubs, exe)
        except LinkError as e:
            return f"i386 case {n} refused: {e}"
        expected = outcome(case386.program)
        problems = [*judge.structure(dylib), *judge.structure(exe),
                    *judge.fields(dylib, dylib_objs), *judge.fields(exe, exe_objs),
                    *emulated(exe, directory, expected,
                              expected_trace_i386(expected, case386.exit_call))]
        if problems:
            return f"i386 case {n}: {problems[0]}"
    return None


def test_unmutated_linker_passes(built: Built) -> None:
    assert _exposed(built) is None


def test_seeded_bugs_are_caught(built: Built) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(built), crash_kills=True)
    killed = print_kill_table("Mach-O dylib harness power", results, width=110)
    assert killed == len(MUTANTS), results
