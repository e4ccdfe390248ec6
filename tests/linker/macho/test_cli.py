"""linker/macho/cli.py: ld64's command-line spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from linker.errors import LinkError
from linker.macho import cli


@pytest.mark.parametrize(("text", "value"), [
    ("10.9", 0x000A0900), ("10.9.0", 0x000A0900), ("11.0.1", 0x000B0001), ("14", 0x000E0000),
    ("10.15.7", 0x000A0F07),
])
def test_parse_version_packs_nibbles(text: str, value: int) -> None:
    assert cli.parse_version(text) == value


@pytest.mark.parametrize("text", ["", "x", "v10.9",
                                  # found by the command-line family: a field past its
                                  # width (struct.error writing it), 5,000 digits (past
                                  # Python's int conversion limit)
                                  "99999.99999", "65536", "10.256", "1.2.300", "9" * 5000,
                                  "10.x"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(LinkError, match="bad version") as caught:
        cli.parse_version(text)
    assert len(str(caught.value)) < 200


def test_parse_version_keeps_the_widest_fields() -> None:
    assert cli.parse_version("65535.255.255") == 0xFFFFFFFF


def test_defaults() -> None:
    cmd = cli.parse_ld64(["a.o"])
    assert cmd.inputs == ["a.o"] and cmd.output == "a.out"
    assert cmd.options == {"target": "macho-x86_64"}


def test_a_typical_clang_line() -> None:
    argv = ["-demangle", "-dynamic", "-arch", "x86_64", "-platform_version", "macos", "10.9.0",
            "13.0", "-syslibroot", "/sdk", "-o", "hello", "-L/usr/lib", "-L", "/opt/lib",
            "main.o", "-lSystem", "-e", "_main"]
    cmd = cli.parse_ld64(argv)
    assert cmd.output == "hello"
    assert cmd.inputs == ["main.o", "-lSystem"]
    assert cmd.options == {
        "target": "macho-x86_64", "platform_version": (0x000A0900, 0x000D0000),
        "syslibroot": "/sdk", "library_paths": ["/usr/lib", "/opt/lib"], "entry": "_main",
    }
    assert cmd.warnings == ["ignoring -demangle", "ignoring -dynamic"]


def test_l_space_name() -> None:
    assert cli.parse_ld64(["-l", "System", "-lc++"]).inputs == ["-lSystem", "-lc++"]


def test_macosx_version_min_sdk_at_least_11() -> None:
    assert cli.parse_ld64(["-macosx_version_min", "10.9"]).options["platform_version"] == (
        0x000A0900, 0x000B0000)
    assert cli.parse_ld64(["-macosx_version_min", "12.1"]).options["platform_version"] == (
        0x000C0100, 0x000C0100)


def test_platform_version_numeric_macos() -> None:
    cmd = cli.parse_ld64(["-platform_version", "1", "10.14", "10.15"])
    assert cmd.options["platform_version"] == (0x000A0E00, 0x000A0F00)


def test_platform_version_other_platform_refused() -> None:
    with pytest.raises(LinkError, match="-platform_version ios: only macos"):
        cli.parse_ld64(["-platform_version", "ios", "14.0", "14.0"])


def test_platform_version_needs_three_values() -> None:
    with pytest.raises(LinkError, match="option -platform_version needs 3 values"):
        cli.parse_ld64(["-platform_version", "macos", "10.9"])


def test_option_needs_a_value() -> None:
    with pytest.raises(LinkError, match="^option -o needs 1 value$"):
        cli.parse_ld64(["a.o", "-o"])


def test_arch_other_than_x86_64_refused() -> None:
    assert cli.parse_ld64(["-arch", "x86_64"]).options == {"target": "macho-x86_64"}
    with pytest.raises(LinkError, match="-arch arm64 is not supported"):
        cli.parse_ld64(["-arch", "arm64"])


def test_dylib_file_adds_the_file_as_input() -> None:
    cmd = cli.parse_ld64(["-dylib_file", "/usr/lib/libfoo.dylib:/tmp/libfoo.tbd",
                          "-dylib_file", "/tmp/libbar.tbd"])
    assert cmd.inputs == ["/tmp/libfoo.tbd", "/tmp/libbar.tbd"]


def test_import_and_classic_and_undefined() -> None:
    cmd = cli.parse_ld64(["--import", "_puts@/usr/lib/libSystem.B.dylib", "--import",
                          "_exit@/usr/lib/libSystem.B.dylib", "--macho-classic", "-u", "_x"])
    assert cmd.options["imports"] == ["_puts@/usr/lib/libSystem.B.dylib",
                                      "_exit@/usr/lib/libSystem.B.dylib"]
    assert cmd.options["macho_classic"] is True
    assert cmd.options["undefined"] == ["_x"]


def test_target_must_be_macho() -> None:
    assert cli.parse_ld64(["--target", "macho-x86_64"]).options["target"] == "macho-x86_64"
    with pytest.raises(LinkError, match="ld64 spelling with --target elf64-x86-64"):
        cli.parse_ld64(["--target", "elf64-x86-64"])


def test_ignored_options_warn_and_swallow_their_value() -> None:
    cmd = cli.parse_ld64(["-headerpad_max_install_names", "-mllvm", "-enable-x", "-rpath",
                          "@loader_path", "-dead_strip", "a.o", "-rpath", "/opt/lib"])
    assert cmd.inputs == ["a.o"]
    assert cmd.warnings == ["ignoring -headerpad_max_install_names",
                            "ignoring -mllvm -enable-x"]
    # -rpath is applied (LC_RPATH), in command-line order
    assert cmd.options["macho_options"]["rpaths"] == ("@loader_path", "/opt/lib")
    assert cmd.notes == [cli._NOT_APPLIED["-dead_strip"]]  # said only under --verbose


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(LinkError, match=r"unrecognised option -frob \(ld64 spelling\)"):
        cli.parse_ld64(["-frob"])


def test_main_prints_each_warning_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-demangle", "-demangle", "-dead_strip"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "linkharness: warning: ignoring -demangle",
        "linkharness: error: no input files",
    ]


def test_dead_strip_is_said_not_applied_only_under_verbose(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-dead_strip", "-dead_strip", "--verbose"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"linkharness: note: {cli._NOT_APPLIED['-dead_strip']}",
        "linkharness: error: no input files",
    ]


def test_ld64_options_reach_the_link() -> None:
    cmd = cli.parse_ld64(["-no_pie", "-pagezero_size", "0x2000", "-headerpad", "100",
                          "-stack_size", "0x100000", "-exported_symbol", "_main",
                          "--map", "m.json", "-s", "-S", "a.o"])
    assert cmd.options["macho_options"] == {
        "pie": False, "pagezero_size": 0x2000, "headerpad": 0x100, "stack_size": 0x100000,
        "exported": ("_main",)}
    assert cmd.options["map_file"] == "m.json" and cmd.options["strip"] is True
    assert not cmd.warnings


@pytest.mark.parametrize(("argv", "message"), [
    (["-pagezero_size", "0x1234"], "multiple of the page size"),
    (["-pagezero_size", "0"], "without __PAGEZERO"),
    (["-stack_size", "zz"], "not a hexadecimal number"),
    (["-sectcreate", "__TEXT", "__info_plist", "/nonexistent/Info.plist"], "cannot read"),
    (["-map", "out.map"], "JSON map"),
    (["-exported_symbols_list", "/nonexistent/list"], "cannot read"),
])
def test_bad_or_unsupported_ld64_options_are_one_line_errors(argv: list[str],
                                                             message: str) -> None:
    with pytest.raises(LinkError, match=message):
        cli.parse_ld64(argv)


def test_exported_symbols_list_file(tmp_path: Path) -> None:
    listing = tmp_path / "exports"
    listing.write_text("# exported\n_main\n  _api_*  # a glob\n\n")
    cmd = cli.parse_ld64(["-exported_symbols_list", str(listing)])
    assert cmd.options["macho_options"]["exported"] == ("_main", "_api_*")


def test_main_without_arguments_prints_usage_and_fails(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 1
    assert "-platform_version" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0


def test_main_parse_error_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-arch", "arm64", "a.o"]) == 1
    err = capsys.readouterr().err
    assert err == "linkharness: error: -arch arm64 is not supported (one of x86_64, i386)\n"


def test_a_sectcreate_file_too_large_for_a_section_is_refused_unread(tmp_path: Path) -> None:
    """A section's size and offset are 32-bit: a 5 GiB file (a hole, no disk) is refused in
    one line naming it, before anything reads it."""
    huge = tmp_path / "huge.plist"
    with huge.open("wb") as f:
        f.truncate(5 << 30)
    with pytest.raises(LinkError) as caught:
        cli.parse_ld64(["-sectcreate", "__TEXT", "__info_plist", str(huge)])
    text = str(caught.value)
    assert "huge.plist" in text and "32-bit" in text and "\n" not in text
