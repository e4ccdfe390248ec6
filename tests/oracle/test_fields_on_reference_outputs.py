"""The field oracle over the reference linkers' outputs of the integration programs.

GNU ld, gold, lld (ld.lld-14) and mold link the programs of tests/programs, compiled the way
the integration suite compiles them (tests/integration/program_build.py, reused: one build
per program and flag set), and `oracle.relocs.check_fields` judges every output.  Each
output also runs natively against the program's recorded expectation, and the two verdicts
must agree:

- an output that runs right must have no field mismatch: a mismatch there is an oracle bug
  (a formula wrong in the oracle and the linker alike shows itself this way: issue 19);
- an output that runs wrong (mold 1.10.1 on i386 `-fno-plt` code: it writes G + A - GOT for
  `call *foo@GOT`) must have one, or the oracle would have passed a broken link.

Flag sets: every variant the integration suite builds each program in (-O0, -O2, -fPIE
objects, -fPIC, clang, -static, -z now, -mcmodel=large, -m32, -m32 -fPIC), plus `-fno-plt`
for x86-64 and for -m32 non-PIC code, which the integration suite does not build.  Outputs
are non-PIE ET_EXEC; the position-independent builds (-fPIE, -fPIC, -m32 -fPIC) are also
linked as PIEs (ET_DYN).  linkharness itself links the -fno-plt builds too
(test_linkharness_links_no_plt_code).

By default a representative subset of programs runs (REPRESENTATIVE: the x86-64 and i386
relocation zoos, function pointers in data in every flag set including -static and
-mcmodel=large, libm static, mixed PIC/non-PIC objects with COPY, pointer constants in
.rodata.cst8, symbol versions), over all of their flag sets (each flag set of the matrix
appears) and all four linkers; LINKHARNESS_REFERENCE_FIELDS=all runs every program (about 1700
cases: every one passed when this test was written).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle.reference import LINKERS, _gcc_shim_dir, link_with_gcc
from oracle.relocs import check_fields_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from program_build import (  # a sibling test directory, not a package
    DEFAULT_VARIANTS,
    VARIANTS,
    BuiltObjects,
    Variant,
    build_objects,
)
from program_spec import ProgramSpec, load_programs

NO_PLT: dict[str, Variant] = {
    "gcc-O2-fno-plt": Variant("gcc-O2-fno-plt", "gcc", "g++", ("-O2", "-fno-pie", "-fno-plt")),
    "m32-fno-plt": Variant("m32-fno-plt", "gcc", "g++", ("-O1", "-fno-pie", "-fno-plt"), (),
                           ("-m32",)),
}
ALL_VARIANTS = {**VARIANTS, **NO_PLT}

# Reference outputs that run wrong for a reason outside the judged objects: their fields
# must still all agree.
OUTSIDE_THE_OBJECTS = {
    ("math_libm", "static", "mold"): "mold 1.10.1's static link with libm.a crashes in "
                                     "__libc_start_main, inside libc.a",
}

REPRESENTATIVE = (
    "fnptr_data_table", "init_fini_arrays", "math_libm", "mixed_pic_copy", "multi_file",
    "reloc_zoo", "reloc_zoo32",
    "symbol_version_pinned",
)


def _variants(spec: ProgramSpec) -> list[str]:
    """The program's own flag sets, and -fno-plt where it is compiled for that machine."""
    names = list(spec.variants)
    if any(v in names for v in ("gcc-O2", "gcc-O0")):
        names.append("gcc-O2-fno-plt")
    if "m32" in names:
        names.append("m32-fno-plt")
    return names


def _programs() -> list[ProgramSpec]:
    every = load_programs(DEFAULT_VARIANTS)
    if os.environ.get("LINKHARNESS_REFERENCE_FIELDS") == "all":
        return every
    return [spec for spec in every if spec.name in REPRESENTATIVE]


CASES = [pytest.param(spec, variant, linker, id=f"{spec.name}-{variant}-{linker}")
         for spec in _programs() for variant in _variants(spec) for linker in LINKERS]


# PIE links (ET_DYN) of the position-independent flag sets; -static is not among them.
PIE_VARIANTS = ("gcc-O2-fPIE", "gcc-fPIC", "m32-fPIC")
PIE_CASES = [pytest.param(spec, variant, linker, id=f"{spec.name}-{variant}-pie-{linker}")
             for spec in _programs() for variant in _variants(spec) if variant in PIE_VARIANTS
             for linker in LINKERS]


