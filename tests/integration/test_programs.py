"""Every program of tests/programs, built in every variant, linked by GNU ld and linkharness.

Both executables run natively; each one's stdout (and stderr when recorded) and exit status
must equal the program's recorded expectation.  GNU ld passing proves the expectation right;
linkharness passing proves the linker right.  A linkharness failure is a linker bug: the
test is never weakened to hide one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from program_build import DEFAULT_VARIANTS, LINKERS, VARIANTS, build_objects
from program_spec import ProgramSpec, load_programs

PROGRAMS = load_programs(DEFAULT_VARIANTS)
CASES = [
    pytest.param(spec, variant, linker, id=f"{spec.name}-{variant}-{linker}")
    for spec in PROGRAMS
    for variant in spec.variants
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
