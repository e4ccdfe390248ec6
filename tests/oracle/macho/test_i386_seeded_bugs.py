"""The i386 Mach-O oracle's power: seed one plausible bug at a time into the linker's
macho-i386 path (a monkeypatch of a linker internal), link the test sources, and require
the oracle (checker, field oracle, emulated dyld lazily and at load) to report it.

Each judge is the oracle's own; no reference linker exists for Mach-O i386 here.  The
programs are small and fixed (macho_i386_sources), so the whole table runs in seconds.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from macho_i386_sources import EXT, FORMS, HELLO

from linker import link
from linker.arch import MACHO_STUB_TEMPLATES
from linker.macho import crt, read_generic, relocs_i386
from linker.model import RelocTable
from oracle.check.macho import check_macho
from oracle.emulate import run
from oracle.macho_relocs import check_macho_fields

TRIPLE = "i386-apple-macosx10.6"
INCLUDE = Path(__file__).parents[2] / "macho_include"
Mutant = Callable[[pytest.MonkeyPatch], None]
MUTANTS: dict[str, Mutant] = {}


def mutant(name: str) -> Callable[[Mutant], Mutant]:
    def register(fn: Mutant) -> Mutant:
        MUTANTS[name] = fn
        return fn
    return register


def _rows(mp: pytest.MonkeyPatch, keys: list[tuple[int, int, int]],
          change: Callable[[Any], None]) -> None:
    """Rewrite the rows of the given (type, pcrel, length) howtos as the reader makes them."""
    original = read_generic.relocations
    howtos = [relocs_i386.HOWTO_INDEX[k] for k in keys]

    def relocations(*args: Any) -> RelocTable:
        table = original(*args)
        rows = table.rows.copy()
        for howto in howtos:
            selected = rows["howto"] == howto
            sub = rows[selected]
            change(sub)
            rows[selected] = sub
        return RelocTable(rows, table.subtrahend)
    mp.setattr(read_generic, "relocations", relocations)


@mutant("pc-relative VANILLA addend off by one")
def _pcrel_addend(mp: pytest.MonkeyPatch) -> None:
    def bump(rows: Any) -> None:
        rows["addend"] += 1
    _rows(mp, [(relocs_i386.VANILLA, 1, 2)], bump)


@mutant("SECTDIFF/LOCAL_SECTDIFF addend off by four")
def _sectdiff_addend(mp: pytest.MonkeyPatch) -> None:
    def shift(rows: Any) -> None:
        rows["addend"] -= 4
    _rows(mp, [(relocs_i386.SECTDIFF, 0, 2), (relocs_i386.LOCAL_SECTDIFF, 0, 2)], shift)


@mutant("absolute VANILLA drops its offset (symbol + offset -> symbol)")
def _absolute_offset(mp: pytest.MonkeyPatch) -> None:
    def drop(rows: Any) -> None:
        rows["addend"] = 0
    _rows(mp, [(relocs_i386.VANILLA, 0, 2)], drop)


def _stubs(mp: pytest.MonkeyPatch, **changes: Any) -> None:
    mp.setitem(MACHO_STUB_TEMPLATES, "i386",
               dataclasses.replace(MACHO_STUB_TEMPLATES["i386"], **changes))


@mutant("stub jumps through the next pointer")
def _stub_slot(mp: pytest.MonkeyPatch) -> None:
    field = MACHO_STUB_TEMPLATES["i386"].stub_field
    _stubs(mp, stub_field=dataclasses.replace(field, addend=field.addend + 4))


@mutant("common stub helper jumps through the wrong pointer")
def _binder_slot(mp: pytest.MonkeyPatch) -> None:
    private, binder = MACHO_STUB_TEMPLATES["i386"].header_fields
    _stubs(mp, header_fields=(private, dataclasses.replace(binder, addend=binder.addend + 4)))


@mutant("helper entry jumps one byte into the common helper")
def _helper_jump(mp: pytest.MonkeyPatch) -> None:
    (jump,) = MACHO_STUB_TEMPLATES["i386"].entry_fields
    _stubs(mp, entry_fields=(dataclasses.replace(jump, addend=jump.addend + 1),))


@mutant("start leaves the stack 4 bytes off 16 at its calls")
def _start_alignment(mp: pytest.MonkeyPatch) -> None:
    code, *rest = crt.STARTS["i386"]  # (code, call fields, ...): the code comes first
    assert code[7:10] == bytes.fromhex("83ec10")  # subl $16, %esp
    mp.setitem(crt.STARTS, "i386", (code[:9] + b"\x0c" + code[10:], *rest))


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("i386seeded")
    made = {}
    for name, text in (("forms", FORMS), ("ext", EXT)):
        (out / f"{name}.s").write_text(text)
        made[name] = out / f"{name}.o"
        subprocess.run(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(out / f"{name}.s"),
                        "-o", str(made[name])], check=True, capture_output=True)
    (out / "hello.c").write_text(HELLO)
    made["hello"] = out / "hello.o"
    subprocess.run(["clang-14", f"--target={TRIPLE}", "-nostdlibinc", "-isystem", str(INCLUDE),
                    "-O1", "-w", "-c", str(out / "hello.c"), "-o", str(made["hello"])],
                   check=True, capture_output=True)
    return made


def _findings(objects: dict[str, Path], out: Path) -> list[str]:
    """What the oracle reports about the links of forms and hello, modern and classic."""
    found: list[str] = []
    for classic in (False, True):
        mode = "classic" if classic else "modern"
        for program, inputs in (("forms", [objects["forms"], objects["ext"]]),
                                ("hello", [objects["hello"]])):
            exe = out / f"{program}.{mode}"
            link([*map(str, inputs), "-lSystem"], exe, target="macho-i386",
                 macho_classic=classic)
            found += [f"{program}.{mode} check {v.rule}" for v in check_macho(exe.read_bytes())]
            report = check_macho_fields(exe, inputs)
            found += [f"{program}.{mode} fields {m.kind}" for m in report.mismatches]
            if program == "hello":
                for bind in ("lazy", "now"):
                    result = run(exe, [str(exe), "x"], bind=bind)
                    if result.faults or result.exit_code != 7 \
                            or result.stdout != b"hello 3 alpha\nx\nbye\n":
                        kinds = [f.kind for f in result.faults] or [f"exit {result.exit_code}"]
                        found.append(f"{program}.{mode} run {bind} {kinds}")
    return found


def test_unmutated_linker_is_clean(objects: dict[str, Path], tmp_path: Path) -> None:
    assert _findings(objects, tmp_path) == []


@pytest.mark.parametrize("name", MUTANTS)
def test_seeded_bug_is_caught(objects: dict[str, Path], tmp_path: Path, name: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    MUTANTS[name](monkeypatch)
    assert _findings(objects, tmp_path), f"{name}: not caught by check, fields or run"


def test_the_start_mutant_is_a_misaligned_call(objects: dict[str, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What catches the start mutant is the Darwin i386 alignment check, at the first
    libSystem call of the program (main's own frame keeps the offset it was handed)."""
    _start_alignment(monkeypatch)
    exe = tmp_path / "hello.classic"
    link([str(objects["hello"]), "-lSystem"], exe, target="macho-i386", macho_classic=True)
    [fault] = run(exe, [str(exe)]).faults
    assert fault.kind == "misaligned-stack" and "atexit" in fault.message
