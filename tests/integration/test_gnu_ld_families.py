"""The families of issue 20 that once linked silently and ran wrong, each against GNU ld.

Every case builds one small program of tests/integration/gnu_ld_families/ in a few
variants, links it with GNU ld and with linkharness through gcc's driver, and requires:
both executables print the expected text natively; the linkharness output passes the
structural checker and the relocation-field oracle; and the emulator (emulated ld.so, or
static glibc on system calls) prints the same for both outputs.  Then the oracle's own new
knowledge is shown to bite: a call straight to an IFUNC resolver, an early .eh_frame
terminator.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields

SOURCES = Path(__file__).resolve().parent / "gnu_ld_families"


@dataclass(frozen=True)
class Family:
    """A program, how to build it, and what it prints."""

    sources: tuple[str, ...]
    stdout: str
    cflags: tuple[str, ...] = ("-O2",)
    archive: tuple[str, ...] = ()  # sources put in lib.a, linked after the objects
    ldflags: tuple[str, ...] = ()
    emulate: bool = True
    fields: bool = True


IFUNC_OUT = "3 4 5 6 1\n"
MERGE_OUT = ("narrow same\nwide same\nutf-16 same\nutf-32 same\nmiddle narrow string inside\n"
             "merged narrow string merged wide string\n")
CTORS_OUT = ("constructor(300)\nctors.00200 (init priority 65335)\nconstructor(65400)\n"
             "constructor\nctors b\nctors a\nsecond constructor\nsecond .ctors\nmain\n"
             "second .dtors\ndtors a\ndtors b\ndestructor\ndestructor(300)\n")
COMMON_OUT = "counter=42 only=0 defining-member=pulled common-member=not pulled\n"
RELRO_OUT = ("PT_GNU_RELRO: ends on a page yes, holds .init_array yes, holds .data no, "
             "counter 2\n")

FAMILIES: dict[str, Family] = {
    "ifunc-dynamic": Family(("ifunc.c",), IFUNC_OUT, ("-O0", "-fno-pie")),
    "ifunc-dynamic-fPIE": Family(("ifunc.c",), IFUNC_OUT, ("-O2", "-fPIE")),
    "ifunc-dynamic-fPIC": Family(("ifunc.c",), IFUNC_OUT, ("-O1", "-fPIC")),
    "ifunc-dynamic-m32": Family(("ifunc.c",), IFUNC_OUT, ("-m32", "-O2", "-fno-pie")),
    "ifunc-static": Family(("ifunc.c",), IFUNC_OUT, ("-O2", "-fno-pie"), ldflags=("-static",)),
    # exported: .dynsym holds the canonical .iplt entry as a plain function
    "ifunc-export-dynamic-znow": Family(("ifunc.c",), IFUNC_OUT, ("-O2", "-fno-pie"),
                                        ldflags=("-Wl,-E", "-Wl,-z,now")),
    "merge-strings": Family(("merge_main.c", "merge_other.c"), MERGE_OUT),
    "merge-strings-fPIC": Family(("merge_main.c", "merge_other.c"), MERGE_OUT, ("-O1", "-fPIC")),
    "merge-strings-m32": Family(("merge_main.c", "merge_other.c"), MERGE_OUT, ("-m32", "-O2")),
    "merge-strings-clang": Family(("merge_main.c", "merge_other.c"), MERGE_OUT,
                                  ("clang", "-O2", "-fno-pie")),
    "ctors-and-init-array": Family(("ctors_order.c", "ctors_second.c"), CTORS_OUT),
    "ctors-and-init-array-m32": Family(("ctors_order.c", "ctors_second.c"), CTORS_OUT,
                                       ("-m32", "-O2")),
    "common-archive": Family(("common_main.c",), COMMON_OUT, ("-O2", "-fcommon"),
                             archive=("common_defines.c", "common_alsocommon.c")),
    "common-archive-m32": Family(("common_main.c",), COMMON_OUT, ("-m32", "-O2", "-fcommon"),
                                 archive=("common_defines.c", "common_alsocommon.c")),
    "cxx-exceptions-static-pthread": Family(
        ("exceptions_threads.cc",), "caught: bottom reached\nthread caught 42\n",
        ldflags=("-static", "-pthread"), emulate=False, fields=False),
    "cxx-exceptions-static-large": Family(
        ("exceptions.cc",), "caught: bottom reached\n", ("-O2", "-mcmodel=large"),
        ldflags=("-static", "-pthread"), fields=False),
    "cxx-exceptions-large-dynamic": Family(
        ("exceptions.cc",), "caught: bottom reached\n", ("-O2", "-mcmodel=large"),
        emulate=False),  # the emulator has no libstdc++.so
    "relro": Family(("relro.c",), RELRO_OUT, ldflags=("-Wl,-z,relro",)),
    "relro-now": Family(("relro.c",), RELRO_OUT, ldflags=("-Wl,-z,relro", "-Wl,-z,now")),
    "relro-static": Family(("relro.c",), RELRO_OUT, ldflags=("-static", "-Wl,-z,relro")),
    "relro-m32": Family(("relro.c",), RELRO_OUT, ("-m32", "-O2"), ldflags=("-Wl,-z,relro",)),
}


def _run(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr[-3000:]}"


def _compile(source: str, flags: tuple[str, ...], out: Path) -> Path:
    machine = [f for f in flags if f == "-m32"]
    clang = "clang" in flags
    rest = [f for f in flags if f not in ("clang", "-m32")]
    cxx = source.endswith(".cc")
    compiler = ("clang++-14" if cxx else "clang-14") if clang else ("g++" if cxx else "gcc")
    obj = out / (Path(source).stem + ".o")
    _run([compiler, "-c", *machine, *rest, "-w", str(SOURCES / source), "-o", str(obj)], out)
    return obj


@dataclass(frozen=True)
class Built:
    directory: Path
    objects: tuple[Path, ...]
    archive: Path | None
    gnu: Path
    lh: Path


def _build(family: Family, out: Path, shim: str) -> Built:
    objects = tuple(_compile(s, family.cflags, out) for s in family.sources)
    archive = None
    if family.archive:
        members = [str(_compile(s, family.cflags, out)) for s in family.archive]
        archive = out / "lib.a"
        _run(["ar", "rcs", str(archive), *members], out)
    cxx = any(s.endswith(".cc") for s in family.sources)
    machine = [f for f in family.cflags if f == "-m32"]
    inputs = [*map(str, objects), *([str(archive)] if archive else [])]
    outputs = {}
    for linker, select in (("gnu", ["-fuse-ld=bfd"]), ("lh", [f"-B{shim}"])):
        exe = out / f"prog.{linker}"
        _run(["g++" if cxx else "gcc", *machine, "-no-pie", *select, *family.ldflags,
              "-o", str(exe), *inputs], out)
        outputs[linker] = exe
    return Built(out, objects, archive, outputs["gnu"], outputs["lh"])


def _native(exe: Path) -> str:
    proc = subprocess.run([str(exe)], cwd=exe.parent, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, f"{exe.name} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def shim() -> str:
    from linker import shim_dir

    return shim_dir()


@pytest.mark.parametrize("name", FAMILIES)
def test_family_agrees_with_gnu_ld(name: str, tmp_path: Path, shim: str) -> None:
    family = FAMILIES[name]
    built = _build(family, tmp_path, shim)
    assert _native(built.gnu) == family.stdout  # the expectation is GNU ld's behaviour
    assert _native(built.lh) == family.stdout
    assert check(str(built.lh)) == []
    if family.fields:
        inputs = [*map(str, built.objects), *([str(built.archive)] if built.archive else [])]
        assert check_fields(str(built.lh), inputs) == []
    if family.emulate:
        for exe in (built.gnu, built.lh):
            got = run(str(exe))
            assert got.faults == [], (exe.name, got.faults)
            assert got.stdout.decode() == family.stdout, exe.name


def test_library_without_soname_is_needed_by_the_path_given(tmp_path: Path, shim: str,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """GNU ld records a SONAME-less library named by a path as that path in DT_NEEDED; the
    base name alone would not be found by ld.so (the library is in no search directory)."""
    (tmp_path / "sub").mkdir()
    _run(["gcc", "-shared", "-fPIC", "-fuse-ld=bfd", str(SOURCES / "nosoname_lib.c"),
          "-o", "sub/libnos.so"], tmp_path)
    main = _compile("nosoname_main.c", ("-O2",), tmp_path)
    for linker, select in (("gnu", "-fuse-ld=bfd"), ("lh", f"-B{shim}")):
        _run(["gcc", "-no-pie", select, "-o", f"prog.{linker}", str(main), "sub/libnos.so"],
             tmp_path)
        exe = tmp_path / f"prog.{linker}"
        with open(exe, "rb") as handle:
            dyn = ELFFile(handle).get_section_by_name(".dynamic")
            assert isinstance(dyn, DynamicSection)
            needed = [t.needed for t in dyn.iter_tags()  # type: ignore[attr-defined]
                      if t.entry.d_tag == "DT_NEEDED"]
        assert needed[0] == "sub/libnos.so", linker
        assert _native(exe) == "nos 42\n"
        monkeypatch.chdir(tmp_path)
        assert run(str(exe)).stdout == b"nos 42\n"


def test_one_dash_long_option_is_refused_not_misread(tmp_path: Path, shim: str) -> None:
    """`-traditional-format` is GNU ld's --traditional-format: linkharness must refuse it by
    name (one line, exit 1, no output), not read it as -t and a value."""
    main = _compile("relro.c", ("-O2",), tmp_path)
    _run(["gcc", "-no-pie", "-fuse-ld=bfd", "-Wl,-traditional-format", "-o", "gnu",
          str(main)], tmp_path)
    proc = subprocess.run(["gcc", "-no-pie", f"-B{shim}", "-Wl,-traditional-format", "-o", "lh",
                           str(main)], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "linkharness: error" in line]
    assert errors == [("linkharness: error: unrecognised option -traditional-format (GNU "
                       "ld's --traditional-format, which linkharness does not implement)")]
    assert not (tmp_path / "lh").exists()


def _patched_call_to_resolver(tmp_path: Path) -> tuple[Path, Path]:
    """GNU ld's ifunc program with one `call f@plt` rewritten to call f's resolver: what a
    linker ignoring STT_GNU_IFUNC writes."""
    obj = _compile("ifunc.c", ("-O2", "-fno-pie"), tmp_path)
    exe = tmp_path / "bad"
    _run(["gcc", "-no-pie", "-fuse-ld=bfd", "-o", str(exe), str(obj)], tmp_path)
    with open(exe, "rb") as handle:
        elf = ELFFile(handle)
        resolver = next(s["st_value"] for s in elf.get_section_by_name(".symtab")  # type: ignore[union-attr]
                        .iter_symbols() if s.name == "resolve_f")
        plt = elf.get_section_by_name(".plt")
        assert plt is not None
        plt_lo, plt_hi = plt["sh_addr"], plt["sh_addr"] + plt["sh_size"]
        text = elf.get_section_by_name(".text")
        assert text is not None
        data, base, offset = text.data(), text["sh_addr"], text["sh_offset"]
    image = bytearray(exe.read_bytes())
    for at in range(len(data) - 5):
        if data[at] != 0xE8:
            continue
        target = base + at + 5 + struct.unpack_from("<i", data, at + 1)[0]
        if plt_lo <= target < plt_hi:
            struct.pack_into("<i", image, offset + at + 1, resolver - (base + at + 5))
            break
    else:
        pytest.fail("no call into .plt found")
    exe.write_bytes(image)
    return exe, obj


def test_checker_and_field_oracle_flag_a_call_to_an_ifunc_resolver(tmp_path: Path) -> None:
    bad, obj = _patched_call_to_resolver(tmp_path)
    # the patch changes bytes GNU ld's build id hashed: ELF-BUILD-ID-HASH sees that too
    assert [v.rule for v in check(str(bad))
            if v.rule != "ELF-BUILD-ID-HASH"] == ["ELF-IFUNC-DIRECT"]
    assert check_fields(str(bad), [str(obj)]) != []
    assert run(str(bad)).stdout != IFUNC_OUT.encode()


def test_checker_flags_an_eh_frame_terminator_before_the_last_record(tmp_path: Path) -> None:
    obj = _compile("exceptions.cc", ("-O2",), tmp_path)
    exe = tmp_path / "bad"
    _run(["g++", "-static", "-fuse-ld=bfd", "-o", str(exe), str(obj)], tmp_path)
    assert check(str(exe)) == []
    with open(exe, "rb") as handle:
        eh = ELFFile(handle).get_section_by_name(".eh_frame")
        assert eh is not None
        start = eh["sh_offset"]
    image = bytearray(exe.read_bytes())
    first = struct.unpack_from("<I", image, start)[0]
    struct.pack_into("<I", image, start + 4 + first, 0)  # the second record's length
    exe.write_bytes(image)
    assert [v.rule for v in check(str(exe))  # the patch also stales the build id
            if v.rule != "ELF-BUILD-ID-HASH"] == ["ELF-EHFRAME-TERMINATOR"]


def test_sources_directory_is_complete() -> None:
    used = {s for f in FAMILIES.values() for s in (*f.sources, *f.archive)}
    present = {p.name for p in SOURCES.iterdir() if p.suffix in (".c", ".cc")}
    assert used | {"nosoname_lib.c", "nosoname_main.c"} == present
    assert shutil.which("gcc") and shutil.which("clang-14")
