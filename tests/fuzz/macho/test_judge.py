"""The Mach-O judge passes a right output and catches broken ones: the sample model linked
by linkharness, then its entry's call displacement or exit mask corrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.macho import judge, pipeline
from fuzz.macho.subset import macho_subset
from fuzz.macho.tbd import write_tbds
from fuzz.model import Program
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome

ENTRY_TAIL = b"\x89\xc7\x81\xe7\xff\x00\x00\x00"  # movl %eax,%edi; andl $255,%edi


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Program, Path, list[Path]]:
    work = tmp_path_factory.mktemp("judge")
    program = macho_subset(SAMPLE)
    objs = pipeline.write_objects(program, work / "objs", 7)
    exe = work / "sample.out"
    pipeline.link_linkharness(objs, write_tbds(work, program.libraries), exe)
    return program, exe, objs


def _mutant(exe: Path, old: bytes, new: bytes) -> Path:
    data = exe.read_bytes()
    assert data.count(old) == 1
    out = exe.with_name(exe.name + ".mutant")
    out.write_bytes(data.replace(old, new))
    return out


def test_the_right_output_passes(linked: tuple[Program, Path, list[Path]]) -> None:
    program, exe, objs = linked
    assert judge.everything(exe, objs, program, outcome(program)) == []


def test_a_wrong_exit_mask_is_caught(linked: tuple[Program, Path, list[Path]]) -> None:
    program, exe, _ = linked
    expected = outcome(program)
    assert expected.status != 0  # so that masking it with 0 shows
    bad = _mutant(exe, ENTRY_TAIL, ENTRY_TAIL[:4] + b"\x00" + ENTRY_TAIL[5:])
    problems = judge.emulated(bad, expected, "now")
    assert any("exit" in p for p in problems), problems


def test_a_wrong_call_displacement_is_caught(linked: tuple[Program, Path, list[Path]]) -> None:
    program, exe, objs = linked
    data = exe.read_bytes()
    at = data.index(ENTRY_TAIL) - 5  # call lh_main just before
    assert data[at] == 0xE8
    old = data[at - 4:at + 5 + len(ENTRY_TAIL)]
    bad = _mutant(exe, old, old[:5] + bytes(4) + old[9:])
    problems = judge.everything(bad, objs, program, outcome(program))
    assert any("relocation field" in p for p in problems), problems
    assert any("emulated (lazy)" in p for p in problems), problems
