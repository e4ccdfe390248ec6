"""Files and links for programs with archives (`Program.archives`): the plain objects in
order, then each archive (written with GNU `ar`), the archives inside one
--start-group/--end-group when the program says so, then the libtrace libraries."""

from __future__ import annotations

import subprocess
from pathlib import Path

from linker import link
from oracle.reference import ReferenceResult, link_reference

from .model import Program
from .pipeline import DYNAMIC_LINKER, write_objects


def write_inputs(program: Program, directory: Path) -> tuple[list[Path], list[str]]:
    """(every object file, the link's input list: plain objects, archives, group markers)."""
    objects = write_objects(program, directory)
    members = {i for archive in program.archives for i in archive}
    inputs = [str(o) for i, o in enumerate(objects) if i not in members]
    archives = []
    for k, archive in enumerate(program.archives):
        path = directory / f"libreach{k}.a"
        path.unlink(missing_ok=True)
        subprocess.run(["ar", "rcs", str(path), *(str(objects[i]) for i in archive)],
                       check=True, capture_output=True)
        archives.append(str(path))
    if program.grouped and archives:
        archives = ["--start-group", *archives, "--end-group"]
    return objects, inputs + archives


def linked_object_files(program: Program, objects: list[Path]) -> list[Path]:
    """The objects a correct link takes (what the field oracle must find in the output)."""
    from .semantics import linked_objects
    taken = linked_objects(program)
    return [o for i, o in enumerate(objects) if i in taken]


def link_linkharness(inputs: list[str], libs: list[str], output: Path, bind_now: bool = False
                     ) -> None:
    link([*inputs, *libs], output, entry="_start", dynamic_linker=DYNAMIC_LINKER,
         bind_now=bind_now)


def link_reference_linker(linker: str, inputs: list[str], libs: list[str], output: Path
                          ) -> ReferenceResult:
    return link_reference(linker, inputs, str(output), libs=libs)
