"""Mach-O dylibs (`-dylib`): a C library built by clang-14 for Darwin, linked by linkharness
and by ld64.lld-14, and executables linked by each against each library, run under the
emulated dyld (which loads the real dylib, slid), print what the same C program prints
natively on Linux.  Also the dylib's structure (LC_ID_DYLIB, export trie, rebases, binds),
-exported_symbols_list, -undefined dynamic_lookup, -bundle and chained fixups."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from linker.cli import ld64_shim
from linker.macho.cli import main as ld64_main
from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.dylib_images import export_entries, exports

from .conftest import MACHO_INCLUDE

LIBSYSTEM = str(Path(__file__).resolve().parents[3] / "linker" / "macho" / "data"
                / "libSystem.tbd")
X86_64 = ("x86_64", "x86_64-apple-macosx10.15", "10.15")
I386 = ("i386", "i386-apple-macosx10.9", "10.9")

LIB_C = r"""
#include <stdio.h>
int counter = 5;
static int hidden_state = 3;
int *ptrs[] = { &counter, &hidden_state };
int (*fn_table[2])(int, int);
__attribute__((visibility("hidden"))) int helper(int x) { return x * 2; }
int lib_add(int a, int b) { printf("lib_add %d %d\n", a, b); return a + b + helper(*ptrs[1]); }
int lib_get(void) { return counter + *ptrs[0]; }
const char *lib_name(void) { return "mylib"; }
static int mul(int a, int b) { return a * b; }
int (*const ops[])(int, int) = { lib_add, mul };
__attribute__((constructor)) static void init(void) {
    fn_table[0] = lib_add; fn_table[1] = mul; puts("lib init");
}
"""
MAIN_C = r"""
#include <stdio.h>
extern int counter;
extern int (*fn_table[2])(int, int);
extern int (*const ops[])(int, int);
int lib_add(int, int);
int lib_get(void);
const char *lib_name(void);
int main(void) {
    counter += 1;
    printf("%d %d %s\n", lib_add(2, 3), lib_get(), lib_name());
    printf("%d %d %d\n", fn_table[1](6, 7), ops[1](2, 5), ops[0] == lib_add);
    return 3;
}
"""
EXPORTS = {"_counter", "_ptrs", "_fn_table", "_lib_add", "_lib_get", "_lib_name", "_ops"}


def _cc(work: Path, source: str, name: str, triple: str) -> Path:
    src, obj = work / f"{name}.c", work / f"{name}.o"
    src.write_text(source)
    subprocess.run(["clang-14", f"--target={triple}", "-nostdlibinc", "-isystem",
                    str(MACHO_INCLUDE), "-c", "-w", "-o", str(obj), str(src)], check=True)
    return obj


def _lh(arch: str, version: str, *args: str) -> None:
    assert ld64_main(["-arch", arch, "-platform_version", "macos", version, "11.0",
                      *args, LIBSYSTEM]) == 0


def _lld(version: str, *args: str) -> None:
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", version,
                    "11.0", *args, LIBSYSTEM], check=True, capture_output=True)


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    """What the program prints and returns natively: library and main in one gcc link."""
    work = tmp_path_factory.mktemp("native")
    (work / "lib.c").write_text(LIB_C)
    (work / "main.c").write_text(MAIN_C)
    subprocess.run(["gcc", "-w", "-o", str(work / "prog"), str(work / "lib.c"),
                    str(work / "main.c")], check=True)
    done = subprocess.run([str(work / "prog")], capture_output=True, check=False)
    return done.stdout, done.returncode


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Libraries (each alone in its directory) and executables, keyed by who linked what."""
    work = tmp_path_factory.mktemp("dylib")
    out: dict[str, Path] = {}
    for arch, triple, version in (X86_64, I386):
        lib_o, main_o = _cc(work, LIB_C, f"lib-{arch}", triple), _cc(work, MAIN_C,
                                                                       f"main-{arch}", triple)
        linkers = ("lh", "lld") if arch == "x86_64" else ("lh",)
        for who in linkers:
            directory = work / f"{who}-{arch}"
            directory.mkdir()
            lib = directory / f"libmy{who}.dylib"
            common = ["-dylib", "-install_name", f"@rpath/{lib.name}", "-current_version",
                      "1.2.3", "-compatibility_version", "1.0", str(lib_o), "-o", str(lib)]
            if who == "lh":
                _lh(arch, version, *common)
            else:
                _lld(version, *common)
            out[f"lib-{who}-{arch}"] = lib
        for lib_who in linkers:
            lib = out[f"lib-{lib_who}-{arch}"]
            for exe_who in linkers:
                exe = lib.parent / f"main-{exe_who}"
                if exe_who == "lh":
                    _lh(arch, version, str(main_o), str(lib), "-o", str(exe))
                else:
                    _lld(version, str(main_o), str(lib), "-o", str(exe))
                out[f"exe-{exe_who}-{lib_who}-{arch}"] = exe
    # chained fixups on both sides (x86_64)
    directory = work / "chained"
    directory.mkdir()
    lib_o, main_o = work / "lib-x86_64.o", work / "main-x86_64.o"
    lib = directory / "libmychained.dylib"
    _lh("x86_64", "10.15", "-fixup_chains", "-dylib", "-install_name", f"@rpath/{lib.name}",
        str(lib_o), "-o", str(lib))
    _lh("x86_64", "10.15", "-fixup_chains", str(main_o), str(lib), "-o",
        str(directory / "main"))
    out["lib-chained"], out["exe-chained"] = lib, directory / "main"
    return out


