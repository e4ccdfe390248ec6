"""Hostile-input properties (issue 13): for every target, a valid input made by the
project's generators, mutated at the byte level (fuzz.hostile.mutate), keeps every rule of
fuzz.hostile.rules for linker.link, oracle.check, oracle.check_fields and oracle.run.

Under the ci profile each target draws a few examples (the suite's budget is about a
minute); `make fuzz` (fuzz profile) keeps drawing for the target's share of FUZZ_SECONDS,
and `make fuzz-hostile` adds the coverage-guided campaign (atheris_main.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .cases import any_case
from .mutate import DrawPicker
from .seeds import Targets, build_targets

LINK_TARGETS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object", "archive",
                "shared-object", "tbd", "script")
EXE_TARGETS = ("elf64-exe", "elf32-exe", "macho64-exe", "macho32-exe")
CI_EXAMPLES = 12


@pytest.fixture(scope="session")
def hostile_targets(tmp_path_factory: pytest.TempPathFactory) -> Targets:
    return build_targets(tmp_path_factory.mktemp("hostile-seeds"))


def _examples() -> int:
    current = settings.default
    return CI_EXAMPLES if current is None or current.derandomize else current.max_examples


@pytest.mark.parametrize("name", [*LINK_TARGETS, *EXE_TARGETS])
@settings(max_examples=_examples())
@given(data=st.data())
def test_mutated_input_keeps_the_rules(
    name: str, hostile_targets: Targets, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    file_name, _, done, broken = any_case(DrawPicker(data.draw), name, hostile_targets,
                                          tmp_path_factory.mktemp("hostile") / "case")
    assert not broken, f"{name}: {file_name} after {done}: {broken}"
