"""A two-object `_Thread_local` program beyond the basics, for x86-64 (dyld-info opcodes
and chained fixups) and i386: pointers in the template (to a global and to a string
literal, slid with the image), an array of structs with doubles and 64-bit fields, a
zero-filled buffer written through a pointer by another function, a function-local static
thread-local, and a variable defined in the other object.  Linked by linkharness, it prints
and exits under the emulated dyld as the same source does natively on Linux (gcc -m64 /
-m32), and the checker and the field oracle accept the outputs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import link
from oracle import run
from oracle.check import check
from oracle.relocs.check import check_fields_report

MAIN = r"""
#include <stdio.h>
#include <string.h>
int global = 42;
const char *names[] = {"zero", "one", "two"};
_Thread_local int *ptr = &global;
_Thread_local const char *label = "label";
struct rec { char tag[6]; short s; double d; long long big; };
_Thread_local struct rec recs[3] = {{"a", 1, 1.5, 100}, {"b", 2, 2.5, 200}};
_Thread_local char buf[64];
extern _Thread_local int other_counter;
int bump_other(int);
static int counter(void) { static _Thread_local int n; return ++n; }
void fill(char *p, int n) { for (int i = 0; i < n; i++) p[i] = 'a' + i % 26; p[n] = 0; }
int main(void) {
    printf("%d %s %s %d %.1f %lld\n", *ptr, label, recs[1].tag, recs[0].s, recs[1].d,
           recs[1].big);
    *ptr += 1;
    fill(buf, 30);
    recs[2].big = (long long)strlen(buf) << 33;
    for (int i = 0; i < 5; i++) counter();
    int sixth = counter(), bumped = bump_other(3);  /* argument order is unspecified */
    const char *name = names[counter() % 3];
    printf("%s %d %lld %d %d %s\n", buf, global, recs[2].big, sixth, bumped, name);
    return (int)(recs[2].big >> 33) + other_counter;
}
"""
OTHER = r"""
_Thread_local int other_counter = 7;
int bump_other(int by) { other_counter += by; return other_counter; }
"""
INCLUDE = str(Path(__file__).resolve().parents[2] / "macho_include")
LIBSYSTEM = str(Path(__file__).resolve().parents[3] / "linker" / "macho" / "data"
                / "libSystem.tbd")
BUILDS = {"x86_64 opcodes": ("macho-x86_64", False), "x86_64 chained": ("macho-x86_64", True),
          "i386": ("macho-i386", False)}


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, int]]:
    root = tmp_path_factory.mktemp("tlv-programs-native")
    (root / "a.c").write_text(MAIN)
    (root / "b.c").write_text(OTHER)
    out = {}
    for bits in ("64", "32"):
        exe = root / f"n{bits}"
        subprocess.run(["gcc", f"-m{bits}", "-w", "-o", str(exe), str(root / "a.c"),
                        str(root / "b.c")], check=True)
        done = subprocess.run([str(exe)], capture_output=True, check=False)
        out[bits] = (done.stdout, done.returncode)
    return out


@pytest.mark.parametrize("build", BUILDS)
def test_runs_as_natively(build: str, native: dict[str, tuple[bytes, int]],
                          macho_cc: Callable[..., Path], macho32_tlv_cc: Callable[..., Path],
                          tmp_path: Path) -> None:
    target, chains = BUILDS[build]
    cc = macho32_tlv_cc if target == "macho-i386" else macho_cc
    flags = ("-O1",) if cc is macho32_tlv_cc else ("-O1", "-nostdlibinc", "-isystem", INCLUDE)
    objs = [cc(MAIN, f"tlvmain-{target}", *flags), cc(OTHER, f"tlvother-{target}", *flags)]
    out = tmp_path / "prog"
    link([*objs, "-lSystem"], out, target=target, fixup_chains=chains)
    want = native["32" if target == "macho-i386" else "64"]
    assert want[0].startswith(b"42 label b 1 2.5 200\nabcdefghijklmnopqrstuvwxyzabcd 43")
    for bind in ("lazy", "now"):
        result = run(str(out), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (*want, [])
    assert check(out) == []
    assert not check_fields_report(str(out), [str(o) for o in objs]).mismatches


LIB = r"""
_Thread_local int lib_counter = 100;
_Thread_local char lib_zero[8];
int lib_bump(int by) { lib_counter += by; lib_zero[1] += 1; return lib_counter + lib_zero[1]; }
"""
USES_LIB = r"""
#include <stdio.h>
int lib_bump(int);
extern _Thread_local int lib_counter;
_Thread_local int mine = 3;
int main(void) {
    mine += lib_bump(5);
    lib_counter += 1000;
    int seen = lib_counter, bumped = lib_bump(1);
    printf("%d %d %d\n", mine, seen, bumped);
    return mine & 0x7f;
}
"""
DYLIB_BUILDS = {"x86_64": ("10.15", "x86_64-apple-macosx10.15"),
                "i386": ("10.7", "i386-apple-macosx10.7")}


@pytest.mark.parametrize("arch", DYLIB_BUILDS)
def test_a_dylibs_thread_locals(arch: str, tmp_path: Path) -> None:
    """A dylib with its own thread-local variables (its own key and template under the
    emulated dyld), used by an executable that has some too and reaches one of the dylib's
    (a load through a slot bound to the dylib's descriptor): as natively (one gcc link)."""
    from linker.macho.cli import main as ld64_main
    version, triple = DYLIB_BUILDS[arch]
    (tmp_path / "lib.c").write_text(LIB)
    (tmp_path / "main.c").write_text(USES_LIB)
    subprocess.run(["gcc", "-m64" if arch == "x86_64" else "-m32", "-w", "-o",
                    str(tmp_path / "native"), str(tmp_path / "lib.c"), str(tmp_path / "main.c")],
                   check=True)
    done = subprocess.run([str(tmp_path / "native")], capture_output=True, check=False)
    assert done.stdout == b"109 1105 1108\n"
    objs = {}
    for name in ("lib", "main"):
        objs[name] = tmp_path / f"{name}.o"
        subprocess.run(["clang-14", f"--target={triple}", "-nostdlibinc", "-isystem", INCLUDE,
                        "-O1", "-c", "-w", "-o", str(objs[name]), str(tmp_path / f"{name}.c")],
                       check=True)
    common = ["-arch", arch, "-platform_version", "macos", version, "11.0", LIBSYSTEM]
    lib, exe = tmp_path / "libt.dylib", tmp_path / "main"
    assert ld64_main([*common, "-dylib", "-install_name", "@rpath/libt.dylib",
                      str(objs["lib"]), "-o", str(lib)]) == 0
    assert ld64_main([*common, str(objs["main"]), str(lib), "-o", str(exe)]) == 0
    for bind in ("lazy", "now"):
        result = run(str(exe), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (
            done.stdout, done.returncode, [])
    assert check(exe) == [] and check(lib) == []