RUNS = [f"exe-{e}-{lib}-x86_64" for e in ("lh", "lld") for lib in ("lh", "lld")] + [
    "exe-lh-lh-i386", "exe-chained"]


@pytest.mark.parametrize("name", RUNS)
def test_executable_and_dylib_run_as_natively(built: dict[str, Path], name: str,
                                              native: tuple[bytes, int]) -> None:
    exe = built[name]
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind, library_path=[exe.parent])
        assert not result.faults, [f.describe() for f in result.faults]
        assert (result.stdout, result.exit_code) == native, bind


@pytest.mark.parametrize("name", sorted({"lib-lh-x86_64", "lib-lh-i386", "lib-lld-x86_64",
                                          "lib-chained", *RUNS}))
def test_checker_accepts(built: dict[str, Path], name: str) -> None:
    assert check(built[name]) == []


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_dylib_identity_and_exports(built: dict[str, Path], arch: str) -> None:
    img = mi.parse(built[f"lib-lh-{arch}"].read_bytes())
    assert img.filetype == mi.MH_DYLIB
    assert not img.flags & mi.MH_PIE
    assert img.segment_named("__PAGEZERO") is None and img.main_entryoff is None
    assert img.dylinker is None
    (lc,) = [c for c in img.commands if c.cmd == mi.LC_ID_DYLIB]
    _, _, name_at, _, current, compat = img.unpack("<6I", lc.offset, "id")
    name = img.data[lc.offset + name_at:lc.offset + lc.size].split(b"\0")[0]
    assert (name, current, compat) == (b"@rpath/libmylh.dylib", 0x10203, 0x10000)
    table = exports(img)
    assert set(table) == EXPORTS  # the hidden helper and the statics are not exported
    lld_table = exports(mi.parse(built["lib-lld-x86_64"].read_bytes()))
    if arch == "x86_64":
        assert set(lld_table) == EXPORTS


def test_executable_binds_each_symbol_to_its_library_ordinal(built: dict[str, Path]) -> None:
    img = mi.parse(built["exe-lh-lh-x86_64"].read_bytes())
    ordinals = {d.install_name: d.ordinal for d in img.dylibs}
    undefined = {s.name: s.library_ordinal for s in img.symbols() if s.undefined}
    mine = ordinals["@rpath/libmylh.dylib"]
    assert {n for n, o in undefined.items() if o == mine} == {
        "_counter", "_fn_table", "_ops", "_lib_add", "_lib_get", "_lib_name"}
    assert undefined["_printf"] == ordinals["/usr/lib/libSystem.B.dylib"]


