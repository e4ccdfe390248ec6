"""What running mold's own test suite with linkharness as the linker found
(tests/real_suites/mold_suite.py), each rebuilt from a small program of our own in
tests/integration/mold_suite_findings/ and held to GNU ld's behaviour: natively, and under
the emulator where it applies.  Where the old output was accepted by a judge, the judge's
new knowledge is shown to bite too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from oracle.check import check
from oracle.emulate import run

SOURCES = Path(__file__).resolve().parent / "mold_suite_findings"


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr[-3000:]}"
    return proc


def _native(exe: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(exe)], cwd=exe.parent, capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    assert proc.returncode == 0, f"{exe.name} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def shim() -> str:
    from linker import shim_dir

    return shim_dir()


def _linkers(shim: str) -> dict[str, str]:
    return {"gnu": "-fuse-ld=bfd", "lh": f"-B{shim}"}


def _dynsym(path: Path, name: str) -> tuple[str, int]:
    with open(path, "rb") as handle:
        table = ELFFile(handle).get_section_by_name(".dynsym")
        assert isinstance(table, SymbolTableSection)
        sym = next(s for s in table.iter_symbols() if s.name == name)
        return sym["st_info"]["type"], sym["st_value"]


# -- an IFUNC exported by a shared object ------------------------------------------------

IFUNC_EXPORT_OUT = "scale 15 18 offset 8 9 twice 24 same 1\n"


@pytest.mark.parametrize("variant", ["no-pie", "pie"])
def test_ifunc_exported_from_a_shared_object(tmp_path: Path, shim: str, variant: str) -> None:
    """An IFUNC a shared object exports is bound by ld.so through its resolver: exported
    as STT_FUNC at the resolver (what linkharness wrote when nothing in the library called
    it), every caller in the executable called the resolver and printed nothing."""
    m32: list[str] = []
    pie = ["-fPIE", "-pie"] if variant == "pie" else ["-fno-pie", "-no-pie"]
    for linker, select in _linkers(shim).items():
        lib = tmp_path / linker / "libifx.so"
        lib.parent.mkdir()
        _run(["gcc", *m32, "-O2", "-fPIC", "-shared", select, "-Wl,-soname,libifx.so", "-o", str(lib),
              str(SOURCES / "ifunc_export_lib.c")], tmp_path)
        exe = lib.parent / "prog"
        _run(["gcc", *m32, "-O2", *pie, select, "-o", str(exe),
              str(SOURCES / "ifunc_export_main.c"), str(lib), f"-Wl,-rpath,{lib.parent}"],
             tmp_path)
        assert _native(exe) == IFUNC_EXPORT_OUT, linker
        if linker == "lh":
            # nothing in the library references `scale`: GNU ld's STT_GNU_IFUNC export
            assert _dynsym(lib, "scale")[0] in ("STT_GNU_IFUNC", "STT_LOOS")
            assert check(str(lib)) == []
            assert check(str(exe)) == []
        for bind in ("lazy", "now"):
            got = run(str(exe), library_path=[str(lib.parent)], bind=bind)
            assert got.faults == [], (linker, bind, got.faults)
            assert got.stdout.decode() == IFUNC_EXPORT_OUT, (linker, bind)


def test_i386_shared_object_calling_its_own_ifunc_is_refused(tmp_path: Path, shim: str
                                                              ) -> None:
    """i386 .iplt entries address their slots absolutely, so a position-independent output
    that calls its own IFUNC is refused in one line, never linked."""
    lib = tmp_path / "libifx.so"
    proc = subprocess.run(["gcc", "-m32", "-O2", "-fPIC", "-shared", f"-B{shim}", "-o",
                           str(lib), str(SOURCES / "ifunc_export_lib.c")], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("linkharness:")]
    assert proc.returncode != 0 and len(errors) == 1 and "STT_GNU_IFUNC" in errors[0]
    assert not lib.exists()


def test_judges_flag_an_ifunc_exported_as_a_plain_function(tmp_path: Path) -> None:
    """GNU ld's library with `scale` retyped STT_FUNC in .dynsym (linkharness's old output):
    the checker names it, and the emulated ld.so, like glibc's, then binds callers to the
    resolver, so the run differs from GNU ld's."""
    lib = tmp_path / "libifx.so"
    _run(["gcc", "-O2", "-fPIC", "-shared", "-fuse-ld=bfd", "-Wl,-soname,libifx.so", "-o", str(lib),
          str(SOURCES / "ifunc_export_lib.c")], tmp_path)
    exe = tmp_path / "prog"
    _run(["gcc", "-O2", "-no-pie", "-fno-pie", "-fuse-ld=bfd", "-o", str(exe),
          str(SOURCES / "ifunc_export_main.c"), str(lib)], tmp_path)
    assert check(str(lib)) == []
    with open(lib, "rb") as handle:
        elf = ELFFile(handle)
        table = elf.get_section_by_name(".dynsym")
        assert isinstance(table, SymbolTableSection)
        index = next(i for i, s in enumerate(table.iter_symbols()) if s.name == "scale")
        at = table["sh_offset"] + index * table["sh_entsize"] + 4  # st_info
    image = bytearray(lib.read_bytes())
    image[at] = (image[at] & 0xF0) | 2  # STT_FUNC
    lib.write_bytes(image)
    assert [v.rule for v in check(str(lib))
            if v.rule != "ELF-BUILD-ID-HASH"] == ["ELF-IFUNC-EXPORT"]
    got = run(str(exe), library_path=[str(tmp_path)])
    assert got.stdout.decode() != IFUNC_EXPORT_OUT