@pytest.fixture(scope="module")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The integration suite's build directory (tests/integration/conftest.py): shared by
    the xdist workers of a session and with that suite, which compiles the same programs
    (build_objects locks each program's directory)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "lh-programs"
    path.mkdir(exist_ok=True)
    return path


def _link(built: BuiltObjects, linker: str) -> Path:
    variant = built.variant
    output = built.directory / f"prog.ref-{linker}"
    libs = [*built.link_args, *(["-lstdc++", "-lm"] if built.spec.is_cxx else [])]
    result = link_with_gcc(linker, [str(o) for o in built.objects], str(output), libs=libs,
                           static="-static" in variant.ldflags,
                           bind_now="-Wl,-z,now" in variant.ldflags,
                           m32="-m32" in variant.machine)
    assert result.ok, f"{' '.join(result.command)}:\n{result.stderr[-3000:]}"
    return output


def _link_pie(built: BuiltObjects, linker: str) -> Path:
    """The same objects (position-independent code only) as a PIE, an ET_DYN."""
    output = built.directory / f"prog.pie-{linker}"
    driver = "g++" if built.spec.is_cxx else "gcc"
    argv = [driver, *built.variant.machine, "-pie", f"-B{_gcc_shim_dir()}/", f"-fuse-ld={linker}",
            *built.variant.ldflags, "-o", str(output), *map(str, built.objects),
            *built.link_args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr[-3000:]}"
    return output


def _inputs(built: BuiltObjects) -> list[str]:
    """What the oracle judges: the program's objects and its archives (libc is not ours)."""
    archives = [a for a in built.link_args if a.endswith(".a")]
    return [*map(str, built.objects), *archives]


def test_every_reference_linker_is_installed() -> None:
    for name in LINKERS.values():
        assert shutil.which(name), name


def test_the_matrix_covers_every_flag_set() -> None:
    seen = {variant for param in CASES for variant in [param.values[1]]}
    assert {"gcc-O0", "gcc-O2", "gcc-fPIC", "static", "m32", "m32-fPIC", "gcc-O2-fno-plt",
            "m32-fno-plt"} <= seen


@pytest.mark.parametrize(("spec", "variant", "linker"), CASES)
def test_oracle_agrees_with_the_native_run(spec: ProgramSpec, variant: str, linker: str,
                                          build_root: Path) -> None:
    built = build_objects(spec, ALL_VARIANTS[variant], build_root)
    _judge(spec, variant, linker, built, _link(built, linker))


@pytest.mark.parametrize(("spec", "variant", "linker"), PIE_CASES)
def test_oracle_agrees_with_the_native_run_of_a_pie(spec: ProgramSpec, variant: str,
                                                   linker: str, build_root: Path) -> None:
    built = build_objects(spec, ALL_VARIANTS[variant], build_root)
    _judge(spec, variant, linker, built, _link_pie(built, linker))


def _judge(spec: ProgramSpec, variant: str, linker: str, built: BuiltObjects,
           output: Path) -> None:
    run = built.run(output)
    runs_right = (run.stdout, run.exit) == (spec.stdout, spec.exit)
    report = check_fields_report(str(output), _inputs(built))
    text = "\n".join(str(m) for m in report.mismatches[:5])
    if runs_right or (spec.name, variant, linker) in OUTSIDE_THE_OBJECTS:
        assert not report.mismatches, f"oracle bug: {len(report.mismatches)} mismatches on " \
                                      f"a correct {linker} output:\n{text}"
    else:
        assert report.mismatches, f"{linker}'s output runs wrong (exit {run.exit}, stderr " \
                                  f"{run.stderr[-500:]!r}) and the oracle found no bad field"


def test_a_pinned_version_reaches_only_its_own_plt_entry(build_root: Path) -> None:
    """`describe@VER_1` and `describe` (default VER_2) each have a PLT entry; a call to the
    pinned one redirected to the default's entry is reported (both are named `describe`)."""
    spec = next(s for s in load_programs(DEFAULT_VARIANTS) if s.name == "symbol_version_pinned")
    built = build_objects(spec, VARIANTS["gcc-O0"], build_root)
    output = _link(built, "bfd")
    report = check_fields_report(str(output), _inputs(built))
    assert not report.mismatches
    calls = {site.symbol: site for site in report.confirmed if site.type_name == "R_X86_64_PLT32"
             and site.symbol.startswith("describe")}
    pinned, default = calls["describe@VER_1"], calls["describe"]
    data = bytearray(output.read_bytes())
    with open(output, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        assert text is not None
        delta = int(text["sh_offset"]) - int(text["sh_addr"])
    target = default.address + 4 + int.from_bytes(
        data[default.address + delta:default.address + delta + 4], "little", signed=True)
    wrong = (target - (pinned.address + 4)) & 0xFFFFFFFF
    data[pinned.address + delta:pinned.address + delta + 4] = wrong.to_bytes(4, "little")
    mutant = output.with_name("prog.pinned-to-default")
    mutant.write_bytes(bytes(data))
    found = check_fields_report(str(mutant), _inputs(built)).mismatches
    assert [(m.symbol, m.offset) for m in found] == [("describe@VER_1", pinned.offset)]


NO_PLT_CASES = [pytest.param(spec, variant, id=f"{spec.name}-{variant}")
                for spec in _programs() for variant in _variants(spec) if variant in NO_PLT]


@pytest.mark.parametrize(("spec", "variant"), NO_PLT_CASES)
def test_linkharness_links_no_plt_code(spec: ProgramSpec, variant: str,
                                       build_root: Path) -> None:
    """The integration suite builds no -fno-plt code: linkharness's own link of it (i386
    `call *f@GOT` with no base register, x86-64 `call *f@GOTPCREL(%rip)`) runs right and
    every field agrees."""
    from linker import shim_dir

    built = build_objects(spec, ALL_VARIANTS[variant], build_root)
    output = built.link("linkharness", shim_dir())
    run = built.run(output)
    assert (run.stdout, run.exit) == (spec.stdout, spec.exit), run.stderr[-500:]
    assert not check_fields_report(str(output), _inputs(built)).mismatches
