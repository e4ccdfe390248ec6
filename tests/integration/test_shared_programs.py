"""The integration programs with their helpers in a linkharness-made shared library.

Each C program of tests/programs, compiled -fPIC (x86-64 `gcc-fPIC`, i386 `m32-fPIC`), is
split: the translation unit defining `main` stays in the executable and the others move
into `libhelpers.lh.so`, which linkharness links with `-shared` (a one-file program moves
whole, `main` included).  The executable is a PIE linked against that library by GNU ld
and by linkharness; both run natively and must print what the program's expectation says,
and linkharness's (x86-64 and i386) also runs under the emulator, which loads the library
as real code.  A GNU-ld-linked executable passing proves the library right as ld.so sees it.

Not every program fits: hand-written assembly holds absolute addresses in code (a text
relocation in a shared object), C++ needs libstdc++ (native runs only), and a program that
builds its own shared libraries or archives keeps them as its link line says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from program_build import DEFAULT_VARIANTS, LINKERS, VARIANTS, build_objects
from program_run import assert_runs_as_recorded
from program_spec import ProgramSpec, load_programs

PROGRAMS = load_programs(DEFAULT_VARIANTS)
PIC_OBJECTS = {"x86-64": "gcc-fPIC", "i386": "m32-fPIC"}


# Programs whose meaning does not survive the split, with the reason.
DOES_NOT_SPLIT = {
    # its helper file adds a .preinit_array entry: not allowed in a shared object (GNU ld
    # refuses it too), and a library's init/fini entries cannot interleave with main's
    "init_fini_arrays": ".preinit_array in the helpers",
    # main refers to hidden symbols the helpers define: hidden means "this module only"
    "hidden_visibility": "hidden symbols used across the split",
}


def _runs_as_split(spec: ProgramSpec) -> bool:
    """Hand-written assembly holds absolute addresses in code: not shared-object material."""
    return spec.name not in DOES_NOT_SPLIT and not any(s.endswith(".s") for s in spec.sources)


CASES = [
    pytest.param(spec, linker, objects, id=f"{spec.name}-shared-{arch}-{linker}")
    for arch, objects in PIC_OBJECTS.items()
    for spec in PROGRAMS
    if _runs_as_split(spec) and objects in spec.variants
    for linker in LINKERS
]


def test_most_programs_have_a_shared_case() -> None:
    x86_64 = [c for c in CASES if c.values[2] == PIC_OBJECTS["x86-64"]]
    assert len(x86_64) >= len(LINKERS) * (len(PROGRAMS) - 5)
    assert len(CASES) - len(x86_64) >= len(LINKERS) * 30


@pytest.mark.parametrize(("spec", "linker", "objects"), CASES)
def test_program_with_a_linkharness_library(spec: ProgramSpec, linker: str, objects: str,
                                            shared_build_root: Path,
                                            linkharness_shim: str) -> None:
    built = build_objects(spec, VARIANTS[objects], shared_build_root)
    library = built.link_shared_library(linkharness_shim)
    executable = built.link_with_library(linker, linkharness_shim, library)
    assert_runs_as_recorded(spec, built, executable, emulated_too=linker == "linkharness")
