"""What a linked integration program must do when run: print and exit as its recorded
expectation says, natively and, where the emulator can serve its libraries, emulated."""

from __future__ import annotations

from pathlib import Path

from program_build import BuiltObjects
from program_spec import ProgramSpec

from oracle.emulate import run as emulate


def assert_runs_as_recorded(spec: ProgramSpec, built: BuiltObjects, executable: Path, *,
                            emulated_too: bool) -> None:
    """The native run's stdout and exit status are the expectation's; with `emulated_too`
    the emulated ld.so's run (the build directory on its library path, for a library the
    test linked) gives them too.  The emulator serves libc, libm and libgcc_s, not
    libstdc++: a C++ program runs natively only."""
    result = built.run(executable)
    # A crash shows as a stdout difference first: name its status and stderr there too.
    context = f"exit status {result.exit}, stderr: {result.stderr[-2000:]!r}"
    assert (result.stdout, result.exit) == (spec.stdout, spec.exit), context
    if not emulated_too or spec.is_cxx:
        return
    emulated = emulate(executable, [str(executable), *spec.args],
                       {"LC_ALL": "C", **dict(spec.env)}, library_path=[built.directory])
    assert emulated.stdout.decode("utf-8", "replace") == spec.stdout, emulated.faults
    assert emulated.exit_code == spec.exit, emulated.faults