def test_dylib_base_changes_from_run_to_run(tmp_path: Path) -> None:
    lib_o = _cc(tmp_path, "int f(void) { return 1; }\n", "f", X86_64[1])
    main_o = _cc(tmp_path, '#include <stdio.h>\nint f(void);\nint main(void) '
                 '{ printf("%p\\n", (void *)f); return f(); }\n', "m", X86_64[1])
    _lh("x86_64", "10.15", "-dylib", str(lib_o), "-o", str(tmp_path / "libf.dylib"))
    _lh("x86_64", "10.15", str(main_o), str(tmp_path / "libf.dylib"), "-o",
        str(tmp_path / "m"))
    seen = set()
    for _ in range(3):
        result = run(tmp_path / "m")
        assert not result.faults and result.exit_code == 1
        seen.add(result.stdout)
        # the run's seed repeats it exactly
        assert run(tmp_path / "m", seed=result.seed).stdout == result.stdout
    assert len(seen) == 3


def test_exported_symbols_list_hides_the_rest(built: dict[str, Path], tmp_path: Path) -> None:
    listing = tmp_path / "exports.txt"
    listing.write_text("_lib_add\n_lib_g*  # a glob\n")
    lib = tmp_path / "libsome.dylib"
    _lh("x86_64", "10.15", "-dylib", "-exported_symbols_list", str(listing),
        str(built["lib-lh-x86_64"].parent.parent / "lib-x86_64.o"), "-o", str(lib))
    assert set(exports(mi.parse(lib.read_bytes()))) == {"_lib_add", "_lib_get"}
    assert check(lib) == []
    with pytest.raises(LinkError, match="_counter"):
        link([str(built["lib-lh-x86_64"].parent.parent / "main-x86_64.o"), str(lib),
              LIBSYSTEM], tmp_path / "exe", target="macho-x86_64")


def test_undefined_dynamic_lookup_binds_through_flat_lookup(tmp_path: Path) -> None:
    """A plugin-style dylib calls back into its host: refused without -undefined
    dynamic_lookup; with it, bound by flat lookup (ordinal -2, no MH_NOUNDEFS), found in the
    executable at load."""
    lib_o = _cc(tmp_path, "int host_value(void);\nint plugin(void) "
                "{ return host_value() + 1; }\n", "p", X86_64[1])
    main_o = _cc(tmp_path, "int plugin(void);\nint host_value(void) { return 41; }\n"
                 "int main(void) { return plugin(); }\n", "h", X86_64[1])
    lib = tmp_path / "libplugin.dylib"
    with pytest.raises(LinkError, match="_host_value"):
        link([str(lib_o), LIBSYSTEM], lib, target="macho-x86_64",
             macho_options={"output_kind": "dylib"})
    _lh("x86_64", "10.15", "-dylib", "-undefined", "dynamic_lookup", str(lib_o), "-o", str(lib))
    img = mi.parse(lib.read_bytes())
    assert not img.flags & 0x1  # MH_NOUNDEFS
    (sym,) = [s for s in img.symbols() if s.name == "_host_value"]
    assert sym.library_ordinal == mi.DYNAMIC_LOOKUP_ORDINAL
    assert check(lib) == []
    _lh("x86_64", "10.15", str(main_o), str(lib), "-o", str(tmp_path / "host"))
    for bind in ("lazy", "now"):
        result = run(tmp_path / "host", bind=bind)
        assert not result.faults, [f.describe() for f in result.faults]
        assert result.exit_code == 42


def test_bundle(tmp_path: Path) -> None:
    obj = _cc(tmp_path, "static int n = 2;\nint *where = &n;\nint entry(void) "
              "{ return *where; }\n", "b", X86_64[1])
    bundle = tmp_path / "b.bundle"
    _lh("x86_64", "10.15", "-bundle", str(obj), "-o", str(bundle))
    img = mi.parse(bundle.read_bytes())
    assert img.filetype == mi.MH_BUNDLE
    assert not [c for c in img.commands if c.cmd == mi.LC_ID_DYLIB]
    assert set(exports(img)) == {"_where", "_entry"}
    assert check(bundle) == []


