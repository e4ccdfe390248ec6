"""Issue 21's held-out thread-local programs (tls_heldout_programs.py) under the emulated
dyld: each prints and exits as its gcc/g++ build does natively on Linux, whichever way it
is linked:

- x86_64 by linkharness with `-no_fixup_chains` (dyld-info opcodes), with `-fixup_chains`,
  and with neither for a macOS 12 deployment target (ld64's rule: chained fixups by
  default from macOS 12; the output is checked to carry them), and by ld64.lld-14;
- i386 (clang's `-target i386-apple-macosx10.7`) by linkharness (opcodes: i386 has no
  chained fixups), PIC as clang compiles by default and with the executable's objects
  `-mdynamic-no-pic` (absolute descriptor loads, relaxed or through a pointer slot);

each run lazily bound and bound at load (`--bind lazy`/`now`), each output accepted by
the checker, and the field oracle satisfied by linkharness's executables."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from linker.macho.cli import main as ld64_main
from oracle import run
from oracle.check import check
from oracle.emulate.macho import image as mi
from oracle.relocs.check import check_fields_report
from tests.linker.macho.tls_heldout_programs import PROGRAMS, TlsProgram

INCLUDE = str(Path(__file__).resolve().parents[2] / "macho_include")
LIBSYSTEM = str(Path(__file__).resolve().parents[3] / "linker" / "macho" / "data"
                / "libSystem.tbd")
TRIPLES = {"x86_64": ("x86_64-apple-macosx10.9", "10.9"),
           "i386": ("i386-apple-macosx10.7", "10.7")}


@dataclass(frozen=True)
class Build:
    arch: str
    linker: str  # "linkharness" or "ld64.lld"
    flags: tuple[str, ...]
    min_os: str | None = None  # the deployment target, when not the compiler's
    chained: bool = False  # whether the output must carry LC_DYLD_CHAINED_FIXUPS
    cflags: tuple[str, ...] = ()  # for the executable's objects (a dylib's stay PIC)


BUILDS = {
    "x86_64 opcodes": Build("x86_64", "linkharness", ("-no_fixup_chains",)),
    "x86_64 chained": Build("x86_64", "linkharness", ("-fixup_chains",), chained=True),
    "x86_64 macOS 12 default": Build("x86_64", "linkharness", (), "12.0", chained=True),
    "x86_64 ld64.lld": Build("x86_64", "ld64.lld", ()),
    "i386": Build("i386", "linkharness", ()),
    "i386 -mdynamic-no-pic": Build("i386", "linkharness", (), cflags=("-mdynamic-no-pic",)),
}


def _native(program: TlsProgram, root: Path, bits: str) -> tuple[bytes, int]:
    compiler = "g++" if program.cxx else "gcc"
    exe = root / f"native{bits}"
    subprocess.run([compiler, f"-m{bits}", "-O1", "-w", "-pthread", "-o", str(exe),
                    *[str(root / n) for n in program.files]], check=True)
    done = subprocess.run([str(exe)], capture_output=True, check=False, timeout=60)
    return done.stdout, done.returncode


def _objects(program: TlsProgram, root: Path, arch: str, cflags: tuple[str, ...] = ()
             ) -> dict[str, Path]:
    triple = TRIPLES[arch][0]
    objs = {}
    for name in program.files:
        flags = () if name in program.dylib_files else cflags
        objs[name] = root / f"{arch}{''.join(flags)}-{name}.o"
        compiler = "clang++-14" if name.endswith(".cpp") else "clang-14"
        subprocess.run([compiler, f"--target={triple}", "-nostdlibinc", "-isystem", INCLUDE,
                        "-O1", *flags, "-c", "-w", "-o", str(objs[name]), str(root / name)],
                       check=True)
    return objs


def _link(build: Build, objs: list[Path], out: Path, *extra: str) -> None:
    common = ["-arch", build.arch, "-platform_version", "macos",
              build.min_os or TRIPLES[build.arch][1], "12.0", LIBSYSTEM]
    args = [*common, *build.flags, *extra, *map(str, objs), "-o", str(out)]
    if build.linker == "ld64.lld":
        subprocess.run(["ld64.lld-14", *args], check=True, capture_output=True)
    else:
        assert ld64_main(args) == 0


def _linked(program: TlsProgram, build: Build, objs: dict[str, Path], root: Path
            ) -> tuple[Path, list[Path]]:
    """The executable (and the dylib, for a program that has one, beside it)."""
    where = root / build.linker / "-".join([build.arch, *build.flags, *build.cflags,
                                            build.min_os or ""])
    where.mkdir(parents=True)
    libs = []
    if program.dylib_files:
        lib = where / "libtls.dylib"
        _link(build, [objs[n] for n in program.dylib_files], lib, "-dylib", "-install_name",
              "@rpath/libtls.dylib")
        libs.append(lib)
    exe = where / "exe"
    _link(build, [*(objs[n] for n in program.exe_files), *libs], exe)
    return exe, libs


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_prints_and_exits_as_natively(program: TlsProgram, tmp_path: Path) -> None:
    for name, source in program.files.items():
        (tmp_path / name).write_text(source)
    native64 = _native(program, tmp_path, "64")
    # 32-bit Linux has no libstdc++ here: the C++ program's output is word-size free
    native32 = native64 if program.cxx else _native(program, tmp_path, "32")
    objs = {(b.arch, b.cflags): _objects(program, tmp_path, b.arch, b.cflags)
            for b in BUILDS.values()}
    wrong = []
    for label, build in BUILDS.items():
        built = objs[build.arch, build.cflags]
        exe, libs = _linked(program, build, built, tmp_path)
        want = native64 if build.arch == "x86_64" else native32
        for bind in ("lazy", "now"):
            result = run(str(exe), bind=bind)
            if (result.stdout, result.exit_code, result.faults) != (*want, []):
                wrong.append(f"{label} --bind {bind}: {result.stdout!r} exit "
                             f"{result.exit_code} faults {result.faults}; natively "
                             f"{want[0]!r} exit {want[1]}")
        for image in (exe, *libs):
            img = mi.parse(image.read_bytes())
            if (img.chained_fixups is not None) != build.chained:
                wrong.append(f"{label}: {image.name} has chained fixups: "
                             f"{img.chained_fixups is not None}")
            wrong.extend(f"{label}: {image.name}: {v}" for v in check(image))
        if build.linker == "linkharness" and not libs:
            report = check_fields_report(str(exe), [str(o) for o in built.values()])
            wrong.extend(f"{label}: field {m}" for m in report.mismatches)
    assert wrong == []


def test_an_absolute_tlv_access_in_a_dylib_is_one_line(tmp_path: Path) -> None:
    """-mdynamic-no-pic code in a dylib: its text would need rebasing; refused in one line
    naming the place (an executable takes it: test_prints_and_exits_as_natively)."""
    program = next(p for p in PROGRAMS if p.dylib_files)
    for name, source in program.files.items():
        (tmp_path / name).write_text(source)
    objs = _objects(program, tmp_path, "i386", ("-mdynamic-no-pic",))
    lib = objs[program.dylib_files[0]]
    subprocess.run(["clang-14", f"--target={TRIPLES['i386'][0]}", "-nostdlibinc", "-isystem",
                    INCLUDE, "-O1", "-mdynamic-no-pic", "-c", "-w", "-o", str(lib),
                    str(tmp_path / program.dylib_files[0])], check=True)
    done = subprocess.run([sys.executable, "-m", "linker.macho", "-arch", "i386",
                           "-platform_version", "macos", "10.7", "12.0", LIBSYSTEM, "-dylib",
                           str(lib), "-o", str(tmp_path / "lib.dylib")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and not (tmp_path / "lib.dylib").exists()
    [line] = done.stderr.splitlines()
    assert "-mdynamic-no-pic" in line and "__TEXT,__text+0x" in line and lib.name in line


BUNDLE = r"""
_Thread_local int counter = 40;
_Thread_local char zeros[16];
int bump(int by) { counter += by; zeros[3]++; return counter + zeros[3]; }
"""
OPENS_BUNDLE = r"""
#include <stdio.h>
#include <pthread.h>
#ifdef __APPLE__
void *dlopen(const char *, int);
void *dlsym(void *, const char *);
#define BUNDLE "tls.bundle"
#else
#include <dlfcn.h>
#define BUNDLE "./tls.bundle"
#endif
static int (*bump)(int);
static void *work(void *arg) { return (void *)(long)bump((int)(long)arg); }
int main(void) {
    void *h = dlopen(BUNDLE, 2);
    if (!h) { puts("no bundle"); return 1; }
    bump = (int (*)(int))dlsym(h, "bump");
    int a = bump(1), b = bump(1);
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, (void *)100);
    pthread_join(t, &r);
    int c = bump(1);
    printf("%d %d %ld %d\n", a, b, (long)r, c);
    return c;
}
"""


@pytest.mark.parametrize("arch, chains", [("x86_64", "-no_fixup_chains"),
                                          ("x86_64", "-fixup_chains"), ("i386", None)])
def test_a_dlopened_bundles_thread_locals(tmp_path: Path, arch: str, chains: str | None
                                          ) -> None:
    """A bundle's thread-local variables when the program dlopens it: dyld sets up the
    descriptors of an image it maps at run time as it does at launch (the emulated dlopen
    left them bound to __tlv_bootstrap, which faults).  As natively (a .so, dlopen'ed)."""
    (tmp_path / "b.c").write_text(BUNDLE)
    (tmp_path / "m.c").write_text(OPENS_BUNDLE)
    native = tmp_path / "native"
    native.mkdir()
    subprocess.run(["gcc", "-O1", "-fPIC", "-shared", "-o", str(native / "tls.bundle"),
                    str(tmp_path / "b.c")], check=True)
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(native / "m"), str(tmp_path / "m.c"),
                    "-ldl"], check=True)
    want = subprocess.run(["./m"], cwd=native, capture_output=True, check=False, timeout=60)
    assert (want.stdout, want.returncode) == (b"42 44 141 46\n", 46)
    for name in ("b", "m"):
        subprocess.run(["clang-14", f"--target={TRIPLES[arch][0]}", "-nostdlibinc",
                        "-isystem", INCLUDE, "-O1", "-c", "-w", "-o", str(tmp_path / f"{name}.o"),
                        str(tmp_path / f"{name}.c")], check=True)
    common = ["-arch", arch, "-platform_version", "macos", TRIPLES[arch][1], "12.0",
              *([chains] if chains else []), LIBSYSTEM]
    assert ld64_main([*common, "-bundle", str(tmp_path / "b.o"), "-o",
                      str(tmp_path / "tls.bundle")]) == 0
    assert ld64_main([*common, str(tmp_path / "m.o"), "-o", str(tmp_path / "m")]) == 0
    for bind in ("lazy", "now"):
        result = run(str(tmp_path / "m"), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (
            want.stdout, want.returncode, [])