# -- thread-local data in sections the default script does not name ----------------------

TLS_ORPHAN_OUT = "0 42 5 6 7\n"


@pytest.mark.parametrize("variant", ["pie", "no-pie", "shared", "m32"])
def test_tls_in_unnamed_sections_stays_one_block(tmp_path: Path, shim: str,
                                                 variant: str) -> None:
    """`.tdata`-like orphans were placed after the other data and PT_TLS's file size
    summed their sizes, ignoring the alignment gap: the 256-aligned array read as zeros.
    They go beside .tdata now, the block starting on its largest alignment."""
    m32 = ["-m32"] if variant == "m32" else []
    pie = ["-no-pie"] if variant == "no-pie" else []
    parts = [SOURCES / "tls_orphan_small.c", SOURCES / "tls_orphan_aligned.c"]
    objects = []
    for source in [*parts, SOURCES / "tls_orphan_main.c"]:
        obj = tmp_path / (source.stem + ".o")
        _run(["gcc", *m32, "-O2", "-fPIC", "-c", str(source), "-o", str(obj)], tmp_path)
        objects.append(str(obj))
    for linker, select in _linkers(shim).items():
        out = tmp_path / linker
        out.mkdir()
        inputs = objects
        if variant == "shared":
            lib = out / "libtls.so"
            _run(["gcc", "-shared", select, "-o", str(lib), *objects[:2]], tmp_path)
            inputs = [objects[2], str(lib), f"-Wl,-rpath,{out}"]
        exe = out / "prog"
        _run(["gcc", *m32, *pie, select, "-o", str(exe), *inputs], tmp_path)
        assert _native(exe) == TLS_ORPHAN_OUT, linker
        if linker == "lh":
            assert check(str(exe)) == []
        got = run(str(exe), library_path=[str(out)])
        assert got.faults == [], (linker, got.faults)
        assert got.stdout.decode() == TLS_ORPHAN_OUT, linker


def test_checker_flags_tls_values_outside_the_tls_file_image(tmp_path: Path) -> None:
    """GNU ld's program with PT_TLS's p_filesz cut to the first section's size (what
    linkharness wrote): the aligned array's initial values fall outside the image."""
    objects = []
    for source in ("tls_orphan_small.c", "tls_orphan_aligned.c", "tls_orphan_main.c"):
        obj = tmp_path / (source[:-2] + ".o")
        _run(["gcc", "-O2", "-fPIC", "-c", str(SOURCES / source), "-o", str(obj)], tmp_path)
        objects.append(str(obj))
    exe = tmp_path / "prog"
    _run(["gcc", "-fuse-ld=bfd", "-o", str(exe), *objects], tmp_path)
    assert check(str(exe)) == []
    with open(exe, "rb") as handle:
        elf = ELFFile(handle)
        index = next(i for i, seg in enumerate(elf.iter_segments()) if seg["p_type"] == "PT_TLS")
        at = elf["e_phoff"] + index * elf["e_phentsize"] + 32  # p_filesz
    image = bytearray(exe.read_bytes())
    image[at:at + 8] = (4).to_bytes(8, "little")
    exe.write_bytes(image)
    assert "ELF-SEG-TLS" in {v.rule for v in check(str(exe))}


