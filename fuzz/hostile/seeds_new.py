"""The hostile targets of the surfaces added after the first campaigns (issue 13, second
round), built from the project's own generators like fuzz.hostile.seeds:

Link targets (one input replaced by its mutation):
- macho64-dylib-input / macho32-dylib-input: a linkharness-made `liblhsplit.dylib` (the dylib
  split of fuzz/macho/dylib_split*.py) linked against by the executable's objects: the
  MH_DYLIB reader (install name, exports trie);
- relocatable: the x86-64 sample's objects through `link(..., relocatable=True)`;
- version-script: a GNU ld version script (text) for `-shared` of the modules sample's
  first library (fuzz/modules_samples.py, compiled by gcc);
- macho64-tlv-object: the Mach-O thread-local sample's objects (fuzz/macho/tlv_writer.py);
- macho64-dwarf-object / macho32-dwarf-object: the Mach-O samples' objects, every one
  carrying `__DWARF` (fuzz/macho/dwarf.py), read by the debug map.
Executable targets (the mutated file fed to oracle.check, check_fields and oracle.run):
- elf64-so / elf32-so: linkharness's `libm1.so` of the modules sample, mutated and loaded
  (as code, at a drawn base) by the unmutated linkharness-made executable;
- elf64-pie / elf32-pie: that executable (a PIE), mutated;
- macho64-dylib / macho32-dylib: the split's dylib, mutated and loaded by the unmutated
  executable under the emulated dyld.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from fuzz.libtrace import build_libraries
from fuzz.macho import pipeline as macho_pipeline
from fuzz.macho import pipeline_i386 as macho_pipeline_i386
from fuzz.macho import tlv as macho_tlv
from fuzz.macho.dwarf import debug_form, with_debug_info, with_debug_info_i386
from fuzz.macho.dylib_split import (
    LIBRARY,
    link_dylib,
    link_executable,
    reach_across,
    sample,
)
from fuzz.macho.dylib_split import write_objects as write_split_objects
from fuzz.macho.dylib_split_i386 import (
    DylibCase386,
    link_dylib_i386,
    link_executable_i386,
    split_i386,
    write_objects_i386,
)
from fuzz.macho.emit_macho import write_macho
from fuzz.macho.emit_macho_i386 import write_macho_i386
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE
from fuzz.macho.tbd import write_tbds
from fuzz.modules_build import BuildOptions
from fuzz.modules_judge import compile_all, link_seat
from fuzz.modules_samples import SAMPLE as MODULES_SAMPLE
from fuzz.pipeline import DYNAMIC_LINKER, write_objects
from fuzz.samples import SAMPLE

LIBSYSTEM_TBD = macho_pipeline.LIBSYSTEM_TBD
VERSION_SCRIPT = """\
/* the modules sample's first library: two version nodes, globs, a local catch-all */
LIBM1_1.0 {
  global: f*; d0;
  local: *;
};
LIBM1_2.0 {
  global: p*; "f3";
} LIBM1_1.0;
"""


def _macho_dwarf_objects(directory: Path, i386: bool) -> list[Path]:
    """The Mach-O sample's objects, each with DWARF (the pipelines give it to most)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    if i386:
        lower = macho_pipeline_i386.lowerer(MACHO_I386_SAMPLE, 0)
        for i in range(len(MACHO_I386_SAMPLE.objects)):
            obj = lower.object(i)
            image32 = macho_pipeline_i386.assemble_i386(obj, macho_pipeline_i386.choices(0, i))
            image32 = with_debug_info_i386(image32, str(directory.resolve()), f"{obj.name}.s",
                                           debug_form(i))
            paths.append(directory / f"{obj.name}.o")
            paths[-1].write_bytes(write_macho_i386(image32))
        return paths
    for i, (name, image) in enumerate(macho_pipeline.object_images(MACHO_SAMPLE, 0)):
        image = with_debug_info(image, str(directory.resolve()), f"{name}.s", debug_form(i))
        paths.append(directory / f"{name}.o")
        paths[-1].write_bytes(write_macho(image))
    return paths


