"""From a Mach-O subset model to linked Mach-O executables: our objects (the drawn
`variant` decides the assembler's free choices), the libtrace stubs, and the links
(linkharness modern or classic through `linker.link`; ld64.lld-14 as the reference).
Every executable's entry is `_start`, which calls `_lh_main` and exits through the Darwin
exit system call, so no libSystem function is needed (libSystem.tbd is still given: it
provides dyld_stub_binder for lazy binding)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from linker import link

from .. import subject
from ..libtrace import fnv1a64
from ..model import Program, Store, walk_steps
from .assemble import Choices, MachoImage, assemble
from .dwarf import DebugForm, debug_form, with_debug_info
from .emit_asm import write_asm
from .emit_macho import write_macho
from .judge_tables import table_flags
from .lower import START, MachoLowerer

LIBSYSTEM_TBD = Path(__file__).parents[2] / "linker" / "macho" / "data" / "libSystem.tbd"
ENTRY = "_" + START
# -g: llvm-mc describes the assembly in DWARF (for the objects whose code is in __text)
LLVM_MC = ["llvm-mc-14", "-triple=x86_64-apple-macosx10.9", "-filetype=obj", "-g"]
LLD = ["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0"]


def _pick(variant: int, *key: object) -> int:
    """A drawn decision about `key`, fixed by the example's `variant`."""
    return fnv1a64(repr((variant, key)).encode()) & 0xFFFF


def choices(variant: int, owner: int) -> Choices:
    return Choices(
        non_extern=lambda name: _pick(variant, owner, "ne", name) % 2 == 0,
        private_extern=lambda name: name != START and _pick(variant, "pext", name) % 4 == 0,
        weak_ref=lambda name: _pick(variant, owner, "wr", name) % 4 == 0,
    )


def store_forms(program: Program, variant: int) -> dict[tuple[str, int], int]:
    """For every stored-to field: 0 (plain SIGNED store) or n (SIGNED_n zeroing first)."""
    forms: dict[tuple[str, int], int] = {}
    for obj in program.objects:
        for fn in obj.functions:
            for step in walk_steps(fn.steps):
                if isinstance(step, Store):
                    key = (step.item, step.index)
                    forms[key] = (0, 1, 2, 4)[_pick(variant, "store", key) % 4]
    return forms


def debug_info_form(variant: int, owner: int) -> DebugForm | None:
    """The DWARF our writer gives object `owner` (fuzz/macho/dwarf.py), or None for the
    quarter of the objects drawn without any (no unit in the debug map)."""
    pick = _pick(variant, owner, "dwarf")
    return None if pick % 4 == 3 else debug_form(pick // 4)


_LAST: list[tuple[Program, int, tuple[tuple[str, MachoImage], ...]]] = []


def object_images(program: Program, variant: int) -> tuple[tuple[str, MachoImage], ...]:
    """(object name, assembled MH_OBJECT image) of every object.  The last program's are
    kept (by identity, the program held): the coverage labels (fuzz/coverage.py) and the
    object writer both need them."""
    if _LAST and _LAST[0][0] is program and _LAST[0][1] == variant:
        return _LAST[0][2]
    lowerer = MachoLowerer(program, store_forms(program, variant))
    built = []
    for i in range(len(program.objects)):
        obj = lowerer.object(i)
        built.append((obj.name, assemble(obj, choices(variant, i))))
    _LAST[:] = [(program, variant, tuple(built))]
    return _LAST[0][2]


def write_objects(program: Program, directory: Path, variant: int) -> list[Path]:
    """The program's MH_OBJECT files in `directory` (o0.o ...)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, image) in enumerate(object_images(program, variant)):
        path = directory / f"{name}.o"
        form = debug_info_form(variant, i)
        if form is not None:
            image = with_debug_info(image, str(directory.resolve()), f"{name}.s", form)
        path.write_bytes(write_macho(image))
        paths.append(path)
    return paths


def write_asm_objects(program: Program, directory: Path, variant: int) -> list[Path]:
    """The same objects as `write_objects`, from assembly text through llvm-mc-14."""
    directory.mkdir(parents=True, exist_ok=True)
    lowerer = MachoLowerer(program, store_forms(program, variant))
    paths = []
    for i in range(len(program.objects)):
        obj = lowerer.object(i)
        src = directory / f"{obj.name}.s"
        src.write_text(write_asm(obj, choices(variant, i)))
        path = directory / f"{obj.name}.o"
        subprocess.run([*LLVM_MC, str(src), "-o", str(path)], check=True, capture_output=True)
        paths.append(path)
    return paths


def link_linkharness(objects: Sequence[Path], stubs: Sequence[Path], output: Path,
                     classic: bool = False, chained: bool | None = None,
                     tables: str = "full", map_file: Path | None = None,
                     text_map: Path | None = None) -> None:
    """Link with linkharness, or the chosen subject (fuzz/subject.py; raises LinkError).
    `chained`: -fixup_chains (True) or -no_fixup_chains (False); None, the default for
    the deployment target (10.9: opcodes).  `tables`: judge_tables.TABLE_MODES (-s, -x);
    `map_file`: --map, `text_map`: -Map."""
    if subject.active():
        return subject.link_macho([*objects, *stubs, LIBSYSTEM_TBD], output, entry=ENTRY)
    strip, discard = table_flags(tables)
    link([*map(str, objects), *map(str, stubs), str(LIBSYSTEM_TBD)], output,
         target="macho-x86_64", entry=ENTRY, macho_classic=classic, fixup_chains=chained,
         map_file=map_file, text_map=text_map, strip=strip, discard_all=discard)


def link_lld(objects: Sequence[Path], stubs: Sequence[Path], output: Path) -> str:
    """Link with ld64.lld-14; returns its diagnostics ('' when it succeeded)."""
    result = subprocess.run([*LLD, "-e", ENTRY, "-o", str(output), *map(str, objects),
                             *map(str, stubs), str(LIBSYSTEM_TBD)],
                            check=False, capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stderr or f"exit {result.returncode}"
