"""Every program of tests/programs, built in every variant, linked by GNU ld and linkharness.

Both executables run natively; each one's stdout (and stderr when recorded) and exit status
must equal the program's recorded expectation.  GNU ld passing proves the expectation right;
linkharness passing proves the linker right.  A linkharness failure is a linker bug: the
test is never weakened to hide one.

Every program built as -fPIE objects (the gcc-O2-fPIE variant) is also linked as a
position-independent executable (`-pie`, gcc's default) by both linkers: both run natively,
and linkharness's PIE of a C program also runs under the emulator (which has no
libstdc++), loaded at a base far from its link address 0, so a missing RELATIVE shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from program_build import DEFAULT_VARIANTS, LINKERS, VARIANTS, build_objects
from program_spec import ProgramSpec, load_programs

from oracle.emulate import run as emulate

PROGRAMS = load_programs(DEFAULT_VARIANTS)
CASES = [
    pytest.param(spec, variant, linker, id=f"{spec.name}-{variant}-{linker}")
    for spec in PROGRAMS
    for variant in spec.variants
    for linker in LINKERS
]


PIE_OBJECTS = "gcc-O2-fPIE"  # the variant whose objects the PIE cases link
PIE_CASES = [
    pytest.param(spec, linker, id=f"{spec.name}-pie-{linker}")
    for spec in PROGRAMS if PIE_OBJECTS in spec.variants
    for linker in LINKERS
]


def test_there_are_enough_programs() -> None:
    assert len(PROGRAMS) >= 35
    assert all(v in VARIANTS for spec in PROGRAMS for v in spec.variants)


@pytest.mark.parametrize(("spec", "variant", "linker"), CASES)
def test_program(spec: ProgramSpec, variant: str, linker: str, shared_build_root: Path,
                 linkharness_shim: str) -> None:
    built = build_objects(spec, VARIANTS[variant], shared_build_root)
    executable = built.link(linker, linkharness_shim)
    result = built.run(executable)
    # A crash shows as a stdout difference first: name its status and stderr there too.
    context = f"exit status {result.exit}, stderr: {result.stderr[-2000:]!r}"
    assert result.stdout == spec.stdout, context
    assert result.exit == spec.exit, context
    if spec.stderr is not None:
        assert result.stderr == spec.stderr


def test_most_programs_have_a_pie_case() -> None:
    assert len(PIE_CASES) >= len(LINKERS) * (len(PROGRAMS) - 3)


@pytest.mark.parametrize(("spec", "linker"), PIE_CASES)
def test_pie_program(spec: ProgramSpec, linker: str, shared_build_root: Path,
                     linkharness_shim: str) -> None:
    built = build_objects(spec, VARIANTS[PIE_OBJECTS], shared_build_root)
    executable = built.link(linker, linkharness_shim, pie=True)
    result = built.run(executable)
    context = f"exit status {result.exit}, stderr: {result.stderr[-2000:]!r}"
    assert (result.stdout, result.exit) == (spec.stdout, spec.exit), context
    if linker != "linkharness" or spec.is_cxx:
        return  # the emulator serves libc, libm and libgcc_s, not libstdc++
    emulated = emulate(executable, [str(executable), *spec.args],
                       {"LC_ALL": "C", **dict(spec.env)}, library_path=[built.directory])
    assert emulated.stdout.decode("utf-8", "replace") == spec.stdout, emulated.faults
    assert emulated.exit_code == spec.exit, emulated.faults
