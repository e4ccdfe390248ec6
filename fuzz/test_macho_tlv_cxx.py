"""C++ `thread_local` objects with destructors on Mach-O x86-64 and i386 (fuzz.macho.tlv_cxx): two
clang++-14 units per drawn case, linked by linkharness (dyld-info opcodes or chained
fixups, as drawn).  The output passes oracle.check and the field oracle, and under the
emulated dyld (lazy and now) prints exactly what the model says -- each thread's objects
built on first use and destroyed newest first when it ends, the main thread's at exit
before the static ones -- and exits with main's status.  The model is first held to the
same program built natively by g++ (the generator's check)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings

from fuzz.coverage import record_labels
from fuzz.macho import judge
from fuzz.macho import tlv_cxx as cxx
from linker import link
from oracle.emulate import run

CI_EXAMPLES = 3  # each example compiles four units (clang++ and g++) and runs three programs


def _ci() -> bool:
    return settings.default is not None and settings.default.derandomize


def _budget(f: Callable[..., None]) -> Callable[..., None]:
    return settings(settings.default, max_examples=CI_EXAMPLES)(f) if _ci() else f


def linked(case: cxx.CxxTlvCase, work: Path) -> tuple[Path, list[Path]]:
    """linkharness's link of the case's clang++ objects (raises LinkError)."""
    objs = cxx.write_objects(case, work / "objs")
    exe = work / "lh.out"
    link([*map(str, objs), "-lSystem"], exe, target=cxx.TARGETS[case.arch],
         fixup_chains=case.chained)
    return exe, objs


def behaviour(exe: Path, case: cxx.CxxTlvCase) -> list[str]:
    """Each binding mode's emulated run against the model."""
    want_out, want_status = cxx.expected_output(case)
    found = []
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind)
        found += [f"emulated ({bind}): {f.describe()}" for f in result.faults]
        out = result.stdout.decode(errors="replace")
        if out != want_out:
            found.append(f"emulated ({bind}): printed {out!r}, the model says {want_out!r}")
        if result.exit_code != want_status:
            found.append(f"emulated ({bind}): exit {result.exit_code} != {want_status}")
    return found


def problems(case: cxx.CxxTlvCase, work: Path) -> list[str]:
    exe, objs = linked(case, work)
    return [*judge.structure(exe), *judge.fields(exe, objs), *behaviour(exe, case)]


@_budget
@example(case=cxx.SAMPLES[0])
@example(case=cxx.SAMPLES[1])
@example(case=cxx.SAMPLES[2])
@given(case=cxx.cxx_tlv_cases())
def test_cxx_thread_local_objects_live_and_die_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: cxx.CxxTlvCase,
) -> None:
    record_labels(cxx.describe(case))
    work = tmp_path_factory.mktemp("tlv-cxx")
    native = cxx.native_output(case, work / "native")
    assert native == cxx.expected_output(case), f"model != g++'s native run (generator bug): " \
        f"{native!r}"
    found = problems(case, work)
    assert not found, "\n".join(found)
