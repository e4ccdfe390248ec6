"""Real shared libraries (not emulated ones): finding the file for a DT_NEEDED name and
mapping it at a base address, as ld.so's _dl_map_object does.

The search path: the directories given to run(), the executable's own directory, the
needing object's DT_RUNPATH (or DT_RPATH; $ORIGIN expanded), then LD_LIBRARY_PATH from the
guest's environment.  System directories are not searched: their libraries (libc, libm)
are emulated, and the rest would need a far larger emulated libc.
"""

from __future__ import annotations

import os
from pathlib import Path

from oracle.emulate import elfimage
from oracle.emulate.dynamic import Dynamic
from oracle.emulate.layout import aligned_base
from oracle.emulate.loader import LoadError, map_image, read_capped
from oracle.emulate.machine import Machine
from oracle.emulate.memory import page_down
from oracle.emulate.scope import LoadedObject
from oracle.emulate.symbols import AddressSpaceSymbols, Symbolizer
from oracle.emulate.thread import PT_TLS, StaticTls

DT_RPATH, DT_RUNPATH = 15, 29


def search_dirs(needing: LoadedObject, given: list[Path], env: list[bytes]) -> list[Path]:
    dirs = list(given)
    origin = str(Path(needing.path).parent)
    for tag in (DT_RUNPATH, DT_RPATH):
        if tag in needing.dyn.tags:
            text = needing.dyn.string(needing.dyn.tags[tag])
            dirs += [Path(d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
                     for d in text.split(":") if d]
            break
    for item in env:
        if item.startswith(b"LD_LIBRARY_PATH="):
            dirs += [Path(os.fsdecode(d)) for d in item.split(b"=", 1)[1].split(b":") if d]
    return dirs


def find_library(soname: str, dirs: list[Path]) -> Path | None:
    if "/" in soname:
        return Path(soname) if Path(soname).is_file() else None
    return next((d / soname for d in dirs if (d / soname).is_file()), None)


def load_library(machine: Machine, path: Path, base: int, soname: str,
                 tls: StaticTls | None) -> LoadedObject:
    """Map the library at `base`, read its _DYNAMIC (relocation comes later) and give its
    PT_TLS a block in the static TLS area."""
    data = read_capped(path, machine.limits.memory_cap)
    image = elfimage.parse(data)
    if image.elfclass != 8 * machine.abi.word:
        raise LoadError(f"{path}: wrong ELF class for this executable")
    if image.e_type != elfimage.ET_DYN:
        raise LoadError(f"{path}: not a shared object")
    base = aligned_base(base, [s.align for s in image.loads()])
    bias = base - page_down(min(s.vaddr for s in image.loads()))
    end = map_image(machine.mem, image, bias, machine.limits.memory_cap)
    dyn_seg = image.first(elfimage.PT_DYNAMIC)
    if dyn_seg is None:
        raise LoadError(f"{path}: no PT_DYNAMIC")
    dyn = Dynamic(machine.mem, machine.abi.word, dyn_seg.vaddr + bias, dyn_seg.memsz, bias)
    relro = image.first(elfimage.PT_GNU_RELRO)
    obj = LoadedObject(soname, str(path), dyn, base, end, is_executable=False,
                       relro=None if relro is None else (relro.vaddr + bias, relro.memsz))
    obj.data = data
    segment = image.first(PT_TLS)
    if segment is not None and segment.memsz and tls is not None:
        obj.tls_module, obj.tls_offset = tls.add(
            machine, data[segment.offset : segment.offset + segment.filesz], segment.memsz,
            segment.align)
    if isinstance(machine.symbolizer, AddressSpaceSymbols):
        machine.symbolizer.add_library(base, end, soname, Symbolizer(data, bias))
    return obj
