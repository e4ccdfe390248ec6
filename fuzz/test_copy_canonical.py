"""COPY with aliases and alignment, canonical PLT entries and pointer equality
(fuzz.copy_canonical): linkharness's output passes oracle.check and the field oracle and,
run natively lazily and with LD_BIND_NOW, exits 0 (every check the program makes held);
lld's output of the same object exits 0 too (the program checked against the machine).
(GNU ld 2.40 and gold do not make `leaq lr_fn(%rip)` in a non-PIE executable a canonical
PLT reference: the library then sees another address for lr_fn, measured; lld, mold and
linkharness do.  Both readings exist; the model asks for pointer equality.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given

from fuzz import judge
from fuzz.copy_canonical import (
    SAMPLES,
    CopyCase,
    build_library,
    cases,
    describe,
    write_program,
)
from fuzz.coverage import record_labels
from fuzz.pipeline import DYNAMIC_LINKER
from linker import link
from oracle.native import run_native
from oracle.reference import link_reference


@pytest.fixture(scope="module")
def libreach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_library(tmp_path_factory.mktemp("libreach"))


def run_status(exe: Path, lib_dir: Path, bind_now: bool) -> int:
    env = {"PATH": os.environ.get("PATH", ""), "LD_LIBRARY_PATH": str(lib_dir)}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    return run_native(str(exe), env=env, timeout=20).exit_code


def record_case(case: CopyCase) -> None:
    record_labels(describe(case))


@example(case=SAMPLES[0])
@example(case=SAMPLES[1])
@example(case=SAMPLES[2])
@given(case=cases())
def test_copy_aliases_and_pointer_equality(
    libreach: Path, tmp_path_factory: pytest.TempPathFactory, case: CopyCase,
) -> None:
    record_case(case)
    work = tmp_path_factory.mktemp("copy")
    obj = write_program(case, work)
    ref = work / "lld.out"
    linked = link_reference("lld", [str(obj)], str(ref), libs=[str(libreach)])
    assert linked.ok, linked.stderr
    assert run_status(ref, libreach.parent, False) == 0, "generator bug: lld's fails"
    exe = work / "lh.out"
    link([str(obj), str(libreach)], exe, entry="_start", dynamic_linker=DYNAMIC_LINKER)
    problems = [*judge.structure(exe), *judge.fields(exe, [obj])]
    assert not problems, "\n".join(problems)
    for bind_now in (False, True):
        status = run_status(exe, libreach.parent, bind_now)
        assert status == 0, f"checks failed (mask {status:#x}), bind_now={bind_now}"
