"""Hostile link targets whose valid inputs real compilers and real libraries made, not the
project's generators (issue 13: a campaign of someone else's would start from such files).

The sources are ours (fuzz/hostile/real/), compiled once per campaign by the host's gcc,
g++ and clang-14, with the flags a build would use (`-O2 -g`, the C++ unit with `-gz`,
`-fcf-protection=full` for `.note.gnu.property`).  What the objects carry that the
generators never draw: COMDAT groups, `.eh_frame` CIEs with augmentations and LSDAs,
`.gcc_except_table`, full DWARF 5 (`.debug_rnglists`, `.debug_loclists`, `.debug_line_str`,
compressed sections), TLS with dynamic initializers, an IFUNC, `.init_array` and `.ctors`,
merged strings, weak/hidden/protected symbols; on Mach-O `__compact_unwind`, `__eh_frame`,
`__DWARF` with `__apple_*` tables, `__cstring`, `__mod_init_func`, `__gcc_except_tab`,
SIGNED_1/2/4, GOT_LOAD and SUBTRACTOR relocations, i386 SECTDIFF/LOCAL_SECTDIFF pairs, all
with subsections-via-symbols.

Link targets (each linked unmutated first; a mutation replaces one of `mutable`):
- gcc-object: gcc's own PIE link line (Scrt1.o, crti.o, crtbeginS.o, our two objects,
  libstdc++, libm, libgcc_s, libc, crtendS.o, crtn.o), x86-64; the crt objects are mutable
  too (they are compiler-made);
- gcc32-object: the same for i386, as a non-PIE (`-fno-pie`: R_386_32 and the IFUNC's
  .iplt; linkharness refuses an IFUNC in an i386 PIE);
- gcc-shared-object: `-shared` of the units compiled `-fPIC`, on gcc's link line for it;
- gcc-static-object: `-static` of the C unit against glibc's libc.a and libz.a;
- gcc-relocatable: `-r` of gcc-object's two units (groups, .eh_frame, DWARF relocations kept);
- clang-macho-object / clang-macho32-object: the C and C++ units for x86_64-apple-macosx10.9
  and i386-apple-macosx10.7, against libSystem's stub and a libc++abi stub of ours;
- clang-macho-archive: the x86-64 Mach-O objects in a BSD-format archive (llvm-ar-14);
- clang-fat-object: the two units as universal objects (x86_64 and i386 slices, llvm-lipo-14)
  linked for x86-64;
- system-so: the gcc-object link with the host's libz.so.1 (symbol versions, GNU hash)
  copied in as the mutated input;
- system-archive: the same with an archive of three members of the host's libz.a and a copy
  of libc_nonshared.a (members named `.oS`) as the mutable inputs.
Executable targets (mutated, fed to oracle.check, check_fields and oracle.run), made by
other linkers from the C unit: gnu-ld-exe, gnu-ld32-exe, lld-macho-exe (real_exe_targets);
and system-so-run, the host's libz.so.1 mutated and loaded by the unmutated gnu-ld-exe.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from linker import link

SOURCES = Path(__file__).resolve().parent / "real"
ROOT = SOURCES.parents[2]
MACHO_INCLUDE = ROOT / "tests" / "macho_include"
LIBSYSTEM_TBD = ROOT / "linker" / "macho" / "data" / "libSystem.tbd"

def _gcc_lib() -> Path:
    """gcc's own library directory (crtbeginS.o, libgcc.a), as `gcc -###` names it."""
    found = subprocess.run(["gcc", "-print-file-name=crtbeginS.o"], capture_output=True,
                           text=True, check=True).stdout.strip()
    return Path(found).parent


GCC_LIB = _gcc_lib()
LIB64 = Path("/usr/lib/x86_64-linux-gnu")
LIB32 = Path("/usr/lib32")
LIBZ_SO = LIB64 / "libz.so.1"
LIBZ_A = LIB64 / "libz.a"
LIBZ_MEMBERS = ("crc32.o", "adler32.o", "zutil.o")  # what c_parts.c calls, and no more
REAL_TARGETS = ("gcc-object", "gcc32-object", "clang-macho-object", "clang-macho32-object",
                "system-so", "system-archive", "clang-macho-archive", "gnu-ld-exe",
                "gnu-ld32-exe", "lld-macho-exe", "system-so-run", "gcc-shared-object",
                "gcc-relocatable", "gcc-static-object", "clang-fat-object")
