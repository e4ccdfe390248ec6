"""A SUBTRACTOR pair's non-extern UNSIGNED minuend names its section by r_symbolnum; the field
holds the minuend's object address plus the constant, which may lie in another section.

The fuzzers' shrunk find: a static `lh_w1`, first in __data, holding SelfRel(4, -10); the
field holds __data's object address - 10, inside __text.  linkharness took the minuend as a
place in __text (exit 109, not the model's 21); ld64 (findTargetFromAddressAndSectionNum)
and ld64.lld-14 take __data with offset -10.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.macho import judge, pipeline
from fuzz.macho.tbd import write_tbds
from fuzz.model import (
    AddrVia,
    Binding,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Program,
    Section,
    SectionKind,
    SelfRel,
)
from fuzz.semantics import outcome
from linker.macho.read import read_macho_object

PROGRAM = Program(
    objects=(ObjectModel("o0", (Section(".text", SectionKind.TEXT, 16),
                                Section(".data", SectionKind.DATA, 8)),
                         functions=(Function("lh_main", Binding.GLOBAL, ".text", 16, 1,
                                             (Load("lh_w1", 0, AddrVia.PC_REL),)),),
                         data=(DataItem("lh_w1", Binding.LOCAL, ".data", 4,
                                        (SelfRel(4, -10),)),)),),
    libraries=())
VARIANT = 1  # the writer's choices that make lh_w1's reference non-extern


def _pairs(path: Path) -> list[tuple[str, int, str]]:
    """(minuend symbol, addend, subtrahend symbol) of every SUB row the reader makes."""
    obj = read_macho_object(memoryview(path.read_bytes()), str(path))
    rows = []
    for sec in obj.sections[1:]:
        if sec is None or sec.relocs is None or sec.relocs.subtrahend is None:
            continue
        for row, sub in zip(sec.relocs.rows.tolist(), sec.relocs.subtrahend.tolist()):
            if sub >= 0:
                rows.append((obj.symbols.names[row[2]], row[3], obj.symbols.names[sub]))
    return rows


def test_the_reader_takes_the_named_section(tmp_path: Path) -> None:
    (obj,) = pipeline.write_objects(PROGRAM, tmp_path, VARIANT)
    assert _pairs(obj) == [("<section __DATA,__data>", -10, "_lh.self.lh_w1.0")]


def test_llvm_mc_minuend_before_its_section(macho_asm: Callable[[str, str], Path]) -> None:
    """llvm-mc-14: `.long Lx - _w - 10`, Lx at __other's start, holds Lx's address - 10,
    which lies in __data (16 bytes, just before __other): the minuend is still __other,
    offset -10."""
    obj = macho_asm("""
    .text
    .globl _main
_main: ret
    .data
_w: .long Lx - _w - 10
    .space 12
    .section __DATA,__other
Lx: .long 0
""", "nonextern_pair")
    assert _pairs(obj) == [("<section __DATA,__other>", -10, "_w")]


@pytest.mark.parametrize("classic", [False, True], ids=["modern", "classic"])
def test_links_and_runs_as_the_model_and_lld(tmp_path: Path, classic: bool) -> None:
    objs = pipeline.write_objects(PROGRAM, tmp_path / "o", VARIANT)
    stubs = write_tbds(tmp_path / "s", PROGRAM.libraries)
    expected = outcome(PROGRAM)
    lld = tmp_path / "lld"
    assert pipeline.link_lld(objs, stubs, lld) == ""
    assert judge.emulated_trace(lld, "now")[1] == expected.status
    exe = tmp_path / "out"
    pipeline.link_linkharness(objs, stubs, exe, classic=classic)
    assert judge.everything(exe, objs, PROGRAM, expected) == []
    # the field: (__data - 10) - (the field's own address) = -10
    assert judge.fields(exe, objs) == []