def test_dylib_options_are_refused_where_they_mean_nothing(tmp_path: Path) -> None:
    assert ld64_main(["-install_name", "x", "-o", str(tmp_path / "a"), "a.o"]) == 1
    assert ld64_main(["-bundle", "-current_version", "1", "-o", str(tmp_path / "a"),
                      "a.o"]) == 1
    assert ld64_main(["-undefined", "warning", "-o", str(tmp_path / "a"), "a.o"]) == 1


def test_malformed_dylib_input_is_one_line(built: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(built["lib-lh-x86_64"].read_bytes())
    data[20:24] = (0x7FFFFFF0).to_bytes(4, "little")  # sizeofcmds past the end
    bad = tmp_path / "libbad.dylib"
    bad.write_bytes(bytes(data))
    with pytest.raises(LinkError) as err:
        link([str(built["lib-lh-x86_64"].parent.parent / "main-x86_64.o"), str(bad),
              LIBSYSTEM], tmp_path / "exe", target="macho-x86_64")
    assert "\n" not in str(err.value) and "libbad.dylib" in str(err.value)
    assert not (tmp_path / "exe").exists()


def test_narrow_absolute_address_in_a_dylib_is_refused(tmp_path: Path,
                                                       macho_asm: Callable[..., Path]) -> None:
    """dyld slides every dylib and rebases only pointer-sized words: a 4-byte absolute
    address of the dylib's own data would keep its link-time value."""
    obj = macho_asm(".data\n.globl _x\n_x: .long 1\n.globl _p\n_p: .long _x\n", "narrow")
    out = tmp_path / "libnarrow.dylib"
    with pytest.raises(LinkError, match=r"__DATA,__data\+0x4: symbol _x: a 4-byte absolute "
                                        r"address of a symbol in a dylib or bundle"):
        link([str(obj)], out, target="macho-x86_64", macho_options={"output_kind": "dylib"})
    assert not out.exists()
    # the same object in an executable: the address overflows 4 bytes above __PAGEZERO
    with pytest.raises(LinkError):
        link([str(obj)], tmp_path / "exe", target="macho-x86_64", entry="_x")


def test_ld64_lld_rebases_a_pointer_to_an_absolute_symbol_we_do_not(
        tmp_path: Path, macho_asm: Callable[..., Path]) -> None:
    """Why the crosswise fuzz property keeps such pointers out of lld's dylibs: ld64.lld-14
    writes a rebase for a pointer to an N_ABS symbol, which must not move with the slide."""
    # the absolute symbol in another object, so that the pointer keeps its relocation
    # (llvm-mc resolves `_k+3` itself when _k is defined in the same file)
    define = macho_asm(".globl _k\n_k = 0x50\n", "absdef")
    use = macho_asm(".data\n.globl _p\n_p: .quad _k+3\n", "absuse")
    ours, theirs = tmp_path / "libours.dylib", tmp_path / "libtheirs.dylib"
    link([str(define), str(use)], ours, target="macho-x86_64",
         macho_options={"output_kind": "dylib"})
    _lld("10.9", "-dylib", str(define), str(use), "-o", str(theirs))

    def rebases(path: Path) -> list[str]:
        done = subprocess.run(["llvm-objdump-14", "--macho", "--rebase", str(path)],
                              capture_output=True, text=True, check=True)
        return [line for line in done.stdout.splitlines() if "pointer" in line]

    assert rebases(ours) == []
    assert len(rebases(theirs)) == 1


@pytest.mark.parametrize(("arch", "triple", "version"), [X86_64, I386])
def test_thread_local_variables_in_a_dylib(tmp_path: Path, arch: str, triple: str,
                                           version: str) -> None:
    """The dylib's own descriptors get their own key from the emulated dyld; the program
    prints what its native build prints (7: two increments of 5)."""
    lib_o = _cc(tmp_path, "_Thread_local int tv = 5;\nint bump(void) { return ++tv; }\n",
                "tl", triple)
    main_o = _cc(tmp_path, '#include <stdio.h>\nint bump(void);\nint main(void) '
                 '{ bump(); printf("%d\\n", bump()); return 0; }\n', "tlm", triple)
    lib = tmp_path / "libtl.dylib"
    _lh(arch, version, "-dylib", str(lib_o), "-o", str(lib))
    _lh(arch, version, str(main_o), str(lib), "-o", str(tmp_path / "tlm"))
    assert check(lib) == [] and check(tmp_path / "tlm") == []
    result = run(tmp_path / "tlm")
    assert not result.faults, [f.describe() for f in result.faults]
    assert (result.stdout, result.exit_code) == (b"7\n", 0)


def test_linkharness_run_finds_the_dylib_with_L(built: dict[str, Path], tmp_path: Path,
                                               native: tuple[bytes, int]) -> None:
    """`linkharness run -L DIR`: the dylib is found by its install name's basename there
    (the executable is copied away from it first)."""
    exe = tmp_path / "main"
    exe.write_bytes(built["exe-lh-lh-x86_64"].read_bytes())
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "run", "-L",
                           str(built["lib-lh-x86_64"].parent), str(exe)],
                          capture_output=True, check=False)
    assert (done.stdout, done.returncode) == native, done.stderr
    alone = subprocess.run([sys.executable, "-m", "oracle.cli", "run", str(exe)],
                           capture_output=True, text=True, check=False)
    assert alone.returncode != 0 and "@rpath/libmylh.dylib" in alone.stderr


