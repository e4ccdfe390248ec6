"""Files, links and runs for fuzz.features cases: the objects packaged as the case says
(plain, archives, a thin or index-less archive, a GNU ld script's INPUT or GROUP), linked by
linkharness or by a reference linker, and run natively."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from linker import link
from oracle.native import run_native
from oracle.reference import ReferenceResult, link_reference

from .features import FeatureCase
from .features_asm import object_texts
from .gnu_as import gnu_assemble
from .pipeline import DYNAMIC_LINKER

TRACE_LIBRARY = "libtrace1.so"


@dataclass(frozen=True)
class Inputs:
    objects: list[Path]  # every object (what the field oracle reads)
    linkharness: list[str]  # the link's inputs, packaged as the case says
    reference: list[str]  # the same for GNU ld (which refuses archives without an index)


def _ar(flags: str, archive: Path, members: list[Path]) -> str:
    """`ar` run in the archive's directory: a thin archive names its members relative to
    itself, as it does when a build makes it (the linker must not read them from its own
    working directory)."""
    archive.unlink(missing_ok=True)
    subprocess.run(["ar", flags, archive.name, *(os.path.relpath(m, archive.parent)
                                                  for m in members)],
                   check=True, capture_output=True, cwd=archive.parent)
    return str(archive)


def write_inputs(case: FeatureCase, directory: Path) -> Inputs:
    directory.mkdir(parents=True, exist_ok=True)
    objects = [gnu_assemble(text, directory / f"o{n}.s")
               for n, text in enumerate(object_texts(case))]
    head, rest = [str(objects[0])], objects[1:]
    packaged: list[str]
    reference: list[str] | None = None
    if case.packaging == "objects":
        packaged = list(map(str, rest))
    elif case.packaging in ("archive", "thin", "no_index"):
        flags = {"archive": "rcs", "thin": "rcsT", "no_index": "rcS"}[case.packaging]
        packaged = [_ar(flags, directory / "libfeat.a", rest)]
        if case.packaging == "no_index":
            reference = [_ar("rcs", directory / "libfeat-indexed.a", rest)]
    elif case.packaging == "script_input":
        script = directory / "inputs.ld"
        script.write_text(f"INPUT ( {' '.join(map(str, rest))} )\n")
        packaged = [str(script)]
    else:  # script_group: one archive per object, each member needing the one before it
        archives = [_ar("rcs", directory / f"libfeat{n}.a", [o]) for n, o in enumerate(rest, 1)]
        script = directory / "group.ld"
        script.write_text(f"/* GNU ld script */\nGROUP ( {' '.join(archives)} )\n")
        packaged = [str(script)]
    return Inputs(objects, head + packaged, head + (reference or packaged))


def libraries(case: FeatureCase, lib_dir: Path) -> list[str]:
    return [str(lib_dir / TRACE_LIBRARY)] if case.dynamic else []


def link_linkharness(case: FeatureCase, inputs: Inputs, lib_dir: Path, output: Path) -> None:
    link([*inputs.linkharness, *libraries(case, lib_dir)], output, entry="_start",
         dynamic_linker=DYNAMIC_LINKER if case.dynamic else None, relro=case.relro,
         export_dynamic=case.export_dynamic, eh_frame_hdr=case.eh_frame_hdr)


def link_gnu_ld(case: FeatureCase, inputs: Inputs, lib_dir: Path, output: Path
                ) -> ReferenceResult:
    extra = ["-z", "relro" if case.relro else "norelro"]
    if case.export_dynamic:
        extra.append("--export-dynamic")
    if case.eh_frame_hdr:  # and no FDE of GNU ld's own for its PLT: the count is the model's
        extra += ["--eh-frame-hdr", "--no-ld-generated-unwind-info"]
    return link_reference("bfd", inputs.reference, str(output),
                          libs=libraries(case, lib_dir), extra=extra)


def run_status(exe: Path, lib_dir: Path, bind_now: bool, lenient: bool = False) -> int:
    """The program's exit status natively: 0, or 1 + the number of the first failed check;
    `lenient` (for GNU ld's output) forgives IFUNC address equality (fuzz.features_asm)."""
    env = {"PATH": os.environ.get("PATH", ""), "LD_LIBRARY_PATH": str(lib_dir)}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    return run_native(str(exe), ["lenient"] if lenient else [], env=env, timeout=20).exit_code


def exported_hidden(case: FeatureCase, exe: Path) -> list[str]:
    """Hidden names that the output exports (.dynsym) or keeps global in .symtab."""
    problems = []
    names = set(case.hidden_names())
    with open(exe, "rb") as f:
        elf = ELFFile(f)
        for table in (".dynsym", ".symtab"):
            section = elf.get_section_by_name(table)
            if not isinstance(section, SymbolTableSection):
                continue
            for sym in section.iter_symbols():
                if sym.name not in names or sym["st_shndx"] == "SHN_UNDEF":
                    continue
                if table == ".dynsym":
                    problems.append(f"hidden {sym.name} exported in .dynsym")
                elif sym["st_info"]["bind"] != "STB_LOCAL":
                    problems.append(f"hidden {sym.name} is {sym['st_info']['bind']} in .symtab")
    return problems


def field_problems(exe: Path, objects: list[Path]) -> list[str]:
    """The field oracle's findings.  (A .ctors input folded reversed into .init_array is
    placed by the oracle from its own pointer values.)"""
    from . import judge
    return judge.fields(exe, objects)