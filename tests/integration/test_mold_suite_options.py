"""What running mold's test suite with linkharness found in GNU ld's command-line
grammar, scripts, symbol versions and diagnostics (tests/real_suites/mold_suite.py), each
held to GNU ld with a small program of our own (tests/integration/mold_suite_findings/).
The layout and binding findings are in test_mold_suite_findings.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from mold_findings_support import SOURCES
from mold_findings_support import build_ok as _run
from mold_findings_support import dynsym_entry as _dynsym
from mold_findings_support import linkers as _linkers
from mold_findings_support import native_stdout as _native


@pytest.fixture(scope="module")
def shim() -> str:
    from linker import shim_dir

    return shim_dir()


# -- version-script wildcards -----------------------------------------------------------

def _versions(lib: Path) -> dict[str, str]:
    out = subprocess.run(["readelf", "-W", "--dyn-syms", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    names = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 8 and fields[6] != "UND" and "@" in fields[7]:
            name, _, version = fields[7].partition("@")
            names[name] = version.lstrip("@")
    return names


def test_version_script_wildcards_choose_as_gnu_ld(tmp_path: Path, shim: str) -> None:
    """Several globs matching one name: GNU ld takes the last node's, a global match over a
    local one; `\\_` is a literal `_`.  linkharness took the first node's."""
    found = {}
    for linker, select in _linkers(shim).items():
        lib = tmp_path / f"lib{linker}.so"
        _run(["gcc", "-fPIC", "-shared", select, f"-Wl,--version-script={SOURCES}/version_globs.map",
              "-o", str(lib), str(SOURCES / "version_globs.c")], tmp_path)
        found[linker] = _versions(lib)
    assert found["gnu"]["close_all"] == "V_LAST"  # the premise: the last node's glob wins
    assert found["lh"] == found["gnu"]


# -- small dynamic-section facts GNU ld writes ------------------------------------------

def _dynamic_tags(path: Path) -> dict[str, str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                         check=True).stdout
    tags = {}
    for line in out.splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[1].startswith("("):
            tags[fields[1].strip("()")] = fields[2]
    return tags


def test_library_audit_and_an_unused_library(tmp_path: Path, shim: str) -> None:
    """A library linked with --audit gives what links against it DT_DEPAUDIT; a library
    named on the command line makes the executable dynamic even with nothing imported from
    it, so --export-dynamic has a .dynsym (linkharness wrote a static file)."""
    lib = tmp_path / "libaudited.so"
    _run(["gcc", "-shared", "-fPIC", "-fuse-ld=bfd", "-Wl,--audit=/opt/audit/aud.so",
          "-Wl,-soname,libaudited.so", "-o", str(lib), str(SOURCES / "weak_hook_lib.c")],
         tmp_path)
    found = {}
    for linker, select in _linkers(shim).items():
        exe = tmp_path / f"prog.{linker}"
        _run(["gcc", select, "-Wl,--export-dynamic", "-o", str(exe),
              str(SOURCES / "weak_hook_main.c"), str(lib), f"-Wl,-rpath,{tmp_path}"], tmp_path)
        tags = _dynamic_tags(exe)
        found[linker] = tags.get("DEPAUDIT")
        assert _dynsym(exe, "hook")[0] == "STT_FUNC", linker
    assert found["gnu"] is not None and found["lh"] == found["gnu"]
    empty = tmp_path / "libempty.so"
    _run(["gcc", "-shared", "-fPIC", "-fuse-ld=bfd", "-o", str(empty), "-xc", "/dev/null"],
         tmp_path)
    start = tmp_path / "start.o"
    (tmp_path / "start.c").write_text("void _start(void) { for (;;); }\nint exported;\n")
    _run(["gcc", "-c", "-fno-pie", "-o", str(start), str(tmp_path / "start.c")], tmp_path)
    for linker, select in _linkers(shim).items():
        exe = tmp_path / f"bare.{linker}"
        _run(["gcc", "-nostdlib", "-no-pie", select, "-Wl,--export-dynamic,--no-as-needed",
              "-o", str(exe),
              str(start), str(empty)], tmp_path)
        assert _dynsym(exe, "exported")[0] == "STT_OBJECT", linker
        assert "NEEDED" in _dynamic_tags(exe), linker