def test_classic_dylib_is_refused(built: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="-dylib and -bundle are written with dyld info only"):
        link([str(built["lib-lh-x86_64"].parent.parent / "lib-x86_64.o"), LIBSYSTEM],
             tmp_path / "libc.dylib", target="macho-x86_64", macho_classic=True,
             macho_options={"output_kind": "dylib"})


def test_clang_dynamiclib_and_bundle_through_the_ld64_shim(built: dict[str, Path],
                                                          tmp_path: Path,
                                                          native: tuple[bytes, int]) -> None:
    """`clang -dynamiclib -install_name ... -current_version ...` and `clang -bundle
    -undefined dynamic_lookup` with `--ld-path=$(linkharness ld64-shim)`."""
    objs = built["lib-lh-x86_64"].parent.parent
    clang = ["clang-14", f"--target={X86_64[1]}", "-fuse-ld=lld", f"--ld-path={ld64_shim()}"]
    lib = tmp_path / "libmylh.dylib"
    subprocess.run([*clang, "-dynamiclib", "-install_name", "@rpath/libmylh.dylib",
                    "-current_version", "3.1", str(objs / "lib-x86_64.o"), "-o", str(lib)],
                   check=True, capture_output=True)
    subprocess.run([*clang, "-bundle", "-undefined", "dynamic_lookup",
                    str(objs / "lib-x86_64.o"), "-o", str(tmp_path / "b.bundle")],
                   check=True, capture_output=True)
    subprocess.run([*clang, str(objs / "main-x86_64.o"), str(lib), "-o",
                    str(tmp_path / "main")], check=True, capture_output=True)
    assert mi.parse(lib.read_bytes()).filetype == mi.MH_DYLIB
    assert mi.parse((tmp_path / "b.bundle").read_bytes()).filetype == mi.MH_BUNDLE
    result = run(tmp_path / "main")
    assert (result.stdout, result.exit_code) == native


CXX_LIB = r"""
#include <stdio.h>
struct Noisy { int v; Noisy(int x) : v(x) { printf("ctor %d\n", v); }
               ~Noisy() { printf("dtor %d\n", v); } };
static Noisy a(1);
Noisy b(2);
extern "C" int cxx_value() { static Noisy c(3); return a.v + b.v + c.v; }
"""
CXX_MAIN = ('#include <stdio.h>\nint cxx_value(void);\n'
            'int main(void) { printf("value %d\\n", cxx_value()); return 0; }\n')


