"""Linker features beyond relocations (fuzz.features): IFUNC in static and dynamic links,
constructor order by priority, SHF_MERGE strings and constants, __start_/__stop_, hidden
symbols, -z relro, thin and index-less archives and GNU ld scripts.

Each drawn program checks itself.  linkharness's output passes oracle.check and the field
oracle, keeps every hidden symbol local, and exits 0 natively, lazily and with
LD_BIND_NOW; GNU ld's output of the same inputs exits 0 too (the generator checked against
a reference; its one known departure, IFUNC address equality, is forgiven in its run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given

from fuzz import judge, versions
from fuzz.coverage import record_labels
from fuzz.features import SAMPLES, FeatureCase, describe, feature_cases
from fuzz.features_build import (
    exported_hidden,
    field_problems,
    link_gnu_ld,
    link_linkharness,
    run_status,
    write_inputs,
)
from fuzz.pipeline import DYNAMIC_LINKER
from linker import link
from oracle.reference import link_reference


def _record(case: FeatureCase) -> None:
    record_labels(describe(case))


def _with_samples(test: Callable[..., None]) -> Callable[..., None]:
    """Every sample is an explicit example: each family is judged whatever is drawn."""
    for sample in reversed(SAMPLES):
        test = example(case=sample)(test)
    return test


@_with_samples
@given(case=feature_cases())
def test_features_check_themselves(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: FeatureCase,
) -> None:
    _record(case)
    work = tmp_path_factory.mktemp("features")
    inputs = write_inputs(case, work)
    ref = work / "bfd.out"
    linked = link_gnu_ld(case, inputs, libtrace_dir, ref)
    assert linked.ok, linked.stderr
    status = run_status(ref, libtrace_dir, False, lenient=True)
    assert status == 0, f"generator bug: GNU ld's output fails check {status - 1}"
    exe = work / "lh.out"
    link_linkharness(case, inputs, libtrace_dir, exe)
    problems = [*judge.structure(exe), *field_problems(exe, inputs.objects),
                *exported_hidden(case, exe)]
    assert not problems, "\n".join(problems)
    for bind_now in (False, True):
        status = run_status(exe, libtrace_dir, bind_now)
        assert status == 0, f"check {status - 1} failed (fuzz.features.BITS), " \
                            f"bind_now={bind_now}"


@pytest.fixture(scope="module")
def libver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versions.build_library(tmp_path_factory.mktemp("libver"))


@pytest.fixture(scope="module")
def libver_lh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versions.build_library_linkharness(tmp_path_factory.mktemp("libver-lh"))


@example(case=versions.SAMPLES[0])
@example(case=versions.SAMPLES[1])
@given(case=versions.version_cases())
def test_versioned_references_bind_to_their_version(
    libver: Path, libver_lh: Path, tmp_path_factory: pytest.TempPathFactory,
    case: versions.VersionCase,
) -> None:
    """fuzz.versions: GNU ld's output exits 0 (the generator checked); linkharness's passes
    oracle.check and the field oracle and exits 0 lazily and with LD_BIND_NOW.  Both also
    exit 0 against libver.so as linkharness links it, and so do GNU ld's and linkharness's
    executables linked against that library."""
    record_labels(versions.describe(case))
    work = tmp_path_factory.mktemp("versions")
    objects = versions.write_objects(case, work)
    ref = work / "bfd.out"
    linked = link_reference("bfd", [str(o) for o in objects], str(ref), libs=[str(libver)])
    assert linked.ok, linked.stderr
    assert run_status(ref, libver.parent, False) == 0, "generator bug: GNU ld's output fails"
    exe = work / "lh.out"
    link([*map(str, objects), str(libver)], exe, entry="_start", dynamic_linker=DYNAMIC_LINKER)
    problems = [*judge.structure(exe), *judge.fields(exe, objects)]
    assert not problems, "\n".join(problems)
    for bind_now in (False, True):
        status = run_status(exe, libver.parent, bind_now)
        assert status == 0, f"call {status - 1} returned another version's value " \
                            f"(bind_now={bind_now})"
    exe_lh = work / "lh-lh.out"
    link([*map(str, objects), str(libver_lh)], exe_lh, entry="_start",
         dynamic_linker=DYNAMIC_LINKER)
    # GNU ld reads linkharness's library too (which version is the default, which hidden).
    ref_lh = work / "bfd-lh.out"
    linked = link_reference("bfd", [str(o) for o in objects], str(ref_lh),
                            libs=[str(libver_lh)])
    assert linked.ok, linked.stderr
    for out in (ref, exe, exe_lh, ref_lh):
        status = run_status(out, libver_lh.parent, False)
        assert status == 0, f"{out.name} against linkharness's libver.so: call " \
                            f"{status - 1} returned another version's value"