GCC_FLAGS = ("-O2", "-g", "-fcf-protection=full", "-frandom-seed=hostile")
DARWIN_TRIPLES = {"x86_64": "x86_64-apple-macosx10.9", "i386": "i386-apple-macosx10.7"}


def _compile_all(work: Path) -> dict[str, Path]:
    """Every object, compiled side by side (a second each), in `work` with relative paths
    and the directory mapped away, so that the same compilers give the same bytes."""
    work.mkdir(parents=True, exist_ok=True)
    for source in SOURCES.iterdir():
        shutil.copy(source, work / source.name)
    mapped = (f"-fdebug-prefix-map={work}=.",)
    jobs: dict[str, list[str]] = {
        "c_parts.o": ["gcc", *GCC_FLAGS, *mapped, "-c", "c_parts.c"],
        "cxx_parts.o": ["g++", *GCC_FLAGS, "-gz", *mapped, "-c", "cxx_parts.cc"],
        "c_parts32.o": ["gcc", "-m32", "-fno-pie", "-DNO_ZLIB", *GCC_FLAGS, *mapped, "-c",
                        "c_parts.c"],
        "cxx_parts32.o": ["g++", "-m32", "-fno-pie", *GCC_FLAGS, "-gz", *mapped, "-c",
                          "cxx_parts.cc"],
    }
    for arch, triple in DARWIN_TRIPLES.items():
        darwin = [f"--target={triple}", "-nostdlibinc", "-isystem", str(MACHO_INCLUDE), "-O2",
                  "-g", *mapped, "-c"]
        jobs[f"macho_parts_{arch}.o"] = ["clang-14", *darwin, "macho_parts.c"]
        jobs[f"cxx_parts_{arch}.o"] = ["clang++-14", *darwin, "cxx_parts.cc"]
    jobs["stub_x86_64.o"] = ["clang-14", f"--target={DARWIN_TRIPLES['x86_64']}", "-O2", "-c",
                             "stub_cxx_part.c"]
    jobs["stub.o"] = ["gcc", "-O2", "-c", "stub_cxx_part.c"]
    # for -shared: position-independent, the C++ unit's DWARF left uncompressed
    jobs["c_parts_pic.o"] = ["gcc", *GCC_FLAGS, "-fPIC", *mapped, "-c", "c_parts.c"]
    jobs["cxx_parts_pic.o"] = ["g++", *GCC_FLAGS, "-fPIC", *mapped, "-c", "cxx_parts.cc"]
    jobs["stub32.o"] = ["gcc", "-m32", "-fno-pie", "-O2", "-c", "stub_cxx_part.c"]
    running = {name: subprocess.Popen([*argv, "-o", name], cwd=work, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
               for name, argv in jobs.items()}
    for name, process in running.items():
        out, _ = process.communicate(timeout=300)
        if process.returncode:
            raise RuntimeError(f"building the hostile seed {name} failed:\n{out.decode()}")
    return {name: work / name for name in jobs}


def _gcc_link_line(objects: list[Path], m32: bool, libz: list[str | Path]
                   ) -> tuple[list[str | Path], list[Path], dict[str, Any]]:
    """gcc's link line around `objects` (the crt objects and libraries `gcc -###` shows),
    the crt objects, and linker.link's options for it."""
    if m32:
        gcc_lib, lib = GCC_LIB / "32", LIB32
        crt = [lib / "crt1.o", lib / "crti.o", gcc_lib / "crtbegin.o"]
        tail = [gcc_lib / "crtend.o", lib / "crtn.o"]
        options: dict[str, Any] = {"target": "elf32-i386", "dynamic_linker": "/lib/ld-linux.so.2",
                                   "library_paths": [str(gcc_lib), str(lib)]}
    else:
        gcc_lib, lib = GCC_LIB, LIB64
        crt = [lib / "Scrt1.o", lib / "crti.o", gcc_lib / "crtbeginS.o"]
        tail = [gcc_lib / "crtendS.o", lib / "crtn.o"]
        options = {"pie": True, "dynamic_linker": "/lib64/ld-linux-x86-64.so.2",
                   "library_paths": [str(gcc_lib), str(lib), "/lib/x86_64-linux-gnu"]}
    options.update(eh_frame_hdr=True, hash_style="gnu", build_id="sha1")
    inputs: list[str | Path] = [*crt, *objects, *libz, lib / "libstdc++.so.6", "-lm",
                                "--as-needed", "-lgcc_s", "--no-as-needed", "-lgcc", "-lc",
                                "-lgcc_s", "-lgcc", *tail]
    return inputs, crt, options


def _seated(work: Path, files: list[Path]) -> list[Path]:
    """Copies of system files in `work` (a mutation replaces an input by its name, so
    every mutable input is a file of the seeds' own)."""
    work.mkdir(parents=True, exist_ok=True)
    copies = []
    for file in files:
        copies.append(work / file.name)
        shutil.copy(file, copies[-1])
    return copies


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"building a hostile seed: {' '.join(argv)}:\n{done.stderr}")


