"""i386 archives, undefined weak references, canonical PLT entries and IFUNC in dynamic links
(fuzz.features_i386): GNU ld's output of each drawn case exits 0 (the generator checked);
linkharness's passes oracle.check and the field oracle and exits 0 natively, lazily and with
LD_BIND_NOW."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given

from fuzz import judge
from fuzz.coverage import record_labels
from fuzz.features_i386 import (
    SAMPLES,
    I386FeatureCase,
    build_libreach32,
    describe,
    i386_feature_cases,
    libraries,
    link_i386,
    run_status,
    write_inputs,
)
from oracle.reference import link_reference


@pytest.fixture(scope="module")
def libreach32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_libreach32(tmp_path_factory.mktemp("libreach32"))


def _with_samples(test: Callable[..., None]) -> Callable[..., None]:
    for sample in reversed(SAMPLES):
        test = example(case=sample)(test)
    return test


@_with_samples
@given(case=i386_feature_cases())
def test_i386_archives_weak_canonical_ifunc(
    libtrace_dir_i386: Path, libreach32: Path, tmp_path_factory: pytest.TempPathFactory,
    case: I386FeatureCase,
) -> None:
    record_labels(describe(case))
    work = tmp_path_factory.mktemp("features32")
    objects, inputs = write_inputs(case, work)
    libs = libraries(libtrace_dir_i386, libreach32)
    ref = work / "bfd.out"
    linked = link_reference("bfd", inputs, str(ref), libs=libs, m32=True)
    assert linked.ok, linked.stderr
    status = run_status(ref, libs, False)
    assert status == 0, f"generator bug: GNU ld's output fails check {status - 1}"
    exe = work / "lh.out"
    link_i386(inputs, libs, exe)
    problems = [*judge.structure(exe), *judge.fields(exe, objects)]
    assert not problems, "\n".join(problems)
    for bind_now in (False, True):
        status = run_status(exe, libs, bind_now)
        assert status == 0, f"check {status - 1} failed (fuzz.features_i386.BITS), " \
                            f"bind_now={bind_now}"
