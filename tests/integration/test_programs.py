"""Every program of tests/programs, built in every variant, linked by GNU ld and linkharness.

Both executables run natively; each one's stdout (and stderr when recorded) and exit status
must equal the program's recorded expectation.  GNU ld passing proves the expectation right;
linkharness passing proves the linker right.  A linkharness failure is a linker bug: the
test is never weakened to hide one.

Every program built as x86-64 -fPIE objects (the gcc-O2-fPIE variant) or i386 -fPIC ones
(m32-fPIC) is also linked as a position-independent executable (`-pie`, gcc's default) by
both linkers: both run natively, and linkharness's PIE of a C program (x86-64 and i386)
also runs under the emulator (which has no libstdc++), loaded at a base far from its link address 0, so a
missing RELATIVE shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from program_build import DEFAULT_VARIANTS, LINKERS, VARIANTS, build_objects
from program_run import assert_runs_as_recorded
from program_spec import ProgramSpec, load_programs

PROGRAMS = load_programs(DEFAULT_VARIANTS)
CASES = [
    pytest.param(spec, variant, linker, id=f"{spec.name}-{variant}-{linker}")
    for spec in PROGRAMS
    for variant in spec.variants
    for linker in LINKERS
]


def _has_assembly(spec: ProgramSpec) -> bool:
    """Hand-written assembly (the relocation zoos) holds absolute addresses in code on
    purpose: not PIE material (linkharness refuses the text relocation, GNU ld writes one)."""
    return any(s.endswith(".s") for s in spec.sources)


# The variants whose objects the PIE cases link: x86-64 -fPIE, and i386 -fPIC (its PIEs use
# the PIC PLT, which reads %ebx).
PIE_OBJECTS = {"x86-64": "gcc-O2-fPIE", "i386": "m32-fPIC"}
PIE_CASES = [
    pytest.param(spec, linker, objects, id=f"{spec.name}-pie-{arch}-{linker}")
    for arch, objects in PIE_OBJECTS.items()
    for spec in PROGRAMS if objects in spec.variants and not _has_assembly(spec)
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
    x86_64 = [c for c in PIE_CASES if c.values[2] == PIE_OBJECTS["x86-64"]]
    assert len(x86_64) >= len(LINKERS) * (len(PROGRAMS) - 3)
    assert len(PIE_CASES) - len(x86_64) >= len(LINKERS) * 30


@pytest.mark.parametrize(("spec", "linker", "objects"), PIE_CASES)
def test_pie_program(spec: ProgramSpec, linker: str, objects: str, shared_build_root: Path,
                     linkharness_shim: str) -> None:
    built = build_objects(spec, VARIANTS[objects], shared_build_root)
    executable = built.link(linker, linkharness_shim, pie=True)
    assert_runs_as_recorded(spec, built, executable, emulated_too=linker == "linkharness")