def real_exe_targets(work: Path, exe_target: Any) -> dict[str, Any]:
    """Executables other linkers made of the C unit (the emulator has no C++ runtime):
    gnu-ld-exe (gcc's PIE by GNU ld, run against the host's libz.so.1), gnu-ld32-exe (i386,
    no PIE), lld-macho-exe (ld64.lld-14).  `exe_target`: fuzz.hostile.seeds.ExeTarget."""
    objects = {p.name: p for p in (work / "objects").iterdir() if p.suffix == ".o"}
    seat = work / "system-so"
    out = work / "exe"
    out.mkdir()
    c64, c32 = [objects["c_parts.o"], objects["stub.o"]], [objects["c_parts32.o"],
                                                            objects["stub32.o"]]
    _run(["gcc", *map(str, c64), str(seat / LIBZ_SO.name), "-o", "gnu-ld-exe"], out)
    _run(["gcc", "-m32", "-no-pie", *map(str, c32), "-o", "gnu-ld32-exe"], out)
    macho = [objects["macho_parts_x86_64.o"], objects["stub_x86_64.o"]]
    _run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0",
          "-o", "lld-macho-exe", *map(str, macho), str(LIBSYSTEM_TBD)], out)
    return {"gnu-ld-exe": exe_target("gnu-ld-exe", out / "gnu-ld-exe", c64, [seat], deep=True),
            "gnu-ld32-exe": exe_target("gnu-ld32-exe", out / "gnu-ld32-exe", c32, [],
                                       deep=True),
            "lld-macho-exe": exe_target("lld-macho-exe", out / "lld-macho-exe", macho, [],
                                        deep=True),
            # the host's libz.so.1 mutated, loaded by the unmutated gnu-ld-exe
            "system-so-run": exe_target("system-so-run", seat / LIBZ_SO.name, [], [],
                                        host=out / "gnu-ld-exe", deep=True)}


