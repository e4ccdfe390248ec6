"""The integration programs built for Darwin i386 by clang-14 -target i386-apple-macosx10.6
(-O2, and -O0 for other code shapes) against the project's headers, linked by linkharness
--target macho-i386 (modern, and --macho-classic), and run under the emulated dyld, binding
lazily and at load: each must print exactly what its native 32-bit ELF build prints (the
program's sources built by gcc -m32 and linked by GNU ld, run on this machine; a 32-bit
`long` makes some outputs differ from the recorded x86-64 expectation) and exit with the
same status.  The same links go through the structural checker and the field oracle.

No reference linker exists for Mach-O i386 here (ld64.lld-14 refuses -arch i386): these
judges are the oracle's own, and the native ELF run is the behavioural reference.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from darwin_build_i386 import LINKERS, build_i386_objects
from darwin_programs import DARWIN_PROGRAMS, darwin_programs
from program_build import VARIANTS, build_objects
from program_build import _exclusive as exclusive
from program_spec import ProgramSpec

from oracle.check import check
from oracle.emulate import run
from oracle.macho_relocs import check_macho_fields

PROGRAMS = darwin_programs()
# (linker, optimisation, binding): a classic file has no lazy binding (every pointer is bound
# at load whichever way the run asks), so it runs once
RUNS = (("linkharness", "-O2", "lazy"), ("linkharness", "-O2", "now"),
        ("linkharness-classic", "-O2", "lazy"), ("linkharness", "-O0", "lazy"))
CASES = [pytest.param(spec, linker, opt, bind, id=f"{spec.name}-{linker}{opt}-{bind}")
         for spec in PROGRAMS for linker, opt, bind in RUNS]


@functools.cache
def _native_i386(spec: ProgramSpec, root: Path) -> tuple[str, int]:
    """(stdout, exit status) of the program's native i386 ELF build (gcc -m32, GNU ld),
    recorded once per session beside its objects.  C++ programs have no native 32-bit
    build here (no 32-bit libstdc++ headers): their recorded expectation is used, which
    says nothing that depends on the size of `long`."""
    if spec.is_cxx:
        return spec.stdout, spec.exit
    built = build_objects(spec, VARIANTS["m32"], root / "native-m32")
    record = built.directory / "native.json"
    with exclusive(built.directory):  # one xdist worker links and runs, the others read
        if not record.exists():
            result = built.run(built.link("gnu-ld", ""))
            record.write_text(json.dumps({"stdout": result.stdout, "exit": result.exit}))
        data = json.loads(record.read_text())
    return str(data["stdout"]), int(data["exit"])


@pytest.mark.parametrize(("spec", "linker", "opt", "bind"), CASES)
def test_program(spec: ProgramSpec, linker: str, opt: str, bind: str,
                 darwin_build_root: Path) -> None:
    stdout, status = _native_i386(spec, darwin_build_root)
    exe = build_i386_objects(spec, darwin_build_root, opt).link(linker)
    result = run(exe, [str(exe), *spec.args], dict(spec.env), bind=bind)
    assert result.faults == []
    assert result.stdout.decode("utf-8", "backslashreplace") == stdout
    assert result.exit_code == status


def test_at_least_thirty_programs() -> None:
    assert len(PROGRAMS) >= 30
    assert sorted(p.name for p in PROGRAMS) == sorted(DARWIN_PROGRAMS)


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("spec", PROGRAMS, ids=lambda s: s.name)
def test_structure_and_fields(spec: ProgramSpec, linker: str, darwin_build_root: Path) -> None:
    """The checker is silent, and (for programs without archives, whose inputs the field
    oracle reads) every relocated field holds what its object asks for."""
    built = build_i386_objects(spec, darwin_build_root)
    exe = built.link(linker)
    assert [str(v) for v in check(exe)] == []
    if spec.archives:
        return
    report = check_macho_fields(exe, list(built.objects))
    assert report.mismatches == (), str(report)
    assert report.checked > 0
