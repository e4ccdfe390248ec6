"""linker/cli.py, gnu_argv.py, gnu_command.py: GNU ld's command line as gcc speaks it, and the
`gcc -B` shim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from linker import cli
from linker.errors import LinkError


def test_lfoo_and_l_space_foo_and_long_library_are_the_same_input() -> None:
    cmd = cli.parse(["-lc", "-l", "m", "--library=z", "--library", "dl"])
    assert cmd.inputs == ["-lc", "-lm", "-lz", "-ldl"]


def test_library_paths_in_every_spelling_keep_their_order() -> None:
    cmd = cli.parse(["-L/a", "-L", "/b", "--library-path=/c", "--library-path", "/d"])
    assert cmd.options["library_paths"] == ["/a", "/b", "/c", "/d"]


@pytest.mark.parametrize("argv", [
    ["--map", "out.map"], ["--map=out.map"], ["-map", "out.map"], ["--json-map=out.map"],
])
def test_json_map_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).options == {"map_file": "out.map"}


@pytest.mark.parametrize("argv", [["-Map", "out.map"], ["-Map=out.map"], ["--Map=out.map"]])
def test_gnu_text_map_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).options == {"text_map": "out.map"}


@pytest.mark.parametrize("argv", [["-M"], ["--print-map"], ["-print-map"]])
def test_print_map_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).options == {"print_map": True}


@pytest.mark.parametrize("argv", [
    ["-o", "x"], ["-ox"], ["--output=x"], ["--output", "x"],
])
def test_output_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).output == "x"


def test_output_defaults_to_a_out() -> None:
    assert cli.parse(["a.o"]).output == "a.out"


@pytest.mark.parametrize("argv", [["-e", "go"], ["-ego"], ["--entry=go"], ["--entry", "go"]])
def test_entry_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).options["entry"] == "go"


@pytest.mark.parametrize("argv", [
    ["-dynamic-linker", "/ld.so"], ["--dynamic-linker", "/ld.so"], ["--dynamic-linker=/ld.so"],
    ["-I", "/ld.so"], ["-I/ld.so"],
])
def test_dynamic_linker_spellings(argv: list[str]) -> None:
    assert cli.parse(argv).options["dynamic_linker"] == "/ld.so"


def test_double_dash_accepted_for_a_single_dash_option() -> None:
    # GNU ld takes --opt and -opt alike: --nostdlib is the ignored -nostdlib.
    cmd = cli.parse(["--nostdlib", "a.o"])
    assert cmd.ignored == ["-nostdlib (only -L directories are ever searched)"] and cmd.warnings == []
    assert cmd.inputs == ["a.o"]


def test_export_dynamic_spellings() -> None:
    for spelling in ("-E", "-export-dynamic", "--export-dynamic"):
        assert cli.parse([spelling]).options == {"export_dynamic": True}


def test_single_dash_accepted_for_a_double_dash_option() -> None:
    # GNU ld: long options take one dash or two (-gc-sections, -as-needed, -no-undefined)
    cmd = cli.parse(["-gc-sections", "-as-needed", "a.o", "-no-undefined"])
    assert cmd.inputs == ["--as-needed", "a.o"]
    assert cmd.options == {"gc_sections": True, "no_undefined": True}
    assert cmd.ignored == []
    assert cmd.warnings == []


@pytest.mark.parametrize(("z", "key", "value"), [
    ("now", "bind_now", True), ("lazy", "bind_now", False),
    ("execstack", "exec_stack", True), ("noexecstack", "exec_stack", False),
    ("relro", "relro", True), ("norelro", "relro", False),
])
def test_z_keywords_that_change_the_output(z: str, key: str, value: bool) -> None:
    assert cli.parse(["-z", z]).options == {key: value}
    assert cli.parse([f"-z{z}"]).options == {key: value}


def test_later_z_wins() -> None:
    assert cli.parse(["-z", "now", "-z", "lazy"]).options["bind_now"] is False


def test_z_ignored_keywords_are_silent_and_unknown_ones_warn() -> None:
    cmd = cli.parse(["-z", "common-page-size=0x1000", "-z", "combreloc", "-z", "frobnicate"])
    assert cmd.options == {}
    assert cmd.ignored == ["-z common-page-size=0x1000", "-z combreloc"]
    assert cmd.warnings == ["ignoring -z frobnicate (unknown -z keyword)"]


@pytest.mark.parametrize(("argv", "options"), [
    (["-z", "separate-code"], {"separate_code": True}),
    (["-z", "noseparate-code"], {"separate_code": False}),
    (["-z", "max-page-size=0x200000"], {"max_page_size": 0x200000}),
    (["-z", "muldefs"], {"allow_multiple_definition": True}),
    (["-z", "undefs"], {"ignore_undefined": True, "no_undefined": False}),
    (["-z", "defs"], {"ignore_undefined": False, "no_undefined": True}),
    (["--unresolved-symbols=ignore-in-object-files"], {"ignore_undefined": True}),
    (["--unresolved-symbols", "report-all"], {"ignore_undefined": False}),
    (["--sort-common"], {"sort_common": "descending"}),
    (["-sort-common=ascending"], {"sort_common": "ascending"}),
    (["-Ttext-segment=0x10000000"], {"image_base": 0x10000000}),
    (["-Ttext-segment", "20000000"], {"image_base": 0x20000000}),
    (["-Ttext=0x500000", "-Tbss", "900000"], {"section_starts": [(".text", 0x500000),
                                                                 (".bss", 0x900000)]}),
    (["--section-start=.rodata=0x600000"], {"section_starts": [(".rodata", 0x600000)]}),
    (["--sort-section=alignment"], {"sort_section": "alignment"}),
    (["-z", "ibt", "-z", "shstk"], {"z_properties": {0xC0000002: 3}}),
    (["-z", "x86-64-v2"], {"z_properties": {0xC0008002: 2}}),
    (["-r", "-unique"], {"relocatable": True, "unique": True}),
    (["-unique"], {"unique": True}),
    (["--relocatable"], {"relocatable": True}),
])
def test_layout_and_resolution_options(argv: list[str], options: dict[str, object]) -> None:
    assert cli.parse(argv).options == options


@pytest.mark.parametrize("argv", [["-z", "max-page-size=3000"], ["-z", "max-page-size=big"],
                                  ["--unresolved-symbols=sometimes"], ["--sort-common=size"],
                                  ["-Ttext-segment=0x10000800"], ["--sort-section=size"],
                                  ["-Ttext=zz"], ["--section-start=.foo"], ["-unique=.foo"],
                                  ["-Trodata-segment=0x1000"], ["-z", "lam-u48"],
                                  ["-r", "-pie"], ["-r", "--gc-sections"]])
def test_bad_option_values_are_one_line_errors(argv: list[str]) -> None:
    with pytest.raises(LinkError, match=re.escape(argv[0].split("=")[0])):
        cli.parse(argv)


@pytest.mark.parametrize("style", ["sysv", "gnu", "both"])
def test_hash_style_accepted(style: str) -> None:
    assert cli.parse([f"--hash-style={style}"]).options["hash_style"] == style
    assert cli.parse(["-hash-style", style]).options["hash_style"] == style


def test_hash_style_rejected() -> None:
    with pytest.raises(LinkError, match="--hash-style must be sysv, gnu or both, not 'md5'"):
        cli.parse(["--hash-style=md5"])


@pytest.mark.parametrize(("argv", "target"), [
    (["-m", "elf_x86_64"], "elf64-x86-64"), (["-melf_i386"], "elf32-i386"),
    (["-m", "elf_i386"], "elf32-i386"),
])
def test_emulation_selects_target(argv: list[str], target: str) -> None:
    assert cli.parse(argv).options["target"] == target


def test_unknown_emulation_lists_supported() -> None:
    with pytest.raises(LinkError) as e:
        cli.parse(["-m", "elf_aarch64"])
    assert "elf_aarch64" in str(e.value) and "elf_x86_64" in str(e.value)
    assert "elf_i386" in str(e.value)


def test_positional_options_keep_their_place_among_inputs() -> None:
    argv = ["crt1.o", "--as-needed", "-lgcc_s", "--no-as-needed", "-(", "a.a", "b.a", "-)",
            "--start-group", "-lc", "--end-group", "-Bstatic", "-lfoo", "-Bdynamic",
            "--whole-archive", "w.a", "--no-whole-archive", "--push-state", "--pop-state",
            "-static", "-dn", "-non_shared", "-dy", "-call_shared", "-"]
    assert cli.parse(argv).inputs == [
        "crt1.o", "--as-needed", "-lgcc_s", "--no-as-needed", "-(", "a.a", "b.a", "-)",
        "--start-group", "-lc", "--end-group", "-Bstatic", "-lfoo", "-Bdynamic",
        "--whole-archive", "w.a", "--no-whole-archive", "--push-state", "--pop-state",
        "-static", "-dn", "-non_shared", "-dy", "-call_shared", "-"]


def test_static_spellings_are_the_positional_static() -> None:
    assert cli.parse(["--static", "a.o"]).inputs == ["-static", "a.o"]


def test_options_gcc_passes_are_accepted_silently_and_listed_once_each() -> None:
    argv = ["--gc-sections", "--gc-sections", "-plugin", "/x/liblto.so",
            "-plugin-opt=/x/lto-wrapper", "-plugin-opt=-fresolution=y", "--plugin-opt", "z",
            "--build-id", "-O1", "-O", "2", "a.o", "--eh-frame-hdr"]
    cmd = cli.parse(argv)
    assert cmd.warnings == []
    assert cmd.ignored == [
        "-plugin (no LTO plugin is run (an -flto input is refused))",
        "-plugin-opt (no LTO plugin is run)",
        "-O (no link-time optimisation)",
    ]
    # the values of ignored options are not mistaken for inputs
    assert cmd.inputs == ["a.o"]
    assert cmd.options == {"eh_frame_hdr": True, "build_id": "sha1", "gc_sections": True}


@pytest.mark.parametrize(("argv", "style"), [
    (["--build-id"], "sha1"), (["--build-id=md5"], "md5"), (["-build-id=uuid"], "uuid"),
    (["--build-id=0xcafe"], "0xcafe"), (["--build-id=none"], "none"),
])
def test_build_id_styles(argv: list[str], style: str) -> None:
    assert cli.parse(argv).options == {"build_id": style}


def test_diagnostic_options() -> None:
    cmd = cli.parse(["--error-limit=3", "--fatal-warnings", "--warn-common", "--verbose"])
    assert cmd.options == {"error_limit": 3, "fatal_warnings": True, "warn_common": True}
    assert cmd.verbose
    assert cli.parse(["--fatal-warnings", "--no-fatal-warnings"]).options == {
        "fatal_warnings": False}
    with pytest.raises(LinkError, match="--error-limit wants a number"):
        cli.parse(["--error-limit=many"])


def test_soname_spellings() -> None:
    for argv in (["-soname", "libx.so.1"], ["-h", "libx.so.1"], ["--soname=libx.so.1"]):
        cmd = cli.parse(argv)
        assert cmd.options == {"soname": "libx.so.1"}
        assert cmd.inputs == [] and cmd.warnings == []


def test_rpath_accumulates_colon_separated() -> None:
    cmd = cli.parse(["-rpath", "/a", "-R", "/b", "--rpath=/c"])
    assert cmd.options["runpath"] == "/a:/b:/c"


def test_undefined_spellings() -> None:
    assert cli.parse(["-u", "a", "-ub", "--undefined=c"]).undefined == ["a", "b", "c"]


def test_flags() -> None:
    cmd = cli.parse(["-s", "--no-pie", "-no-pie", "--no-dynamic-linker", "--sysroot=/r"])
    assert cmd.options == {"strip": True, "sysroot": "/r", "pie": False}


@pytest.mark.parametrize("spelling", ["-pie", "--pie", "--pic-executable"])
def test_pie_spellings(spelling: str) -> None:
    assert cli.parse([spelling, "a.o"]).options == {"pie": True}
    # The last of -pie / -no-pie wins, as in GNU ld (gcc -no-pie after a default -pie).
    assert cli.parse([spelling, "-no-pie", "a.o"]).options == {"pie": False}


def test_static_pie_refused() -> None:
    """gcc -static-pie passes -static -pie --no-dynamic-linker: a PIE that must relocate
    itself, which linkharness does not write (it would crash at start)."""
    with pytest.raises(LinkError, match="-static-pie .*not supported"):
        cli.parse(["-static", "-pie", "--no-dynamic-linker", "-z", "text", "a.o"])


@pytest.mark.parametrize("spelling", ["-shared", "--shared", "-Bshareable"])
def test_shared_spellings(spelling: str) -> None:
    assert cli.parse([spelling, "a.o"]).options == {"shared": True}


def test_shared_library_options() -> None:
    cmd = cli.parse(["-shared", "-Bsymbolic-functions", "--version-script=v.map",
                     "--exclude-libs", "liba.a,libb.a", "--exclude-libs=ALL", "-z", "defs",
                     "-z", "notext", "a.o"])
    assert cmd.options == {"shared": True, "symbolic": "functions",
                           "version_scripts": ["v.map"],
                           "exclude_libs": ["liba.a", "libb.a", "ALL"],
                           "no_undefined": True, "ignore_undefined": False,
                           "text_relocations": True}
    assert cli.parse(["-Bsymbolic", "-z", "text"]).options == {
        "symbolic": "all", "text_relocations": False}


@pytest.mark.parametrize("argv", [["-T", "x.ld"], ["--script=x.ld"], ["-Tx.ld"]])
def test_linker_scripts_refused(argv: list[str]) -> None:
    with pytest.raises(LinkError, match="linker scripts are not supported"):
        cli.parse(argv)


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(LinkError, match="^unrecognised option --frobnicate$"):
        cli.parse(["a.o", "--frobnicate"])


@pytest.mark.parametrize("spelling", ["-traditional-format", "--traditional-format",
                                      "-warn-constructors"])
def test_one_dash_long_option_of_gnu_ld_is_refused_by_name(spelling: str) -> None:
    """GNU ld reads -traditional-format as --traditional-format (getopt_long_only); it must
    not be taken for -t with a value, nor -warn-constructors for -w."""
    with pytest.raises(LinkError, match=f"^unrecognised option {spelling} "):
        cli.parse(["a.o", spelling, "sym"])


@pytest.mark.parametrize(("argv", "options"), [
    (["-init", "go", "-fini=stop"], {"init": "go", "fini": "stop"}),
    (["--init=go"], {"init": "go"}),
    (["--wrap=malloc", "-wrap", "free"], {"wrap": ["malloc", "free"]}),
    (["--defsym=a=b+4", "-defsym", "c = 0x10"], {"defsym": [("a", "b+4"), ("c", " 0x10")]}),
    (["-y", "f", "--trace-symbol=g", "-yh", "-t"], {"trace_symbols": ["f", "g", "h"],
                                                    "trace": True}),
    (["-x"], {"discard_all": True}), (["--discard-all"], {"discard_all": True}),
    (["--disable-new-dtags"], {"new_dtags": False}),
    (["--disable-new-dtags", "--enable-new-dtags"], {"new_dtags": True}),
    (["--audit", "a.so", "--audit=b.so", "-Pc.so"], {"audit": "a.so:b.so", "depaudit": "c.so"}),
    (["-z", "origin", "-z", "nodefaultlib", "-z", "stack-size=0x1000"],
     {"origin": True, "nodefaultlib": True, "stack_size": 0x1000}),
    (["-z", "ibtplt"], {"ibt_plt": True}),
    (["-q"], {"emit_relocs": True}), (["--emit-relocs"], {"emit_relocs": True}),
    (["-emit-relocs"], {"emit_relocs": True}),
])
def test_gnu_options_honoured(argv: list[str], options: dict[str, object]) -> None:
    assert cli.parse(argv).options == options


def test_one_dash_words_that_are_not_long_options_stay_short_options() -> None:
    cmd = cli.parse(["-omagic", "-lstdc++", "-lgcc_s", "-esym", "-L/d", "a.o"])
    assert cmd.output == "magic" and cmd.options["entry"] == "sym"
    assert cmd.inputs == ["-lstdc++", "-lgcc_s", "a.o"]
    assert cmd.options["library_paths"] == ["/d"]


def test_missing_value_is_an_error() -> None:
    with pytest.raises(LinkError, match="option -o needs a value"):
        cli.parse(["a.o", "-o"])


def test_version_flags() -> None:
    for spelling in ("-v", "--version", "-V"):
        assert cli.parse([spelling]).print_version


def test_main_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    out = capsys.readouterr()
    assert out.out == cli.VERSION + "\n" and out.err == ""


def test_main_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: linkharness link")  # GNU ld's capital: scripts grep it
    for option in ("-o FILE", "-z now", "--map FILE", "--start-group", "--macho-classic"):
        assert option in out


def test_main_parse_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--frobnicate", "a.o"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "linkharness: error: unrecognised option --frobnicate\n"


def test_main_prints_warnings_then_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--gc-sections", "--gc-sections", "-z", "frob", "-z", "separate-code"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "linkharness: warning: ignoring -z frob (unknown -z keyword)",
        "linkharness: error: no input files",
    ]


def test_fatal_warnings_fails_on_a_command_line_warning(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--fatal-warnings", "-z", "frob", "a.o"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "linkharness: error: ignoring -z frob (unknown -z keyword)"]


def test_verbose_lists_what_was_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--verbose", "--gc-sections", "-plugin", "p.so"]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines()[1:] == [
        ("linkharness: ignored option: -plugin (no LTO plugin is run (an -flto input is "
         "refused))")]
    assert out.err == "linkharness: error: no input files\n"


def test_main_missing_input_file_is_one_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(tmp_path / "missing.o"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("linkharness: error: ")
    assert "missing.o" in err
    assert not (tmp_path / "out").exists()


def test_main_routes_ld64_spelling_to_the_macho_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    # -arch is not a GNU ld option: the ld64 parser must see it (and reject -arch arm64).
    assert cli.main(["-arch", "arm64", "a.o"]) == 1
    assert "-arch arm64 is not supported" in capsys.readouterr().err


def test_main_routes_target_macho_to_the_macho_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--target=macho-x86_64", "-lSystem", "-bogus_flag"]) == 1
    assert "(ld64 spelling)" in capsys.readouterr().err


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # The shim's direct process (the link server has tests/linker/test_link_server.py);
    # and no server started per test under this private cache directory.
    monkeypatch.setenv("LINKHARNESS_SERVER", "0")
    return tmp_path


def test_shim_dir_holds_the_compiled_client_for_this_python(cache: Path) -> None:
    directory = cli.shim_dir()
    assert directory.startswith(str(cache / "linkharness"))
    ld = Path(directory) / "ld"
    assert os.access(ld, os.X_OK)
    assert ld.read_bytes()[:4] == b"\x7fELF"
    source = (Path(directory) / "ld.c").read_text()  # what it was compiled from
    assert f'#define LH_PYTHON "{sys.executable}"' in source
    # bytecode is cached beside the shim directory (gcc -B searches that one)
    assert f'#define LH_PYCACHE "{directory}-pycache"' in source


def test_shim_dir_is_idempotent(cache: Path) -> None:
    first = cli.shim_dir()
    ld = Path(first) / "ld"
    os.utime(ld, (1_000_000, 1_000_000))
    assert cli.shim_dir() == first
    assert ld.stat().st_mtime == 1_000_000  # not rewritten when already right
    assert sorted(os.listdir(first)) == ["ld", "ld.c"]  # no temporary left behind


def test_shim_is_rewritten_when_stale(cache: Path) -> None:
    ld = Path(cli.shim_dir()) / "ld"
    ld.write_text("#!/bin/sh\nexit 3\n")
    cli.shim_dir()
    assert ld.read_bytes()[:4] == b"\x7fELF"


def test_without_a_c_compiler_the_shim_is_a_shell_script(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(cache / "no-tools"))
    directory = cli.shim_dir()
    text = (Path(directory) / "ld").read_text()
    assert text.startswith("#!/bin/sh\n")
    assert f"exec '{sys.executable}' -S -P -m linker \"$@\"" in text
    assert f"PYTHONPYCACHEPREFIX='{directory}-pycache'" in text
    assert cli.shim_dir() == directory  # kept: not compiled again on every call
    monkeypatch.setenv("PATH", os.defpath)
    done = subprocess.run([str(Path(directory) / "ld"), "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == cli.VERSION


def test_ld64_shim_runs_the_macho_module(cache: Path) -> None:
    path = cli.ld64_shim()
    assert path == cli.ld64_shim()
    assert os.path.basename(path) == "ld64"
    assert os.path.dirname(path) == cli.shim_dir()
    done = subprocess.run([path, "-arch", "arm64", "x.o"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and "-arch arm64 is not supported" in done.stderr


def test_shim_runs(cache: Path) -> None:
    ld = Path(cli.shim_dir()) / "ld"
    root = Path(cli.__file__).resolve().parent.parent
    done = subprocess.run([str(ld), "--version"], capture_output=True, text=True, cwd=root,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == cli.VERSION


def test_shim_ignores_modules_in_the_working_directory(cache: Path, tmp_path: Path) -> None:
    """gcc runs the shim in the user's directory: a numpy.py or linker.py there must not
    be imported in place of the real ones (-P)."""
    ld = Path(cli.shim_dir()) / "ld"
    work = tmp_path / "work"
    work.mkdir()
    for name in ("linker.py", "numpy.py"):
        (work / name).write_text("raise SystemExit('imported from the working directory')\n")
    done = subprocess.run([str(ld), "--version"], capture_output=True, text=True, cwd=work,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == cli.VERSION, done.stderr


def test_process_flushes_output_and_keeps_compiled_records(tmp_path: Path) -> None:
    """`python -m linker` leaves by os._exit: what it printed still reaches a pipe, its exit
    status is the command's, and the record methods it compiled are saved for the next
    link (the cache file under the bytecode prefix)."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(cli.__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "linker", "--verbose", "--version"],
                          capture_output=True, text=True, cwd=root, env=env, check=False)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == cli.VERSION
    assert list((tmp_path / "pyc" / "linkharness").glob("records.*.codes"))
    failed = subprocess.run([sys.executable, "-m", "linker", "missing.o"], capture_output=True,
                            text=True, cwd=tmp_path, env=env, check=False)
    assert failed.returncode == 1 and "missing.o" in failed.stderr and failed.stdout == ""


