"""Two `-shared` details matched to GNU ld 2.40 and run natively:

* definitions named with their version in the object (`.symver foo_v1, foo@VER_1`,
  `.symver foo_v2, foo@@VER_2`) are exported as `foo` with .gnu.version indices (the
  non-default one hidden), and a default one also satisfies the library's own `foo`;
* `--dynamic-list` in a shared object: every export stays in .dynsym, but only the listed
  symbols (and data, under --dynamic-list-data) stay preemptible.

Each library is linked by GNU ld and by linkharness from the same objects; executables are
linked against both by gcc (GNU ld) and through linkharness's ld-shim, then run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from linker.api import link
from linker.errors import LinkError

CompileC = Callable[..., Path]

LIBRARY = """
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@VER_1");
__asm__(".symver foo_v2, foo@@VER_2");
int foo(void);
int bar(void) { return 10 + foo(); }   /* binds to foo@@VER_2, the default */
"""
SCRIPT = "VER_1 { global: foo; bar; local: *; };\nVER_2 { global: foo; } VER_1;\n"
# The previous release of the library: foo was only ever VER_1.
OLD_LIBRARY = "int foo(void) { return 1; }\nint bar(void) { return 11; }\n"
OLD_SCRIPT = "VER_1 { global: foo; bar; local: *; };\n"
MAIN = "int foo(void); int bar(void);\nint main(void) { return foo() * 100 + bar(); }\n"
# A caller pinned to the old version on the reference side.
PINNED = ('int foo(void);\n__asm__(".symver foo, foo@VER_1");\n'
          "int main(void) { return foo(); }\n")


def _shim() -> str:
    out = subprocess.run([str(Path(sys.executable).parent / "linkharness"), "ld-shim"], check=True, capture_output=True,
                         text=True, env=os.environ)
    return out.stdout.strip()


def _versions(lib: Path) -> tuple[list[str], list[str]]:
    """(`name@ver` of each FUNC or NOTYPE in .dynsym, `UND ` before the undefined ones;
    .gnu.version_d names), as readelf says."""
    text = subprocess.run(["readelf", "-W", "-V", "--dyn-syms", str(lib)], check=True,
                          capture_output=True, text=True).stdout
    funcs = sorted(("UND " if " UND " in line else "") + line.split()[7]
                   for line in text.splitlines()
                   if (" FUNC " in line or " NOTYPE " in line) and len(line.split()) > 7)
    verdefs = [line.split("Name: ")[1] for line in text.splitlines() if "Name: " in line]
    return funcs, verdefs


def _build_libraries(tmp: Path, compile_c: CompileC, tag: str, source: str,
                     script: str) -> dict[str, Path]:
    obj = compile_c(source, f"lib_{tag}", "-fPIC")
    (tmp / f"{tag}.map").write_text(script)
    dirs = {}
    for linker_name in ("gnu", "lh"):
        d = tmp / f"{tag}_{linker_name}"
        d.mkdir()
        out = d / "libv.so"
        if linker_name == "gnu":
            subprocess.run(["ld", "-shared", "-soname", "libv.so", "--version-script",
                            str(tmp / f"{tag}.map"), str(obj), "-o", str(out)], check=True)
        else:
            link([str(obj)], str(out), shared=True, soname="libv.so",
                 version_scripts=[str(tmp / f"{tag}.map")])
        dirs[linker_name] = d
    return dirs


def _exe(tmp: Path, main: Path, libdir: Path, name: str, shim: str | None) -> Path:
    out = tmp / name
    cmd = ["gcc", *(["-B", shim] if shim else []), str(main), f"-L{libdir}", "-lv",
           "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _run(exe: Path, libdir: Path) -> int:
    return subprocess.run([str(exe)], env={**os.environ, "LD_LIBRARY_PATH": str(libdir)},
                          check=False).returncode


def test_symver_exports_match_gnu_ld_and_run(tmp_path: Path, compile_c: CompileC) -> None:
    new = _build_libraries(tmp_path, compile_c, "new", LIBRARY, SCRIPT)
    old = _build_libraries(tmp_path, compile_c, "old", OLD_LIBRARY, OLD_SCRIPT)
    gnu, ours = _versions(new["gnu"] / "libv.so"), _versions(new["lh"] / "libv.so")
    assert ours == gnu
    assert ours[0] == ["bar@@VER_1", "foo@@VER_2", "foo@VER_1"]
    main = compile_c(MAIN, "main")
    pinned = compile_c(PINNED, "pinned")
    shim = _shim()
    for maker in ("gnu", "lh"):
        for exe_linker, s in (("gcc", None), ("shim", shim)):
            tag = f"{maker}_{exe_linker}"
            # Built against the new library: the default foo@@VER_2 (2), bar sees it too.
            exe = _exe(tmp_path, main, new[maker], f"main_{tag}", s)
            assert [_run(exe, new[m]) for m in ("gnu", "lh")] == [212, 212], tag
            # Pinned to foo@VER_1 by .symver on the reference side.
            exe = _exe(tmp_path, pinned, new[maker], f"pinned_{tag}", s)
            assert [_run(exe, new[m]) for m in ("gnu", "lh")] == [1, 1], tag
            # Built against the old library: foo@VER_1 still, when run with the new one.
            exe = _exe(tmp_path, main, old[maker], f"old_{tag}", s)
            assert _run(exe, old[maker]) == 111, tag
            assert [_run(exe, new[m]) for m in ("gnu", "lh")] == [112, 112], tag


def test_symver_local_in_its_node_is_not_exported(tmp_path: Path,
                                                   compile_c: CompileC) -> None:
    """GNU ld consults only the named node: VER_1's `local: *` hides foo@VER_1, and the
    plain aliases foo_v1/foo_v2 with it; VER_2 says nothing, so foo@@VER_2 is exported."""
    obj = compile_c(LIBRARY, "lib_local", "-fPIC")
    script = tmp_path / "v.map"
    script.write_text("VER_1 { global: bar; local: *; };\nVER_2 { } VER_1;\n")
    gnu, ours = tmp_path / "gnu.so", tmp_path / "ours.so"
    subprocess.run(["ld", "-shared", "--version-script", str(script), str(obj), "-o",
                    str(gnu)], check=True)
    link([str(obj)], str(ours), shared=True, version_scripts=[str(script)])
    assert _versions(ours)[0] == _versions(gnu)[0] == ["bar@@VER_1", "foo@@VER_2"]


def test_symver_without_its_node_is_refused(tmp_path: Path, compile_c: CompileC) -> None:
    obj = compile_c(LIBRARY, "lib_nonode", "-fPIC")
    with pytest.raises(LinkError, match=r"lib_nonode\.o.*foo@VER_1.*version node VER_1"):
        link([str(obj)], str(tmp_path / "x.so"), shared=True)
    assert not (tmp_path / "x.so").exists()


DYNLIST_LIBRARY = """
#include <stdio.h>
int fa(void) { return 1; }
int fb(void) { return 2; }
int da = 3, db = 4;
void call_all(void) { printf("%d\\n", fa() * 1000 + fb() * 100 + da * 10 + db); }
"""
# The executable interposes all four; only what stays preemptible in the library follows.
DYNLIST_MAIN = """
int fa(void) { return 7; }
int fb(void) { return 8; }
int da = 5, db = 6;
void call_all(void);
int main(void) { call_all(); return 0; }
"""


@pytest.mark.parametrize(("args", "printed"), [
    (["--dynamic-list", "LIST"], "7254"),             # fa and da interposed
    (["--dynamic-list-data"], "1256"),                # da and db
    (["--dynamic-list-data", "--dynamic-list", "LIST"], "7256"),
    (["-Bsymbolic", "--dynamic-list", "LIST"], "7254"),  # the list decides, not -Bsymbolic
    ([], "7856"),                                     # everything preemptible
])
def test_dynamic_list_narrows_preemption(tmp_path: Path, compile_c: CompileC,
                                         args: list[str], printed: str) -> None:
    lst = tmp_path / "dl.list"
    lst.write_text("{ fa; da; };\n")
    args = [str(lst) if a == "LIST" else a for a in args]
    obj = compile_c(DYNLIST_LIBRARY, "dynlist", "-fPIC")
    main = compile_c(DYNLIST_MAIN, "dynlist_main")
    outputs = []
    for maker in ("gnu", "lh"):
        d = tmp_path / maker
        d.mkdir()
        cmd = ["-shared", "-soname", "libv.so", *args, str(obj), "-o", str(d / "libv.so")]
        tool = ["ld"] if maker == "gnu" else [str(Path(sys.executable).parent / "linkharness"), "link"]
        subprocess.run([*tool, *cmd], check=True, env=os.environ)
        exe = _exe(tmp_path, main, d, f"main_{maker}", None)
        run = subprocess.run([str(exe)], env={**os.environ, "LD_LIBRARY_PATH": str(d)},
                             check=True, capture_output=True, text=True)
        outputs.append(run.stdout.strip())
    assert outputs == [printed, printed]


def test_symver_exports_on_i386(tmp_path: Path, compile_c: CompileC) -> None:
    """elf32-i386: the same exports as GNU ld, and both versions called natively."""
    obj = compile_c(LIBRARY, "lib32", "-fPIC", "-m32")
    script = tmp_path / "v.map"
    script.write_text(SCRIPT)
    (tmp_path / "gnu").mkdir()
    (tmp_path / "lh").mkdir()
    subprocess.run(["ld", "-m", "elf_i386", "-shared", "-soname", "libv.so",
                    "--version-script", str(script), str(obj), "-o",
                    str(tmp_path / "gnu" / "libv.so")], check=True)
    link([str(obj)], str(tmp_path / "lh" / "libv.so"), target="elf32-i386", shared=True,
         soname="libv.so", version_scripts=[str(script)])
    assert _versions(tmp_path / "lh" / "libv.so") == _versions(tmp_path / "gnu" / "libv.so")
    for source, expected in ((MAIN, 212), (PINNED, 1)):
        main = compile_c(source, f"main32_{expected}", "-m32")
        exe = tmp_path / f"exe{expected}"
        subprocess.run(["gcc", "-m32", str(main), f"-L{tmp_path / 'lh'}", "-lv", "-o",
                        str(exe)], check=True, capture_output=True)
        assert _run(exe, tmp_path / "lh") == expected


# --default-symver (jansson's CMake passes it when the linker takes it): every export no
# named node claims is versioned after the soname, at index 2, before the script's nodes.
DEFAULT_SYMVER_LIBRARY = """
int plain(void) { return 5; }
int other(void) { return 6; }
static int hidden_helper(void) { return 7; }
int uses_helper(void) { return hidden_helper(); }
"""
DEFAULT_SYMVER_MAIN = ("int plain(void); int uses_helper(void);\n"
                       "int main(void) { return plain() * 10 + uses_helper(); }\n")


@pytest.mark.parametrize("script", ["", "NODE_1 { global: other; };\n",
                                    "{ global: plain; uses_helper; local: *; };\n"])
def test_default_symver_matches_gnu_ld_and_runs(tmp_path: Path, compile_c: CompileC,
                                                script: str) -> None:
    obj = compile_c(DEFAULT_SYMVER_LIBRARY, "lib_defsymver", "-fPIC")
    main = compile_c(DEFAULT_SYMVER_MAIN, "main_defsymver")
    scripts = []
    if script:
        (tmp_path / "v.map").write_text(script)
        scripts = [str(tmp_path / "v.map")]
    built = {}
    for linker_name in ("gnu", "lh"):
        d = tmp_path / linker_name
        d.mkdir()
        out = d / "libv.so"
        if linker_name == "gnu":
            subprocess.run(["ld", "-shared", "--default-symver", "-soname", "libv.so.3",
                            *(f"--version-script={s}" for s in scripts), str(obj), "-o",
                            str(out)], check=True)
        else:
            link([str(obj)], str(out), shared=True, soname="libv.so.3", default_symver=True,
                 version_scripts=scripts)
        built[linker_name] = d
    ours, gnu = _versions(built["lh"] / "libv.so"), _versions(built["gnu"] / "libv.so")
    assert ours == gnu
    assert "plain@@libv.so.3" in ours[0] and ours[1][:2] == ["libv.so.3", "libv.so.3"]
    # An executable built against each records the soname's version; ld.so checks it.
    shim = _shim()
    for d in built.values():
        (d / "libv.so.3").symlink_to("libv.so")
    for maker in ("gnu", "lh"):
        for exe_linker, s in (("gcc", None), ("shim", shim)):
            exe = _exe(tmp_path, main, built[maker], f"main_{maker}_{exe_linker}", s)
            assert [_run(exe, built[m]) for m in ("gnu", "lh")] == [57, 57]


def test_default_symver_in_an_executable_matches_gnu_ld(tmp_path: Path,
                                                        compile_c: CompileC) -> None:
    """jansson's CMake probes the option with an executable: GNU ld versions the
    executable's own exports (here with -E) after its file name; a COPY-relocated
    definition keeps its library's version."""
    source = ('#include <stdio.h>\nint exported_fn(void) { return 3; }\n'
              'int main(void) { fputs("ok\\n", stdout); return exported_fn() - 3; }\n')
    main = compile_c(source, "main_defsymver_exe", "-fno-pie")
    outs: dict[str, tuple[list[str], list[str]]] = {}
    for maker, shim in (("gnu", None), ("lh", _shim())):
        out = tmp_path / maker / "prog"
        out.parent.mkdir()
        subprocess.run(["gcc", *(["-B", shim] if shim else []), "-no-pie", "-rdynamic",
                        "-Wl,--default-symver", str(main), "-o", str(out)], check=True)
        assert subprocess.run([str(out)], capture_output=True, text=True,
                              check=False).stdout == "ok\n"
        outs[maker] = _defined_dynsyms(out), []
    gnu, ours = outs["gnu"], outs["lh"]
    assert _verdef_names(tmp_path / "lh" / "prog") == _verdef_names(
        tmp_path / "gnu" / "prog") == ["prog", "prog"]
    # GNU ld exports its linker-made symbols (_end, __bss_start...) with -E; we do not
    assert "stdout@GLIBC_2.2.5" in ours[0] and "stdout@GLIBC_2.2.5" in gnu[0]
    assert "exported_fn@@prog" in ours[0] and "main@@prog" in ours[0]
    assert set(ours[0]) <= set(gnu[0])


def _verdef_names(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-W", "-V", str(path)], check=True, capture_output=True,
                          text=True).stdout
    return [line.split("Name: ")[1] for line in text.splitlines()
            if "Rev: " in line and "Name: " in line]


def _defined_dynsyms(path: Path) -> list[str]:
    """`name@@ver` of every defined .dynsym entry, whatever its type."""
    text = subprocess.run(["readelf", "-W", "--dyn-syms", str(path)], check=True,
                          capture_output=True, text=True).stdout
    return sorted(line.split()[7] for line in text.splitlines()
                  if len(line.split()) > 7 and line.split()[0].endswith(":")
                  and line.split()[6] != "UND")