def new_link_targets(work: Path, link_target: Any
                     ) -> tuple[dict[str, Any], dict[str, list[Path]]]:
    """The new link targets (`link_target`: fuzz.hostile.seeds.LinkTarget), and the objects
    of each dylib ("64", "32"), linked as work/split64/lib/{LIBRARY, main} and split32."""
    targets: dict[str, Any] = {}
    # Mach-O x86-64 dylib as an input.
    split_case = sample()
    exe_objs, dylib_objs = write_split_objects(split_case, work / "split64" / "objs")
    stubs = write_tbds(work / "split64" / "stubs", split_case.program.libraries)
    dylib = work / "split64" / "lib" / LIBRARY
    dylib.parent.mkdir(parents=True)
    link_dylib(dylib_objs, stubs, dylib)
    macho64_options = {"entry": macho_pipeline.ENTRY, "target": "macho-x86_64"}
    inputs = [*exe_objs, dylib, *stubs, LIBSYSTEM_TBD]
    targets["macho64-dylib-input"] = link_target(
        "macho64-dylib-input", inputs, [len(exe_objs)], macho64_options)
    # Mach-O i386 dylib as an input (the i386 sample split as the x86-64 one is).
    in_dylib = split_i386(MACHO_I386_SAMPLE, frozenset(range(1, len(MACHO_I386_SAMPLE.objects))))
    case386 = DylibCase386(reach_across(MACHO_I386_SAMPLE, in_dylib), 0, in_dylib)
    exe32, dylib32_objs = write_objects_i386(case386, work / "split32" / "objs")
    stubs32 = write_tbds(work / "split32" / "stubs", case386.program.libraries)
    dylib32 = work / "split32" / "lib" / LIBRARY
    dylib32.parent.mkdir(parents=True)
    link_dylib_i386(dylib32_objs, stubs32, dylib32)
    targets["macho32-dylib-input"] = link_target(
        "macho32-dylib-input", [*exe32, dylib32, *stubs32, LIBSYSTEM_TBD], [len(exe32)],
        {"entry": macho_pipeline_i386.ENTRY, "target": macho_pipeline_i386.TARGET,
         "platform_version": (0x000A0900, 0x000B0000)})
    # The executables, kept for the dylib executable targets.
    for objs, lib, stub, exe_of in ((exe_objs, dylib, stubs, "64"), (exe32, dylib32, stubs32,
                                                                      "32")):
        exe = lib.parent / "main"
        if exe_of == "64":
            link_executable(objs, lib, stub, exe)
        else:
            link_executable_i386(objs, lib, stub, exe)
    # -r of the x86-64 sample's objects.
    elf64 = write_objects(SAMPLE, work / "relocatable")
    targets["relocatable"] = link_target(
        "relocatable", elf64, list(range(len(elf64))), {"relocatable": True})
    # Mach-O thread-local variables (our writer) and DWARF-carrying objects.
    tlv = macho_tlv.write_objects(macho_tlv.sample("x86_64"), work / "tlv64", own_writer=True)
    tlv_stubs = write_tbds(work / "tlv64" / "stubs", (macho_tlv.TRACE_LIBRARY,))
    targets["macho64-tlv-object"] = link_target(
        "macho64-tlv-object", [*tlv, *tlv_stubs, LIBSYSTEM_TBD], list(range(len(tlv))),
        {"entry": "_start", "target": "macho-x86_64"})
    dwarf64 = _macho_dwarf_objects(work / "dwarf64", i386=False)
    targets["macho64-dwarf-object"] = link_target(
        "macho64-dwarf-object",
        [*dwarf64, *write_tbds(work / "dwarf64" / "stubs", MACHO_SAMPLE.libraries),
         LIBSYSTEM_TBD], list(range(len(dwarf64))), macho64_options)
    dwarf32 = _macho_dwarf_objects(work / "dwarf32", i386=True)
    targets["macho32-dwarf-object"] = link_target(
        "macho32-dwarf-object",
        [*dwarf32, *write_tbds(work / "dwarf32" / "stubs", MACHO_I386_SAMPLE.libraries),
         LIBSYSTEM_TBD], list(range(len(dwarf32))),
        {"entry": macho_pipeline_i386.ENTRY, "target": macho_pipeline_i386.TARGET})
    return targets, {"64": dylib_objs, "32": dylib32_objs}


def build_modules(work: Path, m32: bool) -> tuple[Path, list[Path], Path, list[Path]]:
    """The modules sample (thread-locals included) compiled
    by gcc and linked by linkharness in both seats: (the PIE, its objects, libm1.so, its
    objects).  The libraries and libtrace are beside the PIE."""
    options = replace(BuildOptions(), m32=m32)
    objects = compile_all(MODULES_SAMPLE, options, work / "objs")
    seat = work / "seat"
    libtrace = build_libraries(work / "libtrace", m32=m32)
    exe = link_seat(MODULES_SAMPLE, objects, options, ("linkharness", "linkharness"), seat,
                    work / "libtrace")
    for lib in libtrace.values():
        shutil.copy(lib, seat / lib.name)
    return exe, objects[0], seat / "libm1.so", objects[1]


def version_script_target(work: Path, lib_objects: list[Path], seat: Path, m32: bool,
                          link_target: Any) -> Any:
    script = work / "libm1.map"
    script.write_text(VERSION_SCRIPT)
    interpreter = "/lib/ld-linux.so.2" if m32 else DYNAMIC_LINKER
    options: dict[str, Any] = {"shared": True, "soname": "libm1.so", "relro": True,
                               "target": "elf32-i386" if m32 else "elf64-x86-64"}
    inputs = [*lib_objects, seat / "libm2.so", Path(interpreter), script]
    target = link_target("version-script", inputs, [len(inputs) - 1], options)
    target.as_option = {len(inputs) - 1: "version_scripts"}
    return target