def test_response_files_expand_in_place_nested_and_quoted(tmp_path: Path) -> None:
    inner = tmp_path / "inner.rsp"
    inner.write_text("-lm 'b c.o'\n")
    outer = tmp_path / "outer.rsp"
    outer.write_text(f'-o "my out" a.o @{inner}\n--wrap=malloc\n')
    cmd = cli.parse(["-lc", f"@{outer}", "z.o", "@missing.rsp"])
    assert cmd.inputs == ["-lc", "a.o", "-lm", "b c.o", "z.o", "@missing.rsp"]
    assert cmd.output == "my out" and cmd.options == {"wrap": ["malloc"]}


def test_version_names_linkharness_and_gnu_ld_compatibility(
        capsys: pytest.CaptureFixture[str]) -> None:
    # libtool: `$LD -v 2>&1 | grep 'GNU\\|with BFD'` decides whether GNU ld's spellings work.
    for flag in ("-v", "--version", "-V"):
        assert cli.main([flag]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith("linkharness ") and "GNU" in first
        assert not first.startswith("GNU ld")


def test_help_anywhere_and_h_is_soname(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["a.o", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--wrap=SYMBOL", "--defsym=SYMBOL=EXPR", "-Map FILE", "--print-map",
                   "--disable-new-dtags", "--build-id", "--sort-common", "Refused"):
        assert option in out, option
    assert cli.parse(["-h", "libx.so.1"]).options == {"soname": "libx.so.1"}


def test_hp_ux_and_solaris_spellings_are_honoured() -> None:
    cmd = cli.parse(["-a", "archive", "-lz", "-a", "default", "-lm", "-Y", "P,/a:/b", "-L/c"])
    assert cmd.inputs == ["-Bstatic", "-lz", "-Bdynamic", "-lm"]
    assert cmd.options == {"library_paths": ["/c", "/a", "/b"]}  # -Y dirs: searched last
    with pytest.raises(LinkError, match="-a sometimes"):
        cli.parse(["-a", "sometimes"])