# -- -z [no]dynamic-undefined-weak, -z separate-loadable-segments --------------------------

@pytest.mark.parametrize("keyword,expected,source", [
    (None, "1\n", "weak_hook_lib.c"),
    ("dynamic-undefined-weak", "1\n", "weak_hook_lib.c"),
    ("nodynamic-undefined-weak", "0\n", "weak_hook_lib.c"),
    (None, "0\n", "hidden_hook_lib.c")])
def test_undefined_weak_in_a_shared_object(tmp_path: Path, shim: str, keyword: str | None,
                                           expected: str, source: str) -> None:
    """Was a warning and no effect: under nodynamic-undefined-weak the library's undefined
    weak `hook` is 0 at link time, so the executable's definition does not reach it.  A
    hidden undefined weak one is 0 always (it was exported to .dynsym, and bound)."""
    z = [f"-Wl,-z,{keyword}"] if keyword else []
    for linker, select in _linkers(shim).items():
        out = tmp_path / linker
        out.mkdir()
        lib = out / "libhook.so"
        proc = _run(["gcc", "-O2", "-fPIC", "-shared", select, *z, "-Wl,-soname,libhook.so",
                     "-o", str(lib), str(SOURCES / source)], tmp_path)
        assert "warning" not in proc.stderr
        exe = out / "prog"
        _run(["gcc", "-O2", select, "-o", str(exe), str(SOURCES / "weak_hook_main.c"),
              str(lib), f"-Wl,-rpath,{out}"], tmp_path)
        assert _native(exe) == expected, linker
        if linker == "lh":
            assert check(str(lib)) == [] and check(str(exe)) == []
        got = run(str(exe), library_path=[str(out)])
        assert got.stdout.decode() == expected and got.faults == [], linker


def test_dynamic_undefined_weak_in_an_executable_is_refused(tmp_path: Path, shim: str) -> None:
    proc = subprocess.run(["gcc", f"-B{shim}", "-Wl,-z,dynamic-undefined-weak", "-o", "prog",
                           str(SOURCES / "weak_hook_main.c"), str(SOURCES / "weak_hook_lib.c")],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("linkharness:")]
    assert proc.returncode != 0 and len(lines) == 1 and "dynamic-undefined-weak" in lines[0]
    assert not (tmp_path / "prog").exists()


def test_separate_loadable_segments_puts_each_load_on_its_own_pages(tmp_path: Path,
                                                                    shim: str) -> None:
    """Was a warning: every PT_LOAD starts on a page of its own, in the file and in memory."""
    exe = tmp_path / "prog"
    proc = _run(["gcc", f"-B{shim}", "-Wl,-z,separate-loadable-segments", "-o", str(exe),
                 str(SOURCES / "weak_hook_main.c"), str(SOURCES / "weak_hook_lib.c")],
                tmp_path)
    assert proc.stderr == ""
    with open(exe, "rb") as handle:
        loads = [s for s in ELFFile(handle).iter_segments() if s["p_type"] == "PT_LOAD"]
    assert len(loads) >= 3
    assert all(s["p_offset"] % 4096 == 0 and s["p_vaddr"] % 4096 == 0 for s in loads)
    assert _native(exe) == "1\n"


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


# -- COPY of a library's read-only object under GNU ld's default -z relro ----------------

def test_copy_of_read_only_library_data_is_sealed(tmp_path: Path, shim: str) -> None:
    """-z relro is GNU ld's default and now linkharness's on the GNU command line; a COPY
    of a `const` object, or of one in the library's .data.rel.ro, goes to .data.rel.ro
    inside PT_GNU_RELRO (it went to .bss, so a write went through where GNU ld's program
    faults)."""
    lib = tmp_path / "libcopy.so"
    expected = "bc bc xbc faults 0 2\n"
    for linker, select in _linkers(shim).items():
        _run(["gcc", "-fPIC", "-shared", select, "-Wl,-soname,libcopy.so", "-o", str(lib),
              str(SOURCES / "copy_readonly_lib.c")], tmp_path)  # each linker's library
        exe = tmp_path / f"prog.{linker}"
        proc = _run(["gcc", "-O1", "-fno-pie", "-no-pie", select, "-o", str(exe),
                     str(SOURCES / "copy_readonly_main.c"), str(lib), f"-Wl,-rpath,{tmp_path}"],
                    tmp_path)
        assert proc.stderr == ""
        assert _native(exe) == expected, linker
    assert check(str(tmp_path / "prog.lh")) == []
    with open(tmp_path / "prog.lh", "rb") as handle:
        elf = ELFFile(handle)
        relro = next(s for s in elf.iter_segments() if s["p_type"] == "PT_GNU_RELRO")
        symbols = elf.get_section_by_name(".dynsym")
        assert isinstance(symbols, SymbolTableSection)
        where = next(s["st_value"] for s in symbols.iter_symbols() if s.name == "readonly")
    assert relro["p_vaddr"] <= where < relro["p_vaddr"] + relro["p_memsz"]


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


