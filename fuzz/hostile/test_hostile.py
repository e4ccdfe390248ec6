"""Hostile-input properties (issue 13): for every target, a valid input made by the
project's generators, mutated at the byte level (fuzz.hostile.mutate), keeps every rule of
fuzz.hostile.rules for linker.link, oracle.check, oracle.check_fields and oracle.run.

Under the ci profile each target draws a few examples (the suite's budget is about a
minute); `make fuzz` (fuzz profile) keeps drawing for the target's share of FUZZ_SECONDS,
and `make fuzz-hostile` adds the coverage-guided campaign (atheris_main.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .cases import any_case
from .havoc import SUFFIX as HAVOC_SUFFIX
from .mutate import DrawPicker
from .seeds import Targets, build_targets
from .seeds_more import LINKERS
from .seeds_real import REAL_TARGETS
from .semantic import OPTIONS_SUFFIX, SUFFIX

LINK_TARGETS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object", "archive",
                "shared-object", "tbd", "script")
EXE_TARGETS = ("elf64-exe", "elf32-exe", "macho64-exe", "macho32-exe")
# The surfaces added later (fuzz/hostile/seeds_new.py): fewer examples each under ci, so
# the suite's cost grows by a few seconds, not by half.
NEW_TARGETS = ("macho64-dylib-input", "macho32-dylib-input", "relocatable", "version-script",
               "macho64-tlv-object", "macho64-dwarf-object", "macho32-dwarf-object",
               "elf64-so", "elf32-so", "elf64-pie", "elf32-pie", "macho64-dylib",
               "macho32-dylib")
CI_EXAMPLES = 12
CI_EXAMPLES_NEW = 10
CI_EXAMPLES_REAL = 8
# The semantic family (fuzz/hostile/semantic.py) over every target: a few examples each
# under ci (about 10 s in all), the campaign's figures come from `--family semantic`.
CI_EXAMPLES_SEMANTIC = 3
# The command-line family (fuzz/hostile/command_lines.py) over the generator-made links:
# a few examples each under ci; `--family options` campaigns for the figures.
OPTIONS_TARGETS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object",
                   "archive", "shared-object", "tbd", "script", "relocatable",
                   "version-script", "macho64-dylib-input")
CI_EXAMPLES_OPTIONS = 4
# The havoc family (fuzz/hostile/havoc.py), structure-blind stacked edits, over every byte
# and text target: three examples each under ci (about 5 s in all); `--family havoc`
# campaigns for the figures.
CI_EXAMPLES_HAVOC = 3


@pytest.fixture(scope="session")
def hostile_targets(tmp_path_factory: pytest.TempPathFactory) -> Targets:
    return build_targets(tmp_path_factory.mktemp("hostile-seeds"))


def _examples(ci: int = CI_EXAMPLES) -> int:
    current = settings.default
    return ci if current is None or current.derandomize else current.max_examples


def _keeps_the_rules(name: str, targets: Targets, work: Path, data: st.DataObject) -> None:
    file_name, _, done, broken = any_case(DrawPicker(data.draw), name, targets, work)
    assert not broken, f"{name}: {file_name} after {done}: {broken}"


@pytest.mark.parametrize("name", [*LINK_TARGETS, *EXE_TARGETS])
@settings(max_examples=_examples())
@given(data=st.data())
def test_mutated_input_keeps_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    _keeps_the_rules(name, hostile_targets, tmp_path_factory.mktemp("hostile") / "case", data)


@pytest.mark.parametrize("name", NEW_TARGETS)
@settings(max_examples=_examples(CI_EXAMPLES_NEW))
@given(data=st.data())
def test_mutated_new_surface_keeps_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """Dylib inputs, -r, version scripts, Mach-O TLV and DWARF objects; a mutated .so or
    dylib loaded by an unmutated executable, a mutated PIE."""
    _keeps_the_rules(name, hostile_targets, tmp_path_factory.mktemp("hostile") / "case", data)


@pytest.mark.parametrize("name", REAL_TARGETS)
@settings(max_examples=_examples(CI_EXAMPLES_REAL))
@given(data=st.data())
def test_mutated_compiler_made_input_keeps_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """Objects gcc, g++ and clang-14 made from fuzz/hostile/real/, the host's libz.so.1,
    members of its libz.a and libc_nonshared.a (fuzz/hostile/seeds_real.py)."""
    _keeps_the_rules(name, hostile_targets, tmp_path_factory.mktemp("hostile") / "case", data)


@pytest.mark.parametrize("name", [*LINK_TARGETS, *EXE_TARGETS, *NEW_TARGETS, *REAL_TARGETS,
                                  *LINKERS])
@settings(max_examples=_examples(CI_EXAMPLES_SEMANTIC))
@given(data=st.data())
def test_structure_rewrite_keeps_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """The semantic family: the same inputs rewritten as structures (a link to another
    section, an index one past its table, a second symbol table, a looping hash chain or
    opcode stream, a thin archive naming a device, a script naming itself, YAML aliases)."""
    _keeps_the_rules(name + SUFFIX, hostile_targets,
                     tmp_path_factory.mktemp("hostile") / "case", data)


@pytest.mark.parametrize("name", OPTIONS_TARGETS)
@settings(max_examples=_examples(CI_EXAMPLES_OPTIONS))
@given(data=st.data())
def test_added_command_line_options_keep_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """The command-line family: the target's valid link through `linkharness link`, with
    options from its --help given values past every width, devices, missing files."""
    _keeps_the_rules(name + OPTIONS_SUFFIX, hostile_targets,
                     tmp_path_factory.mktemp("hostile") / "case", data)


@pytest.mark.parametrize("name", [*LINK_TARGETS, *EXE_TARGETS, *NEW_TARGETS, *REAL_TARGETS,
                                  *LINKERS])
@settings(max_examples=_examples(CI_EXAMPLES_HAVOC))
@given(data=st.data())
def test_stacked_blind_edits_keep_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    """The havoc family: 1 to 32 edits at uniformly random offsets, stacked, many of them
    shifting the rest of the file (ranges deleted, duplicated, inserted, spliced from
    another seed), as AFL++'s havoc stage and radamsa make them."""
    _keeps_the_rules(name + HAVOC_SUFFIX, hostile_targets,
                     tmp_path_factory.mktemp("hostile") / "case", data)
