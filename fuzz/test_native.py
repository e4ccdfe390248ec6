"""Property: objects written by our writer (and, for a share of examples, by GNU as and
llvm-mc from the same model's assembly text), linked with GNU ld, run natively against the
real libtrace libraries and do exactly what the model says — lazily and with LD_BIND_NOW.

This validates the generator itself, independent of linkharness and of the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz import judge
from fuzz.coverage import record
from fuzz.model import Program
from fuzz.pipeline import libraries, link_with, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies import programs


@example(program=SAMPLE, also_asm=0)
@given(program=programs(), also_asm=st.integers(0, 2))
def test_generated_programs_behave_as_modelled_under_gnu_ld(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, program: Program, also_asm: int,
) -> None:
    record(program)
    expected = outcome(program)
    work = tmp_path_factory.mktemp("native")
    assemblers = [None, "as", "llvm-mc"] if also_asm == 0 else [None]
    for asm in assemblers:
        objs = write_objects(program, work / str(asm), asm)
        exe = work / f"{asm}.out"
        linked = link_with("bfd", objs, libraries(program, libtrace_dir), exe)
        assert linked.ok, f"generator bug: GNU ld rejects a valid model: {linked.stderr}"
        for now in (False, True):
            problems = judge.native(exe, expected, libtrace_dir, bind_now=now)
            assert not problems, f"objects from {asm or 'our writer'}: {problems}"
