"""linker/elf/load.py: GNU ld's input semantics, on tiny objects, archives and libraries."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from linker import link
from linker.elf.load import InputState, Loader
from linker.errors import LinkError
from linker.resolve import SymbolTable


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def _asm(d: Path, name: str, text: str, m32: bool = False) -> Path:
    (d / f"{name}.s").write_text(text)
    _run("as", "--32" if m32 else "--64", "-o", d / f"{name}.o", d / f"{name}.s")
    return d / f"{name}.o"


def _defines(name: str, *refs: str) -> str:
    calls = "".join(f"    call {r}\n" for r in refs)
    return f"    .text\n    .globl {name}\n    .type {name},@function\n{name}:\n{calls}    ret\n"


def _ar(d: Path, name: str, *members: Path) -> Path:
    _run("ar", "rcs", d / name, *members)
    return d / name


@dataclass(frozen=True)
class Files:
    root: Path
    main: Path  # references a (strong) and w (weak); defines dup
    liba: Path  # a.o (a, refs b), b.o (b), unused.o (unused), w.o (w), dup.o (dup)
    start_x: Path  # references x
    libx: Path  # x.o: x, refs y; x2.o: x2
    liby: Path  # y.o: y, refs x2
    i386: Path
    start_dyn: Path  # _start calling foo@PLT and exiting
    lib_dir: Path  # libfoo.so and libfoo.a; libunused.so
    a_only: Path  # a directory with libfoo.a only


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("load")
    main = _asm(d, "main", _defines("main", "a") + "    .weak w\n    .quad w\n"
                + _defines("dup"))
    liba = _ar(d, "liba.a", _asm(d, "a", _defines("a", "b")), _asm(d, "b", _defines("b")),
               _asm(d, "unused", _defines("unused")), _asm(d, "w", _defines("w")),
               _asm(d, "dup", _defines("dup") + _defines("from_dup")))
    start_x = _asm(d, "start_x", _defines("_start", "x"))
    libx = _ar(d, "libx.a", _asm(d, "x", _defines("x", "y")), _asm(d, "x2", _defines("x2")))
    liby = _ar(d, "liby.a", _asm(d, "y", _defines("y", "x2")))
    i386 = _asm(d, "i386", _defines("a"), m32=True)
    start_dyn = _asm(d, "start_dyn", "    .text\n    .globl _start\n_start:\n"
                     "    call foo@PLT\n    movl $60, %eax\n    xorl %edi, %edi\n    syscall\n")
    lib_dir = d / "lib"
    lib_dir.mkdir()
    for lib, sym in (("foo", "foo"), ("unused", "unused_fn")):
        src = d / f"{lib}.c"
        src.write_text(f"int {sym}(void) {{ return 1; }}\n")
        _run("gcc", "-shared", "-fPIC", "-nostdlib", f"-Wl,-soname,lib{lib}.so", "-o",
             lib_dir / f"lib{lib}.so", src)
    foo_o = _asm(d, "foo_static", _defines("foo"))
    _ar(lib_dir, "libfoo.a", foo_o)
    a_only = d / "a_only"
    a_only.mkdir()
    _ar(a_only, "libfoo.a", foo_o)
    return Files(d, main, liba, start_x, libx, liby, i386, start_dyn, lib_dir, a_only)


def load(items: Sequence[str | Path], paths: Sequence[Path] = ()) -> tuple[SymbolTable, Loader]:
    t = SymbolTable()
    loader = Loader(t, "x86_64", [str(p) for p in paths])
    loader.load([str(i) for i in items])
    return t, loader


def loaded(t: SymbolTable) -> list[str]:
    return [Path(o.path).name for o in t.objects]


def test_member_pulled_only_for_a_strong_undefined_reference(files: Files) -> None:
    t, _ = load([files.main, files.liba])
    # a pulls a.o, whose reference to b pulls b.o; the weak w, the unreferenced unused and
    # dup (already defined by main.o) pull nothing
    assert loaded(t) == ["main.o", "liba.a(a.o)", "liba.a(b.o)"]
    assert t.by_name["w"].undefined and "unused" not in t.by_name


def test_archive_before_the_reference_contributes_nothing(files: Files) -> None:
    t, _ = load([files.liba, files.main])
    assert loaded(t) == ["main.o"]
    assert t.by_name["a"].undefined


def test_without_a_group_a_backward_reference_stays_undefined(files: Files) -> None:
    t, _ = load([files.start_x, files.libx, files.liby])
    assert loaded(t) == ["start_x.o", "libx.a(x.o)", "liby.a(y.o)"]
    assert t.by_name["x2"].undefined


@pytest.mark.parametrize(("start", "end"), [("--start-group", "--end-group"), ("-(", "-)")])
def test_group_rescans_until_nothing_is_added(files: Files, start: str, end: str) -> None:
    t, _ = load([files.start_x, start, files.libx, files.liby, end])
    assert loaded(t) == ["start_x.o", "libx.a(x.o)", "liby.a(y.o)", "libx.a(x2.o)"]
    assert not t.by_name["x2"].undefined


def test_whole_archive_loads_every_member_then_stops(files: Files) -> None:
    t, _ = load([files.start_x, "--whole-archive", files.liba, "--no-whole-archive",
                 files.libx])
    # every member of liba.a, in archive order; libx.a only what is referenced (not x2.o)
    assert loaded(t) == ["start_x.o", "liba.a(a.o)", "liba.a(b.o)", "liba.a(unused.o)",
                         "liba.a(w.o)", "liba.a(dup.o)", "libx.a(x.o)"]


def test_whole_archive_duplicate_definition_is_reported(files: Files) -> None:
    # dup.o defines dup like main.o: forced in, it is a duplicate definition
    with pytest.raises(LinkError, match="dup"):
        load([files.main, "--whole-archive", files.liba])


def test_whole_archive_off_again(files: Files) -> None:
    t, _ = load([files.start_x, "--whole-archive", "--no-whole-archive", files.libx])
    assert loaded(t) == ["start_x.o", "libx.a(x.o)"]


def test_l_search_prefers_so_then_a_per_directory(files: Files) -> None:
    loader = Loader(SymbolTable(), "x86_64", [str(files.a_only), str(files.lib_dir)])
    # the first directory's .a wins over a later directory's .so (GNU ld searches per dir)
    assert loader.find_library("foo") == str(files.a_only / "libfoo.a")
    loader = Loader(SymbolTable(), "x86_64", [str(files.lib_dir)])
    assert loader.find_library("foo") == str(files.lib_dir / "libfoo.so")
    assert loader.find_library(":libfoo.a") == str(files.lib_dir / "libfoo.a")


def test_bstatic_takes_the_archive(files: Files) -> None:
    t, loader = load(["-Bstatic"], [files.lib_dir])
    assert loader.find_library("foo") == str(files.lib_dir / "libfoo.a")
    loader.item("-Bdynamic")
    assert loader.find_library("foo") == str(files.lib_dir / "libfoo.so")
    t, _ = load([files.start_dyn, "-Bstatic", "-lfoo"], [files.lib_dir])
    assert loaded(t) == ["start_dyn.o", "libfoo.a(foo_static.o)"] and not t.libraries


def test_missing_library_names_the_search(files: Files) -> None:
    with pytest.raises(LinkError, match=r"cannot find -lnope \(searched 1 directories: "):
        load(["-lnope"], [files.lib_dir])


def test_shared_library_loaded_once_and_marked_as_needed(files: Files) -> None:
    so = files.lib_dir / "libfoo.so"
    t, _ = load([files.start_dyn, "--as-needed", so, "--no-as-needed", so,
                 files.lib_dir / "libunused.so"])
    assert [(lib.soname, lib.as_needed) for lib in t.libraries] == [
        ("libfoo.so", True), ("libunused.so", False)]
    assert t.by_name["foo"].imported


def test_push_and_pop_state(files: Files) -> None:
    _, loader = load(["--as-needed", "--push-state", "-Bstatic", "--whole-archive",
                      "--no-as-needed"])
    assert loader.state == InputState(as_needed=False, static=True, whole_archive=True)
    loader.item("--pop-state")
    assert loader.state == InputState(as_needed=True)


@pytest.mark.parametrize(("items", "message"), [
    (["--pop-state"], "--pop-state without --push-state"),
    (["--start-group", "--start-group"], "nested --start-group"),
    (["--end-group"], "--end-group without --start-group"),
    (["--start-group"], "--start-group without --end-group"),
])
def test_positional_misuse(items: list[str | Path], message: str) -> None:
    with pytest.raises(LinkError, match=message):
        load(items)


def test_wrong_arch_object_refused(files: Files) -> None:
    with pytest.raises(LinkError, match="i386.o: object is i386, but the link is for x86_64"):
        load([files.i386])


def test_unknown_file_format(files: Files) -> None:
    junk = files.root / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 not anything")
    with pytest.raises(LinkError, match=r"junk.bin: offset 0x0: file format not recognized"):
        load([junk])


def test_unreadable_input(files: Files) -> None:
    with pytest.raises(LinkError, match="missing.o: cannot read input"):
        load([files.root / "missing.o"])


def test_script_group_rescans_and_finds_relative_names(files: Files) -> None:
    script = files.root / "libxy.so"  # like glibc's libc.so: a text file
    script.write_text("/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\n"
                      "GROUP ( libx.a liby.a )\n")
    t, _ = load([files.start_x, script])
    assert loaded(t) == ["start_x.o", "libx.a(x.o)", "liby.a(y.o)", "libx.a(x2.o)"]


def test_script_input_as_needed_and_l(files: Files) -> None:
    script = files.root / "libcombo.so"
    script.write_text("INPUT ( AS_NEEDED ( -lfoo ) -lunused )\n")
    t, _ = load([files.start_dyn, script], [files.lib_dir])
    assert [(lib.soname, lib.as_needed) for lib in t.libraries] == [
        ("libfoo.so", True), ("libunused.so", False)]


def test_script_missing_input(files: Files) -> None:
    script = files.root / "libbad.so"
    script.write_text("GROUP ( libnothere.a )\n")
    with pytest.raises(LinkError, match="libbad.so: cannot find libnothere.a named by the "
                       "linker script"):
        load([script])


def test_as_needed_drops_an_unused_library(files: Files, tmp_path: Path) -> None:
    out = tmp_path / "a.out"
    result = link([files.start_dyn, "--as-needed", "-lunused", "-lfoo"], out,
                  library_paths=[str(files.lib_dir)])
    assert result.dynamic and result.needed == ("libfoo.so",)
    result = link([files.start_dyn, "-lunused", "-lfoo"], out,
                  library_paths=[str(files.lib_dir)])
    assert result.needed == ("libunused.so", "libfoo.so")
