"""The emulated dyld's run-time side, on images ld64.lld-14 and linkharness make from C:
weak definitions coalesced across images (the executable's copy wins), dylibs found through
LC_RPATH alone, and dlopen/dlsym/dlclose/dlerror of a bundle, including the failures a
program sees as NULL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle.emulate import run

TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
LLD = ["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.15", "10.15"]
SOURCES = {
    "lib.c": "__attribute__((weak)) int w(void) { return 2; }\nint get(void) { return w(); }\n",
    "plug.c": "__attribute__((weak)) int w(void) { return 3; }\nint get(void);\n"
              "int plug(void) { return w() + get(); }\n",
    # exit status: plug()*100 + get()*10 + w(), or the step that failed (dlerror's first
    # byte when the bundle is missing)
    "main.c": """void *dlopen(const char *, int); void *dlsym(void *, const char *);
int dlclose(void *); char *dlerror(void);
__attribute__((weak)) int w(void) { return 1; }
int get(void);
int main(int argc, char **argv) {
  void *h = dlopen(argc > 1 ? argv[1] : "@rpath/plug.bundle", 2);
  if (!h) { char *e = dlerror(); return e && e[0] == 'd' ? 99 : 98; }
  int (*plug)(void) = (int (*)(void))dlsym(h, "plug");
  if (!plug || dlsym(h, "absent")) return 97;
  int r = plug() * 100 + get() * 10 + w();
  return dlclose(h) == 0 ? r % 256 : 96;
}
""",
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("images")
    out = {}
    for name, text in SOURCES.items():
        (work / name).write_text(text)
        obj = work / name.replace(".c", ".o")
        subprocess.run(["clang-14", "-target", "x86_64-apple-macos10.15", "-O1", "-c", "-o",
                        str(obj), str(work / name)], check=True)
        out[name[:-2]] = obj
    return out


def _linkharness(objects: dict[str, Path], root: Path, rpath: bool = True) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    lib, exe = root / "lib" / "libw.dylib", root / "bin" / "main"
    link([str(objects["lib"]), str(TBD)], lib, target="macho-x86_64",
         macho_options={"output_kind": "dylib", "install_name": "@rpath/libw.dylib"})
    link([str(objects["plug"]), str(lib), str(TBD)], root / "lib" / "plug.bundle",
         target="macho-x86_64", macho_options={"output_kind": "bundle"})
    link([str(objects["main"]), str(lib), str(TBD)], exe, target="macho-x86_64",
         entry="_main",
         macho_options={"rpaths": ("@executable_path/../lib",) if rpath else ()})
    return exe


def _lld(objects: dict[str, Path], root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    lib, exe = root / "lib" / "libw.dylib", root / "bin" / "main"
    subprocess.run([*LLD, "-dylib", "-install_name", "@rpath/libw.dylib", "-o", str(lib),
                    str(objects["lib"]), str(TBD)], check=True)
    subprocess.run([*LLD, "-bundle", "-o", str(root / "lib" / "plug.bundle"),
                    str(objects["plug"]), str(lib), str(TBD)], check=True)
    subprocess.run([*LLD, "-rpath", "@executable_path/../lib", "-o", str(exe),
                    str(objects["main"]), str(lib), str(TBD)], check=True)
    return exe


@pytest.mark.parametrize("linker", ["linkharness", "lld"])
@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_weak_definitions_coalesce_and_the_bundle_runs(
        objects: dict[str, Path], tmp_path: Path, linker: str, bind: str) -> None:
    exe = (_linkharness if linker == "linkharness" else _lld)(objects, tmp_path)
    result = run(exe, bind=bind, library_path=[], seed=7)
    assert not result.faults, result.faults
    # every w() is the executable's (1): plug = 1 + get() = 2; 2*100 + 1*10 + 1
    assert result.exit_code == 211 % 256


def test_dlopen_of_a_missing_image_returns_null_with_a_message(
        objects: dict[str, Path], tmp_path: Path) -> None:
    exe = _linkharness(objects, tmp_path)
    result = run(exe, [str(exe), "@rpath/absent.bundle"], library_path=[], seed=7)
    assert not result.faults and result.exit_code == 99


def test_without_lc_rpath_the_dylib_is_not_found(
        objects: dict[str, Path], tmp_path: Path) -> None:
    exe = _linkharness(objects, tmp_path, rpath=False)
    result = run(exe, library_path=[], seed=7)
    assert result.faults and "LC_RPATH" in result.faults[0].describe()
