"""From a program model to i386 files: its ELF32 objects (our writer, or the assembly text
through `as --32`) and the links the i386 properties make (linkharness with
`target="elf32-i386"`, the reference linkers with `-m elf_i386`)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from linker import link
from oracle.reference import ReferenceResult, link_reference

from . import subject
from .assemble_i386 import lowered_images_i386
from .emit_asm import write_asm
from .emit_elf32 import write_elf32
from .encode_i386 import assembly
from .lower_i386 import THUNKS, I386Choices, lower_i386
from .model import Program
from .pipeline import LinkOptions

DYNAMIC_LINKER_I386 = "/lib/ld-linux.so.2"
TARGET = "elf32-i386"
NO_CHOICES = I386Choices()
DEFAULT_OPTIONS = LinkOptions()


def write_objects_i386(program: Program, directory: Path, use_as: bool = False,
                       choices: I386Choices = NO_CHOICES) -> list[Path]:
    """The program's i386 objects in `directory`: ours, or GNU as's from the same text."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for obj, image in lowered_images_i386(program, choices):
        path = directory / f"{obj.name}.o"
        if use_as:
            src = directory / f"{obj.name}.s"
            src.write_text(write_asm(obj, assembly, frozenset(THUNKS)))
            # --gdwarf-5: debug sections too, with R_386_32 relocations (see pipeline.py)
            subprocess.run(["as", "--32", "--gdwarf-5", "-o", str(path), str(src)], check=True,
                           capture_output=True)
        else:
            path.write_bytes(write_elf32(image, frozenset(THUNKS)))
        paths.append(path)
    return paths


def asm_text_i386(program: Program, choices: I386Choices = NO_CHOICES) -> str:
    """Every object as `as --32` text, one after the other (a corpus case's case.s)."""
    return "\n".join(f"# ---- {obj.name}.o\n{write_asm(obj, assembly, frozenset(THUNKS))}"
                     for obj in lower_i386(program, choices))


def link_linkharness_i386(objects: Sequence[Path], libs: Sequence[str], output: Path,
                          options: LinkOptions = DEFAULT_OPTIONS) -> None:
    """Link with linkharness for elf32-i386, or the chosen subject (fuzz/subject.py;
    raises LinkError)."""
    if subject.active():
        return subject.link_elf(options.ordered(objects), libs, output, m32=True,
                                entry="_start", dynamic_linker=DYNAMIC_LINKER_I386,
                                bind_now=options.bind_now)
    link([*map(str, options.ordered(objects)), *libs], output, target=TARGET, entry="_start",
         dynamic_linker=DYNAMIC_LINKER_I386, bind_now=options.bind_now,
         hash_style=options.hash_style, ibt_plt=options.ibt_plt,
         emit_relocs=options.emit_relocs)


def link_with_i386(linker: str, objects: Sequence[Path], libs: Sequence[str],
                   output: Path) -> ReferenceResult:
    return link_reference(linker, [str(o) for o in objects], str(output), libs=libs, m32=True)
