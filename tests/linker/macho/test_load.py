"""linker/macho/load.py: ld64's input semantics (archives as one group, weak references pull,
-l search order, .tbd stubs, refusals), on tiny llvm-mc objects."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linker import link
from linker.errors import LinkError
from linker.macho.load import MachoLoader
from linker.macho.tbd import LIBSYSTEM
from linker.resolve import SymbolTable

Asm = Callable[[str, str], Path]


def _defines(name: str, *refs: str, weak_refs: tuple[str, ...] = ()) -> str:
    weak = "".join(f".weak_reference {r}\n" for r in weak_refs)
    body = "".join(f"    callq {r}\n" for r in (*refs, *weak_refs))
    return f"{weak}.globl {name}\n.text\n{name}:\n{body}    retq\n"


TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/opt/lib/libfoo.dylib'
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _foo ]
...
"""


@dataclass(frozen=True)
class Files:
    root: Path
    main: Path  # _main calls _a; weakly references _w
    liba: Path  # a.o: _a (calls _b); b.o: _b; w.o: _w; unused.o: _unused
    libdir: Path  # libfoo.tbd and libfoo.a
    foo_caller: Path  # _main calls _foo


@pytest.fixture(scope="module")
def files(macho_asm: Asm, tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("macho-load")
    main = macho_asm(_defines("_main", "_a", weak_refs=("_w",)), "ld_main")
    members = [macho_asm(_defines("_a", "_b"), "ld_a"), macho_asm(_defines("_b"), "ld_b"),
               macho_asm(_defines("_w"), "ld_w"), macho_asm(_defines("_unused"), "ld_unused")]
    liba = d / "liba.a"
    subprocess.run(["llvm-ar-14", "rc", str(liba), *map(str, members)], check=True)
    libdir = d / "lib"
    libdir.mkdir()
    (libdir / "libfoo.tbd").write_text(TBD)
    subprocess.run(["llvm-ar-14", "rc", str(libdir / "libfoo.a"),
                    str(macho_asm(_defines("_foo"), "ld_foo_static"))], check=True)
    foo_caller = macho_asm(_defines("_main", "_foo"), "ld_foo_caller")
    return Files(d, main, liba, libdir, foo_caller)


def load(items: list[str | Path], paths: list[Path] | None = None, syslibroot: str = "",
         imports: list[str] | None = None) -> SymbolTable:
    t = SymbolTable()
    MachoLoader(t, [str(p) for p in paths or []], syslibroot).load(
        [str(i) for i in items], imports or [])
    return t


def loaded(t: SymbolTable) -> list[str]:
    return [Path(o.path).name for o in t.objects]


def test_archive_members_pulled_weak_references_included(files: Files) -> None:
    t = load([files.main, files.liba])
    assert sorted(loaded(t)) == ["ld_main.o", "liba.a(ld_a.o)", "liba.a(ld_b.o)",
                                 "liba.a(ld_w.o)"]
    assert "_unused" not in t.by_name or t.by_name["_unused"].file is None


def test_archive_before_the_reference_still_contributes(files: Files) -> None:
    # ld64 treats all archives as one group, rescanned after every input
    t = load([files.liba, files.main])
    assert sorted(loaded(t)) == ["ld_main.o", "liba.a(ld_a.o)", "liba.a(ld_b.o)",
                                 "liba.a(ld_w.o)"]


def test_l_prefers_tbd_then_archive(files: Files) -> None:
    t = load([files.foo_caller, "-lfoo"], [files.libdir])
    assert [lib.soname for lib in t.libraries] == ["/opt/lib/libfoo.dylib"]
    assert t.by_name["_foo"].imported
    (files.root / "only_a").mkdir(exist_ok=True)
    (files.root / "only_a" / "libfoo.a").write_bytes((files.libdir / "libfoo.a").read_bytes())
    t = load([files.foo_caller, "-lfoo"], [files.root / "only_a"])
    assert not t.libraries and loaded(t) == ["ld_foo_caller.o", "libfoo.a(ld_foo_static.o)"]


def test_syslibroot_searched_after_library_paths(files: Files) -> None:
    root = files.root / "sdk"
    (root / "usr/lib").mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/libbar.tbd").write_text(TBD.replace("libfoo", "libbar"))
    t = load(["-lbar"], [], syslibroot=str(root))
    assert [lib.soname for lib in t.libraries] == ["/opt/lib/libbar.dylib"]


def test_lsystem_falls_back_to_the_embedded_stub(files: Files) -> None:
    t = load(["-lSystem", "-lSystem"])
    assert [lib.soname for lib in t.libraries] == [LIBSYSTEM]  # once
    assert "dyld_stub_binder" in t.libraries[0].symbols


def test_missing_library(files: Files) -> None:
    with pytest.raises(LinkError, match=r"cannot find -lnope \(no libnope.tbd or libnope.a "
                                        r"in 1 directories\)"):
        load(["-lnope"], [files.libdir])


def test_same_stub_twice_is_one_library(files: Files) -> None:
    stub = files.libdir / "libfoo.tbd"
    t = load([stub, stub, "-lfoo"], [files.libdir])
    assert len(t.libraries) == 1


def test_positional_elf_options_are_ignored(files: Files) -> None:
    t = load(["--as-needed", files.main, "--start-group", files.liba, "--end-group"])
    assert "ld_main.o" in loaded(t)


def test_imports_add_libraries(files: Files) -> None:
    t = load([files.foo_caller], imports=["_foo@/opt/x.dylib"])
    assert t.by_name["_foo"].imported and t.libraries[0].soname == "/opt/x.dylib"


def test_fat_file_without_the_arch_slice_refused(files: Files) -> None:
    fat = files.root / "libfat.dylib"
    fat.write_bytes(struct.pack(">II", 0xCAFEBABE, 1) + bytes(24))
    with pytest.raises(LinkError, match=r"libfat.dylib: offset 0x0: universal file has no "
                                        r"x86_64 slice \(slices: cputype 0x0\)"):
        load([fat])


def test_fat_binary_dylib_read_from_its_slice(files: Files) -> None:
    """A universal dylib gives its -arch slice, read as the dylib it is (dylib_input.py):
    this one has no LC_ID_DYLIB, which is refused by name."""
    fat = files.root / "libfatdy.dylib"
    dylib = struct.pack("<7I", 0xFEEDFACF, 0x01000007, 3, 6, 0, 0, 0) + bytes(4)
    fat.write_bytes(struct.pack(">II5I", 0xCAFEBABE, 1, 0x01000007, 3, 0x1000, len(dylib), 12)
                    + bytes(0x1000 - 28) + dylib)
    with pytest.raises(LinkError, match=r"libfatdy.dylib: offset 0x10: an MH_DYLIB without "
                                        r"LC_ID_DYLIB"):
        load([fat])


def test_linked_executable_is_not_an_input(files: Files) -> None:
    # a thin 64-bit image has an object's magic: its filetype tells them apart
    exe = files.root / "a.out"
    exe.write_bytes(struct.pack("<IiiIIIII", 0xFEEDFACF, 0x01000007, 3, 2, 0, 0, 0, 0))
    with pytest.raises(LinkError, match=r"a.out: offset 0xc: a linked Mach-O file that is "
                                        r"not a dylib"):
        load([exe])


def test_unknown_format(files: Files) -> None:
    junk = files.root / "junk"
    junk.write_bytes(b"hello")
    with pytest.raises(LinkError, match=r"junk: offset 0x0: file format not recognized"):
        load([junk])


REEXPORTING_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/usr/lib/libSystem.B.dylib'
reexported-libraries:
  - targets:         [ x86_64-macos ]
    libraries:       [ '/usr/lib/system/libsystem_c.dylib' ]
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ dyld_stub_binder ]
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/usr/lib/system/libsystem_c.dylib'
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _puts ]
...
"""


def test_symbols_of_reexported_libraries_resolve(macho_asm: Asm, tmp_path: Path) -> None:
    stub = tmp_path / "libSystem.tbd"
    stub.write_text(REEXPORTING_TBD)
    obj = macho_asm(".globl _main\n.text\n_main: pushq %rax\ncallq _puts\npopq %rax\nretq\n",
                    "reexport_caller")
    # a real SDK libSystem.tbd puts _printf in its libsystem_c document: ld64.lld binds it
    # through the umbrella's install name
    result = link([obj, stub], tmp_path / "out", target="macho-x86_64")
    assert result.needed == ("/usr/lib/libSystem.B.dylib",)


@pytest.mark.parametrize("flto", ["-flto", "-flto=thin"])
def test_llvm_bitcode_is_named_as_such(files: Files, flto: str) -> None:
    """clang -flto for Darwin wraps its bitcode in a header (0x0b17c0de): the error says
    what the file is and what to do, not 'format not recognized'."""
    import subprocess
    source = files.root / "lto.c"
    source.write_text("int main(void) { return 0; }\n")
    obj = files.root / "lto.o"
    subprocess.run(["clang-14", "-c", flto, "-target", "x86_64-apple-macos10.15",
                    "-o", str(obj), str(source)], check=True)
    with pytest.raises(LinkError, match=r"lto.o: offset 0x0: LLVM bitcode \(an -flto object\)"):
        load([obj])


@pytest.mark.parametrize(("triple", "platform"), [
    ("x86_64-apple-ios13.0-simulator", "iOS Simulator"),
    ("x86_64-apple-tvos13.0-simulator", "tvOS Simulator"),
])
def test_an_object_built_for_another_platform_is_refused(files: Files, triple: str,
                                                         platform: str) -> None:
    """As ld64 and ld64.lld do: an x86-64 object of a simulator SDK is not macOS code."""
    import subprocess
    source = files.root / "sim.c"
    source.write_text("int main(void) { return 0; }\n")
    obj = files.root / "sim.o"
    subprocess.run(["clang-14", "-c", "-target", triple, "-o", str(obj), str(source)],
                   check=True)
    with pytest.raises(LinkError, match=rf"sim.o: offset 0x[0-9a-f]+: object built for "
                                        rf"{platform}, not macOS"):
        load([obj])


def test_a_macos_object_of_either_version_command_links(files: Files) -> None:
    import subprocess
    source = files.root / "mac.c"
    source.write_text("int main(void) { return 0; }\n")
    for version in ("10.12", "11.0"):  # LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION
        obj = files.root / f"mac{version}.o"
        subprocess.run(["clang-14", "-c", "-target", f"x86_64-apple-macos{version}", "-o",
                        str(obj), str(source)], check=True)
        load([obj])
