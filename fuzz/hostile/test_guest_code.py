"""Hostile guest code (fuzz.hostile.guest_code) keeps oracle.run's rules: a result within
the timeout plus a second and within the memory cap, never an exception, never the death
of the process (a translator crash kills pytest's worker: the test fails loudly).

Under the ci profile a few dozen programs, both modes; `make fuzz` keeps drawing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .guest_code import draw_code, self_writing, static_executable
from .mutate import DrawPicker
from .rules import run_rules, write_case

CI_EXAMPLES = 30


def _examples() -> int:
    current = settings.default
    return CI_EXAMPLES if current is None or current.derandomize else current.max_examples


@settings(max_examples=_examples(), suppress_health_check=[HealthCheck.too_slow,
                                                           HealthCheck.data_too_large])
@given(data=st.data(), bits=st.sampled_from([64, 32]), bind=st.sampled_from(["lazy", "now"]))
def test_hostile_guest_code_keeps_the_run_rules(tmp_path_factory: pytest.TempPathFactory,
                                                data: st.DataObject, bits: int,
                                                bind: str) -> None:
    code = draw_code(DrawPicker(data.draw), bits)
    exe = write_case(tmp_path_factory.mktemp("guest"), "guest",
                     static_executable(code, bits))
    assert run_rules(exe, [], bind, seed=0) == []


@settings(max_examples=_examples(), suppress_health_check=[HealthCheck.too_slow,
                                                           HealthCheck.data_too_large])
@given(data=st.data(), bits=st.sampled_from([64, 32]), key=st.integers(1, 255))
def test_code_written_at_run_time_keeps_the_run_rules(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, bits: int,
        key: int) -> None:
    """The same code, written by a packer's prologue into the segment while the program
    runs and jumped to: the emulator must check it before it translates it."""
    code = draw_code(DrawPicker(data.draw), bits)
    exe = write_case(tmp_path_factory.mktemp("written"), "guest",
                     static_executable(self_writing(code, bits, key), bits))
    assert run_rules(exe, [], "lazy", seed=0) == []
