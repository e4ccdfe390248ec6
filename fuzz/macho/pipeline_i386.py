"""From a Mach-O i386 subset model to linked i386 Mach-O executables: our objects (the drawn
`variant` decides the assembler's free choices), or llvm-mc-14's from the same text, and
the links linkharness makes with `target="macho-i386"` in its three shapes:

- "modern-10.6": dyld info, minimum OS 10.6, so the entry is LC_UNIXTHREAD;
- "modern-10.9": dyld info and LC_MAIN;
- "classic": the seed's form (`__symbol_stub1`, indirect table, LC_UNIXTHREAD).

There is no reference linker (ld64.lld-14 refuses -arch i386): the judges are the oracle and
the cross-format property.  The entry is `_start`, which calls `_lh_main` and exits through
`int $0x80`; libSystem.tbd is given for dyld_stub_binder."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from linker import link

from ..libtrace import fnv1a64
from ..model import Program
from .assemble_i386 import CALL_FORMS, REF_FORMS, SELF_FORMS, Choices32, assemble_i386
from .dwarf import with_debug_info_i386
from .emit_asm_i386 import write_asm_i386
from .emit_macho_i386 import write_macho_i386
from .judge_tables import table_flags
from .lower_i386 import START, MachoLowerer386
from .pipeline import LIBSYSTEM_TBD, debug_info_form

ENTRY = "_" + START
TARGET = "macho-i386"
LLVM_MC = ["llvm-mc-14", "-triple=i386-apple-macosx10.6", "-filetype=obj", "-g"]
MODES: dict[str, tuple[bool, tuple[int, int]]] = {  # name -> (classic, platform_version)
    "modern-10.6": (False, (0x000A0600, 0x000A0600)),
    "modern-10.9": (False, (0x000A0900, 0x000B0000)),
    "classic": (True, (0x000A0600, 0x000A0600)),
}
_COUNT = {"ref": len(REF_FORMS), "call": len(CALL_FORMS), "self": len(SELF_FORMS)}


def _pick(variant: int, *key: object) -> int:
    return fnv1a64(repr((variant, key)).encode()) & 0xFFFF


def choices(variant: int, owner: int) -> Choices32:
    return Choices32(
        form=lambda kind, key: _pick(variant, owner, kind, key) % _COUNT[kind],
        private_extern=lambda name: name != START and _pick(variant, "pext", name) % 4 == 0,
        weak_ref=lambda name: _pick(variant, owner, "wr", name) % 4 == 0,
        jump_table=lambda name: _pick(variant, owner, "jt", name) % 3 == 0,
    )


def exits_through_libsystem(variant: int) -> bool:
    """Half the variants exit by calling libSystem's _exit (a stub, the alignment check)."""
    return _pick(variant, "exit") % 2 == 1


def lowerer(program: Program, variant: int) -> MachoLowerer386:
    return MachoLowerer386(program, exit_call=exits_through_libsystem(variant))


def write_objects(program: Program, directory: Path, variant: int) -> list[Path]:
    """The program's i386 MH_OBJECT files in `directory` (o0.o ...), written by us."""
    directory.mkdir(parents=True, exist_ok=True)
    lower = lowerer(program, variant)
    paths = []
    for i in range(len(program.objects)):
        obj = lower.object(i)
        path = directory / f"{obj.name}.o"
        image = assemble_i386(obj, choices(variant, i))
        form = debug_info_form(variant, i)
        if form is not None:  # the DWARF our writer gives it (fuzz/macho/dwarf.py)
            image = with_debug_info_i386(image, str(directory.resolve()), f"{obj.name}.s",
                                         form)
        path.write_bytes(write_macho_i386(image))
        paths.append(path)
    return paths


def asm_text(program: Program, variant: int, owner: int) -> str:
    return write_asm_i386(lowerer(program, variant).object(owner), choices(variant, owner))


def write_asm_objects(program: Program, directory: Path, variant: int) -> list[Path]:
    """The same objects from assembly text through llvm-mc-14."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, obj in enumerate(program.objects):
        src = directory / f"{obj.name}.s"
        src.write_text(asm_text(program, variant, i))
        path = directory / f"{obj.name}.o"
        subprocess.run([*LLVM_MC, str(src), "-o", str(path)], check=True, capture_output=True)
        paths.append(path)
    return paths


def link_linkharness(objects: Sequence[Path], stubs: Sequence[Path], output: Path,
                     mode: str = "modern-10.9", tables: str = "full",
                     map_file: Path | None = None, text_map: Path | None = None) -> None:
    """Link with linkharness for macho-i386 in `mode` (raises LinkError); `tables`:
    judge_tables.TABLE_MODES (-s, -x), `map_file`: --map, `text_map`: -Map."""
    classic, version = MODES[mode]
    strip, discard = table_flags(tables)
    link([*map(str, objects), *map(str, stubs), str(LIBSYSTEM_TBD)], output, target=TARGET,
         entry=ENTRY, macho_classic=classic, platform_version=version, map_file=map_file,
         text_map=text_map, strip=strip, discard_all=discard)