def test_undefined_reference_names_the_demangled_symbol(tmp_path: Path, shim: str) -> None:
    """GNU ld's words, demangled: scripts grep for `undefined reference to \\`ns::f(...)'`."""
    said = {}
    for linker, select in _linkers(shim).items():
        proc = subprocess.run(["g++", select, "-o", str(tmp_path / linker),
                               str(SOURCES / "undefined_cxx.cc")], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
        assert proc.returncode != 0
        said[linker] = proc.stderr
    wanted = "undefined reference to `shapes::area(char const*, int)'"
    assert wanted in said["gnu"] and wanted in said["lh"]
    assert len([ln for ln in said["lh"].splitlines() if ln.startswith("linkharness:")]) == 1


def test_export_dynamic_symbol_options(tmp_path: Path, shim: str) -> None:
    """--export-dynamic-symbol(-list) were refused as unknown: an executable exports the
    named functions, as with GNU ld."""
    (tmp_path / "list").write_text("{ hook; call_*; };\n")
    for option in ("--export-dynamic-symbol-list=list",
                   "--export-dynamic-symbol=hook,--export-dynamic-symbol=call_*"):
        for linker, select in _linkers(shim).items():
            exe = tmp_path / f"prog.{linker}"
            _run(["gcc", select, f"-Wl,{option}", "-o", str(exe),
                  str(SOURCES / "weak_hook_main.c"), str(SOURCES / "weak_hook_lib.c")],
                 tmp_path)
            assert _dynsym(exe, "hook")[0] == "STT_FUNC", (linker, option)
            assert _dynsym(exe, "call_hook")[0] == "STT_FUNC", (linker, option)


def test_empty_symbol_version_is_a_plain_export(tmp_path: Path, shim: str) -> None:
    """`.symver f, name@` / `name@@` (an empty version) was refused as a missing version
    node; GNU ld exports `name` unversioned, even past a script's `local: *`."""
    (tmp_path / "hide.map").write_text("{ local: *; };\n")
    for script in ([], ["-Wl,--version-script=hide.map"]):
        found = {}
        for linker, select in _linkers(shim).items():
            lib = tmp_path / f"lib{linker}.so"
            _run(["gcc", "-fPIC", "-shared", select, *script, "-o", str(lib),
                  str(SOURCES / "empty_version.c")], tmp_path)
            found[linker] = {name: _dynsym(lib, name)[0] for name in ("first", "second")}
        assert found["lh"] == found["gnu"] == {"first": "STT_FUNC", "second": "STT_FUNC"}


def test_sysroot_library_directories(tmp_path: Path, shim: str) -> None:
    """`-L=DIR` and `-L$SYSROOT/DIR` are directories under --sysroot (they were taken as
    relative directories, and -l failed)."""
    lib_dir = tmp_path / "root" / "opt" / "lib"
    lib_dir.mkdir(parents=True)
    obj = tmp_path / "hook.o"
    _run(["gcc", "-c", "-o", str(obj), str(SOURCES / "weak_hook_lib.c")], tmp_path)
    _run(["ar", "rcs", str(lib_dir / "libhook.a"), str(obj)], tmp_path)
    for spelling in ("-L=/opt/lib", "-L$SYSROOT/opt/lib"):
        for linker, select in _linkers(shim).items():
            exe = tmp_path / f"prog.{linker}"
            _run(["gcc", select, "-o", str(exe), str(SOURCES / "weak_hook_main.c"),
                  f"-Wl,--sysroot={tmp_path / 'root'}", f"-Wl,{spelling}", "-lhook"], tmp_path)
            assert _native(exe) == "1\n", (linker, spelling)


def test_executable_stack_warning_as_gnu_ld(tmp_path: Path, shim: str) -> None:
    """GNU ld's one warning for an object without .note.GNU-stack among objects with one
    (build logs grep it); none when no object has a note."""
    bare = tmp_path / "bare.s"
    bare.write_text(".text\n.globl helper\nhelper: ret\n")
    obj = tmp_path / "bare.o"
    _run(["as", "-o", str(obj), str(bare)], tmp_path)
    said = {}
    for linker, select in _linkers(shim).items():
        proc = _run(["gcc", select, "-o", str(tmp_path / linker), str(obj),
                     str(SOURCES / "weak_hook_main.c"), str(SOURCES / "weak_hook_lib.c")],
                    tmp_path)
        said[linker] = [ln.split("warning: ", 1)[1] for ln in proc.stderr.splitlines()
                        if "warning: " in ln]
    assert said["lh"] == said["gnu"] == [
        f"{obj}: missing .note.GNU-stack section implies executable stack"]


def test_warn_unresolved_symbols(tmp_path: Path, shim: str) -> None:
    """--warn-unresolved-symbols (was refused as unknown): the link succeeds, saying
    GNU ld's words as a warning."""
    for linker, select in _linkers(shim).items():
        proc = _run(["g++", select, "-Wl,--warn-unresolved-symbols", "-o",
                     str(tmp_path / linker), str(SOURCES / "undefined_cxx.cc")], tmp_path)
        lines = [ln for ln in proc.stderr.splitlines() if "warning: " in ln]
        assert any("undefined reference to `shapes::area(char const*, int)'" in ln
                   for ln in lines), (linker, proc.stderr)


def _dynamic_names(lib: Path) -> list[str]:
    out = subprocess.run(["readelf", "-W", "--dyn-syms", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    return sorted(fields[7] for fields in (line.split() for line in out.splitlines())
                  if len(fields) == 8 and fields[6] not in ("UND", "ABS") and fields[0] != "Num:")


def test_symver_alias_and_script_version(tmp_path: Path, shim: str) -> None:
    """`.symver measure, measure@V_ONE` keeps the plain `measure` too; with the script's
    `V_ONE { measure; }` GNU ld exports measure@V_ONE alone, where linkharness added
    measure@@V_ONE (two definitions of one version)."""
    found = {}
    for linker, select in _linkers(shim).items():
        lib = tmp_path / f"lib{linker}.so"
        _run(["gcc", "-fPIC", "-shared", select,
              f"-Wl,--version-script={SOURCES}/symver_alias.map", "-o", str(lib),
              str(SOURCES / "symver_alias.c")], tmp_path)
        found[linker] = _dynamic_names(lib)
    assert "measure@V_ONE" in found["gnu"] and "measure@@V_ONE" not in found["gnu"]
    assert found["lh"] == found["gnu"]


@pytest.mark.parametrize("order,interp", [(["-shared", "-pie"], True),
                                          (["-pie", "-shared"], False)])
def test_last_of_shared_and_pie_decides(tmp_path: Path, order: list[str], interp: bool) -> None:
    """GNU ld: `-shared -pie` is a PIE (PT_INTERP, a runnable object), `-pie -shared` a
    shared object; linkharness made both shared objects."""
    obj = tmp_path / "start.o"
    (tmp_path / "start.c").write_text("void _start(void) { for (;;); }\n")
    _run(["gcc", "-fPIC", "-c", "-o", str(obj), str(tmp_path / "start.c")], tmp_path)
    for linker in ("ld.bfd", "lh"):
        out = tmp_path / f"out.{linker}"
        tool = ["ld.bfd"] if linker == "ld.bfd" else [sys.executable, "-m", "linker"]
        _run([*tool, *order, "--dynamic-linker=/lib/ld.so", "-e", "_start", "-o", str(out),
              str(obj)], tmp_path)
        with open(out, "rb") as handle:
            types = [seg["p_type"] for seg in ELFFile(handle).iter_segments()]
        assert ("PT_INTERP" in types) == interp, linker


def test_scripts_as_gnu_ld_reads_them(tmp_path: Path, shim: str) -> None:
    """A version script named by a relative name found in a -L directory; a node that is
    itself named VERSION; a quoted file name in a linker script's GROUP."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "names.map").write_text("VERSION { global: call_hook; local: *; };\n")
    lib_obj = tmp_path / "hook.o"
    _run(["gcc", "-fPIC", "-c", "-o", str(lib_obj), str(SOURCES / "weak_hook_lib.c")],
         tmp_path)
    found = {}
    for linker, select in _linkers(shim).items():
        lib = tmp_path / f"lib{linker}.so"
        _run(["gcc", "-shared", select, f"-Wl,-L{tmp_path / 'scripts'}",
              "-Wl,--version-script,names.map", "-o", str(lib), str(lib_obj)], tmp_path)
        found[linker] = _versions(lib)
        archive = tmp_path / f"libhook_{linker}.a"
        _run(["ar", "rcs", str(archive), str(lib_obj)], tmp_path)
        script = tmp_path / f"libgroup_{linker}.so"
        script.write_text(f'GROUP("{archive}")\n')
        exe = tmp_path / f"prog.{linker}"
        _run(["gcc", select, "-o", str(exe), str(SOURCES / "weak_hook_main.c"), str(script)],
             tmp_path)
        assert _native(exe) == "1\n", linker
    assert found["gnu"] == {"call_hook": "VERSION"} and found["lh"] == found["gnu"]