def real_link_targets(work: Path, link_target: Any) -> dict[str, Any]:
    """The targets above (`link_target`: fuzz.hostile.seeds.LinkTarget), each checked to
    link unmutated: the campaign mutates only a good link."""
    objects = _compile_all(work / "objects")
    (work / "valid").mkdir()
    targets: dict[str, Any] = {}

    def add(name: str, inputs: list[str | Path], mutable: list[Path],
            options: dict[str, Any]) -> None:
        indices = [inputs.index(m) for m in mutable]
        # link_target takes paths; the -l and --as-needed operands pass through as Paths
        # too (linker.link reads them by their text)
        targets[name] = link_target(name, [Path(p) for p in inputs], indices, options,
                                    deep=True)
        link(inputs, work / "valid" / name, **options)  # a LinkError here: no seed to mutate

    elf64 = [objects["c_parts.o"], objects["cxx_parts.o"]]
    crt64 = _seated(work / "crt64", _gcc_link_line([], False, [])[1])
    inputs, _, options = _gcc_link_line(elf64, False, ["-lz"])
    inputs[:3] = crt64
    add("gcc-object", inputs, [*crt64, *elf64], options)
    elf32 = [objects["c_parts32.o"], objects["cxx_parts32.o"]]
    crt32 = _seated(work / "crt32", _gcc_link_line([], True, [])[1])
    inputs, _, options = _gcc_link_line(elf32, True, [])
    inputs[:3] = crt32
    add("gcc32-object", inputs, [*crt32, *elf32], options)
    # -shared of the position-independent units, on gcc's link line for it; -r of the two
    pic = [objects["c_parts_pic.o"], objects["cxx_parts_pic.o"]]
    inputs, _, options = _gcc_link_line(pic, False, ["-lz"])
    inputs = [p for p in inputs if p != LIB64 / "Scrt1.o"]  # -shared has no start file
    options = {k: v for k, v in options.items() if k not in ("pie", "dynamic_linker")}
    add("gcc-shared-object", inputs, pic,
        {**options, "shared": True, "soname": "libreal.so", "relro": True})
    add("gcc-relocatable", [*elf64], elf64, {"relocatable": True})
    # -static against glibc's libc.a (its IFUNCs as IRELATIVE, static TLS), C only
    static = [objects["c_parts.o"], objects["stub.o"]]
    add("gcc-static-object",
        [LIB64 / "crt1.o", LIB64 / "crti.o", GCC_LIB / "crtbeginT.o", *static, "--start-group",
         "-lz", "-lgcc", "-lgcc_eh", "-lc", "--end-group", GCC_LIB / "crtend.o",
         LIB64 / "crtn.o"], static,
        {"static": True, "library_paths": [str(GCC_LIB), str(LIB64)], "build_id": "sha1"})
    cxxabi = SOURCES / "libcxxabi.tbd"
    for arch, name in (("x86_64", "clang-macho-object"), ("i386", "clang-macho32-object")):
        macho = [objects[f"macho_parts_{arch}.o"], objects[f"cxx_parts_{arch}.o"]]
        add(name, [*macho, cxxabi, LIBSYSTEM_TBD], macho,
            {"target": f"macho-{arch}", "entry": "_main"})
    # the x86-64 Mach-O objects in a BSD archive (`#1/N` long names, `__.SYMDEF`), which
    # the link pulls both members of through the entry point `_main`
    archive = work / "macho-archive" / "libreal.a"
    archive.parent.mkdir()
    _run(["llvm-ar-14", "rcsD", "--format=darwin", str(archive),
          *(str(objects[f"{unit}_x86_64.o"]) for unit in ("macho_parts", "cxx_parts"))],
         archive.parent)
    add("clang-macho-archive", [archive, cxxabi, LIBSYSTEM_TBD], [archive],
        {"target": "macho-x86_64", "entry": "_main"})
    # universal (fat) objects, x86_64 and i386 slices (llvm-lipo-14), linked for x86-64
    fat = [work / "macho-fat" / f"{unit}_fat.o" for unit in ("macho_parts", "cxx_parts")]
    fat[0].parent.mkdir()
    for unit, out in zip(("macho_parts", "cxx_parts"), fat, strict=True):
        _run(["llvm-lipo-14", "-create", str(objects[f"{unit}_x86_64.o"]),
              str(objects[f"{unit}_i386.o"]), "-output", str(out)], out.parent)
    add("clang-fat-object", [*fat, cxxabi, LIBSYSTEM_TBD], [*fat],
        {"target": "macho-x86_64", "entry": "_main"})
    (libz_so,) = _seated(work / "system-so", [LIBZ_SO])
    inputs, _, options = _gcc_link_line(elf64, False, [libz_so])
    add("system-so", inputs, [libz_so], options)
    members = work / "system-archive" / "members"
    members.mkdir(parents=True)
    subprocess.run(["ar", "x", str(LIBZ_A), *LIBZ_MEMBERS], cwd=members, check=True,
                   capture_output=True)
    libz_a = work / "system-archive" / "libz-some.a"
    subprocess.run(["ar", "rcsD", str(libz_a), *LIBZ_MEMBERS], cwd=members, check=True,
                   capture_output=True)
    (nonshared,) = _seated(work / "system-archive", [LIB64 / "libc_nonshared.a"])
    inputs, _, options = _gcc_link_line(elf64, False, [libz_a])
    inputs.insert(inputs.index("-lc") + 1, nonshared)
    add("system-archive", inputs, [libz_a, nonshared], options)
    return targets