def test_got_loads_stay_when_the_image_passes_2_gib(tmp_path: Path, shim: str) -> None:
    """A GOT load relaxed to `lea x(%rip)` reaches only ±2 GiB: with a 4 GB array in the
    image, relaxing every load made a relocation overflow that GNU ld never has (it keeps
    the GOT slot for a far target)."""
    for linker, select in _linkers(shim).items():
        exe = tmp_path / f"prog.{linker}"
        _run(["gcc", "-O0", "-fPIC", "-no-pie", select, "-o", str(exe),
              str(SOURCES / "far_data.c"), str(SOURCES / "far_data_main.c")], tmp_path)
        assert _native(exe) == "0 0\n", linker
    assert check(str(tmp_path / "prog.lh")) == []


def test_read_only_init_array_input(tmp_path: Path, shim: str) -> None:
    """An .init_array input without SHF_WRITE (an assembler's section renamed) was refused
    in a PIE as a text relocation; its words are ld.so's to relocate in the writable output
    array, as GNU ld places them."""
    writable = tmp_path / "writable.s"
    writable.write_text('.section .init_array,"aw",@init_array\n.p2align 3\n.quad first_ctor\n'
                        '.section .note.GNU-stack,"",@progbits\n')
    renamed = tmp_path / "renamed.s"
    renamed.write_text('.section .init_zzzzz,"a",@progbits\n.p2align 3\n.quad second_ctor\n'
                       '.section .note.GNU-stack,"",@progbits\n')
    objects = []
    for source in (writable, renamed):
        obj = source.with_suffix(".o")
        _run(["as", "-o", str(obj), str(source)], tmp_path)
        objects.append(str(obj))
    data = Path(objects[1]).read_bytes()
    Path(objects[1]).write_bytes(data.replace(b".init_zzzzz", b".init_array"))
    for pie in (["-pie"], ["-no-pie"]):
        for linker, select in _linkers(shim).items():
            exe = tmp_path / f"prog.{linker}"
            proc = _run(["gcc", *pie, select, "-o", str(exe), *objects,
                         str(SOURCES / "readonly_init_main.c")], tmp_path)
            assert proc.stderr == "", linker
            assert _native(exe) == "first second main\n", (linker, pie)
            got = run(str(exe))
            assert got.stdout == b"first second main\n" and got.faults == [], (linker, pie)
        assert check(str(tmp_path / "prog.lh")) == []


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


@pytest.mark.parametrize("pie", ["-pie", "-no-pie"])
@pytest.mark.parametrize("third", [".tcommon", ".tbss_more"])
def test_tls_zero_fill_in_several_sections(tmp_path: Path, shim: str, pie: str,
                                           third: str) -> None:
    """A second thread-local zero-fill section (.tcommon, an orphan) was given .tbss's own
    addresses: writes to one variable showed in another.  (GNU ld 2.40 does that to the
    orphan itself, printing `3 2 0 0 3 2`: only .tcommon is held to GNU ld.)"""
    source = tmp_path / "zeros.s"
    source.write_text((SOURCES / "tls_zero_fill.s").read_text().replace("THIRD", third))
    obj = tmp_path / "zeros.o"
    _run(["as", "-o", str(obj), str(source)], tmp_path)
    linkers = _linkers(shim) if third == ".tcommon" else {"lh": f"-B{shim}"}
    for linker, select in linkers.items():
        exe = tmp_path / f"prog.{linker}"
        _run(["gcc", pie, select, "-o", str(exe), str(obj),
              str(SOURCES / "tls_zero_fill_main.c")], tmp_path)
        assert _native(exe) == "1 2 0 0 3 0\n", linker
        got = run(str(exe))
        assert got.stdout == b"1 2 0 0 3 0\n" and got.faults == [], linker
    assert check(str(tmp_path / "prog.lh")) == []


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