def test_cxx_static_objects_in_a_dylib(tmp_path: Path) -> None:
    """The dylib's initialisers run before main, its destructors (registered with
    __cxa_atexit under the dylib's ___dso_handle) at exit, in the order g++'s native build
    prints them."""
    (tmp_path / "lib.cpp").write_text(CXX_LIB)
    (tmp_path / "main.c").write_text(CXX_MAIN)
    flags = ["-fno-exceptions", "-fno-threadsafe-statics", "-w", "-c"]
    subprocess.run(["clang++-14", f"--target={X86_64[1]}", "-nostdlibinc", "-isystem",
                    str(MACHO_INCLUDE), *flags, str(tmp_path / "lib.cpp"), "-o",
                    str(tmp_path / "lib.o")], check=True)
    main_o = _cc(tmp_path, CXX_MAIN, "main", X86_64[1])
    lib = tmp_path / "libcxx.dylib"
    _lh("x86_64", "10.15", "-dylib", str(tmp_path / "lib.o"), "-o", str(lib))
    _lh("x86_64", "10.15", str(main_o), str(lib), "-o", str(tmp_path / "main"))
    native = tmp_path / "native"
    subprocess.run(["g++", *flags, str(tmp_path / "lib.cpp"), "-o", str(tmp_path / "n1.o")],
                   check=True)
    subprocess.run(["gcc", "-w", "-c", str(tmp_path / "main.c"), "-o", str(tmp_path / "n2.o")],
                   check=True)
    subprocess.run(["g++", str(tmp_path / "n1.o"), str(tmp_path / "n2.o"), "-o", str(native)],
                   check=True)
    want = subprocess.run([str(native)], capture_output=True, check=True).stdout
    assert check(lib) == []
    result = run(tmp_path / "main")
    assert not result.faults, [f.describe() for f in result.faults]
    assert result.stdout == want and b"dtor 1" in want


def test_absolute_symbols_are_exported_as_absolute(tmp_path: Path,
                                                   macho_asm: Callable[..., Path]) -> None:
    """An N_ABS definition is exported with EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE (as ld64.lld
    does): an executable bound to it gets its value, not the value plus the dylib's base."""
    define = macho_asm(".globl _k\n_k = 0x50\n", "absdef2")
    use = macho_asm(".data\n.globl _p\n_p: .quad _k+3\n", "absuse2")
    lib = tmp_path / "libabs.dylib"
    link([str(define), str(use)], lib, target="macho-x86_64",
         macho_options={"output_kind": "dylib"})
    img = mi.parse(lib.read_bytes())
    (k,) = [e for e in export_entries(img) if e.name == "_k"]
    assert k.absolute and k.address == 0x50
    main_o = _cc(tmp_path, "#include <stdio.h>\nextern char k[];\nextern char *p;\n"
                 'int main(void) { printf("%lx %lx\\n", (unsigned long)k, (unsigned long)p); '
                 "return 0; }\n", "absmain", X86_64[1])
    _lh("x86_64", "10.15", str(main_o), str(lib), "-o", str(tmp_path / "main"))
    assert check(lib) == [] and check(tmp_path / "main") == []
    assert run(tmp_path / "main").stdout == b"50 53\n"


def test_versions_recorded_and_checked(built: dict[str, Path], tmp_path: Path) -> None:
    """The executable records the dylib's LC_ID_DYLIB versions in its LC_LOAD_DYLIB, as
    ld64 does; the emulated dyld refuses a dylib whose compatibility version is older
    than the recorded one, as dyld does."""
    exe = built["exe-lh-lh-x86_64"]
    (lib,) = [d for d in mi.parse(exe.read_bytes()).dylibs if "libmylh" in d.install_name]
    assert (lib.current_version, lib.compatibility_version) == (0x10203, 0x10000)
    older = tmp_path / "libmylh.dylib"
    _lh("x86_64", "10.15", "-dylib", "-install_name", "@rpath/libmylh.dylib",
        "-compatibility_version", "0.9", str(exe.parent.parent / "lib-x86_64.o"), "-o",
        str(older))
    result = run(exe, library_path=[tmp_path])
    assert [f.kind for f in result.faults] == ["load"]
    assert "incompatible library version: compatibility version 1.0.0 is required, the " \
           "file found provides 0.9.0" in result.faults[0].describe()
