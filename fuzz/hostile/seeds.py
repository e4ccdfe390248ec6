"""The valid inputs the hostile campaigns mutate, made by the project's own generators.

Link targets (a link whose one input, `inputs[mutable]`, is replaced by a mutation):
- elf64-object: the sample program's x86-64 ET_REL objects (fuzz/emit_elf.py) + libtrace .so;
- elf32-object: the i386 sample's ELF32 objects (fuzz/emit_elf32.py) + the i386 libtrace;
- macho64-object / macho32-object: the Mach-O samples' MH_OBJECTs (fuzz/macho) + .tbd stubs;
- archive: the x86-64 objects but the first packed in an `ar` archive (with its index);
- shared-object: libtrace1.so itself (fuzz/libtrace.py, built by gcc);
- tbd: libtrace1.tbd (fuzz/macho/tbd.py), linked with the Mach-O x86-64 objects;
- script: a GNU ld script `GROUP ( libtrace1.so ... )` naming the libraries.
Executable targets (the linked output, mutated, fed to oracle.check/check_fields/run):
- elf64-exe, elf32-exe, macho64-exe, macho32-exe.
The targets of the surfaces added later (dylib inputs, -r, version scripts, Mach-O TLV and
DWARF objects; `.so`s, PIEs and dylibs run by the emulator) are in fuzz/hostile/seeds_new.py;
those whose inputs real compilers and libraries made (gcc-object, gcc32-object,
clang-macho-object, clang-macho32-object, system-so, system-archive) in seeds_real.py.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzz.libtrace import build_libraries
from fuzz.macho import pipeline as macho_pipeline
from fuzz.macho import pipeline_i386 as macho_pipeline_i386
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.tbd import write_tbds
from fuzz.pipeline import DYNAMIC_LINKER, write_objects
from fuzz.pipeline_i386 import DYNAMIC_LINKER_I386, write_objects_i386
from fuzz.samples import SAMPLE
from fuzz.samples_i386 import SAMPLE_I386, SAMPLE_I386_CHOICES
from linker import link

from .mutate import Seed
from .seeds_more import more_exe_targets
from .seeds_new import LIBRARY, build_modules, new_link_targets, version_script_target
from .seeds_real import real_exe_targets, real_link_targets

LIBSYSTEM_TBD = macho_pipeline.LIBSYSTEM_TBD


@dataclass
class LinkTarget:
    """A valid link: `inputs` in order, `options` for linker.link; `mutable` indexes the
    inputs a mutation replaces."""

    name: str
    inputs: list[Path]
    mutable: list[int]
    options: dict[str, Any]
    seeds: list[Seed] = field(default_factory=list)
    # inputs passed through a list-valued option rather than as a file operand
    # (index -> option name, e.g. "version_scripts")
    as_option: dict[int, str] = field(default_factory=dict)
    # compiler-made inputs (seeds_real): mutations aim inside their contents too, and
    # splice from every seed; the other targets' draws stay as they were without them
    deep: bool = False

    def __post_init__(self) -> None:
        self.seeds = [Seed.of(self.inputs[i].name, self.inputs[i].read_bytes(), self.deep)
                      for i in self.mutable]


@dataclass
class ExeTarget:
    """A linked executable (the seed) with the inputs it was linked from.  With `host`,
    `exe` is a shared library or dylib that the unmutated executable `host` loads: the
    mutation replaces the library (found first on the library path), `host` is run."""

    name: str
    exe: Path
    objects: list[Path]
    library_path: list[Path]
    host: Path | None = None
    deep: bool = False  # made from compiler-made objects (seeds_real), as LinkTarget.deep
    seed: Seed = field(init=False)

    def __post_init__(self) -> None:
        self.seed = Seed.of(self.exe.name, self.exe.read_bytes(), self.deep)


@dataclass
class Targets:
    links: dict[str, LinkTarget]
    exes: dict[str, ExeTarget]

    def all_seeds(self, deep: bool = False) -> list[Seed]:
        """The donors of splices: without `deep`, those of the project's generators only
        (in the order they always had, so a target's case n draws what it always drew)."""
        seeds = [s for t in self.links.values() if not t.deep for s in t.seeds]
        seeds += [t.seed for t in self.exes.values() if not t.deep]
        if deep:
            seeds += [s for t in self.links.values() if t.deep for s in t.seeds]
            seeds += [t.seed for t in self.exes.values() if t.deep]
        return seeds


def _ar(archive: Path, members: list[Path]) -> Path:
    subprocess.run(["ar", "rcs", str(archive), *map(str, members)], check=True,
                   capture_output=True)
    return archive


def build_targets(work: Path) -> Targets:
    """Write every seed under `work` and link the executables (a few seconds)."""
    lib64 = build_libraries(work / "lib64")
    lib32 = build_libraries(work / "lib32", m32=True)
    libs64 = [lib64[n] for n in SAMPLE.libraries]
    libs32 = [lib32[n] for n in SAMPLE_I386.libraries]
    elf64 = write_objects(SAMPLE, work / "elf64")
    elf32 = write_objects_i386(SAMPLE_I386, work / "elf32", choices=SAMPLE_I386_CHOICES)
    macho64 = macho_pipeline.write_objects(MACHO_SAMPLE, work / "macho64", 0)
    stubs64 = write_tbds(work / "stubs64", MACHO_SAMPLE.libraries)
    macho32 = macho_pipeline_i386.write_objects(MACHO_I386_SAMPLE, work / "macho32", 0)
    stubs32 = write_tbds(work / "stubs32", MACHO_I386_SAMPLE.libraries)
    elf64_options: dict[str, Any] = {"entry": "_start", "dynamic_linker": DYNAMIC_LINKER}
    elf32_options: dict[str, Any] = {"entry": "_start", "dynamic_linker": DYNAMIC_LINKER_I386,
                                     "target": "elf32-i386"}
    macho64_options: dict[str, Any] = {"entry": macho_pipeline.ENTRY, "target": "macho-x86_64"}
    macho32_options: dict[str, Any] = {"entry": macho_pipeline_i386.ENTRY,
                                       "target": "macho-i386"}
    archive = _ar(work / "libsample.a", elf64[1:])
    script = work / "libgroup.so"
    script.write_text("/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\n"
                      f"GROUP ( {libs64[0]} AS_NEEDED ( {' '.join(map(str, libs64[1:]))} ) )\n")
    macho64_inputs = [*macho64, *stubs64, LIBSYSTEM_TBD]
    macho32_inputs = [*macho32, *stubs32, LIBSYSTEM_TBD]
    links = {
        "elf64-object": LinkTarget("elf64-object", [*elf64, *libs64],
                                   list(range(len(elf64))), elf64_options),
        "elf32-object": LinkTarget("elf32-object", [*elf32, *libs32],
                                   list(range(len(elf32))), elf32_options),
        "macho64-object": LinkTarget("macho64-object", macho64_inputs,
                                     list(range(len(macho64))), macho64_options),
        "macho32-object": LinkTarget("macho32-object", macho32_inputs,
                                     list(range(len(macho32))), macho32_options),
        "archive": LinkTarget("archive", [elf64[0], archive, *libs64], [1], elf64_options),
        "shared-object": LinkTarget("shared-object", [*elf64, *libs64],
                                    [len(elf64)], elf64_options),
        "tbd": LinkTarget("tbd", macho64_inputs, [len(macho64)], macho64_options),
        "script": LinkTarget("script", [*elf64, script], [len(elf64)], elf64_options),
    }
    exes: dict[str, ExeTarget] = {}
    for name, target, lib_dir in [("elf64-exe", links["elf64-object"], work / "lib64"),
                                  ("elf32-exe", links["elf32-object"], work / "lib32"),
                                  ("macho64-exe", links["macho64-object"], None),
                                  ("macho32-exe", links["macho32-object"], None)]:
        exe = work / "exe" / name
        exe.parent.mkdir(exist_ok=True)
        link(target.inputs, exe, **target.options)
        objects = [target.inputs[i] for i in target.mutable]
        exes[name] = ExeTarget(name, exe, objects, [] if lib_dir is None else [lib_dir])
    new_links, dylib_objects = new_link_targets(work / "new", LinkTarget)
    links.update(new_links)
    for bits, m32 in (("64", False), ("32", True)):
        pie, pie_objects, lib, lib_objects = build_modules(work / f"modules{bits}", m32)
        seat = pie.parent
        exes[f"elf{bits}-pie"] = ExeTarget(f"elf{bits}-pie", pie, pie_objects, [seat])
        exes[f"elf{bits}-so"] = ExeTarget(f"elf{bits}-so", lib, lib_objects, [seat], host=pie)
        if not m32:
            links["version-script"] = version_script_target(work / "modules64", lib_objects,
                                                             seat, m32, LinkTarget)
    for bits in ("64", "32"):
        lib_dir = work / "new" / f"split{bits}" / "lib"
        exes[f"macho{bits}-dylib"] = ExeTarget(f"macho{bits}-dylib", lib_dir / LIBRARY,
                                               dylib_objects[bits], [], host=lib_dir / "main")
    links.update(real_link_targets(work / "real", LinkTarget))
    exes.update(real_exe_targets(work / "real", ExeTarget))
    exes.update(more_exe_targets(work / "real", ExeTarget))
    return Targets(links, exes)
