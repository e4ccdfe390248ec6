"""The harness's own power: a correct output of the sample program passes every check of
property (a); each deliberately broken copy of it (fuzz.mutants) must fail at least one."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz import judge
from fuzz.mutants import MUTANTS
from fuzz.pipeline import libraries, link_with, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory, libtrace_dir: Path
           ) -> tuple[Path, list[Path]]:
    """The sample linked by GNU ld: a correct output to break (independent of the linker
    under test, so this measures the harness alone)."""
    work = tmp_path_factory.mktemp("power")
    objs = write_objects(SAMPLE, work)
    exe = work / "good.out"
    result = link_with("bfd", objs, libraries(SAMPLE, libtrace_dir), exe)
    assert result.ok, result.stderr
    return exe, objs


def test_the_unbroken_output_passes(linked: tuple[Path, list[Path]], libtrace_dir: Path) -> None:
    exe, objs = linked
    assert judge.everything(exe, objs, outcome(SAMPLE), libtrace_dir) == []


def test_every_mutant_is_caught(linked: tuple[Path, list[Path]], libtrace_dir: Path,
                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exe, objs = linked
    expected = outcome(SAMPLE)
    survivors = []
    for name, mutate in MUTANTS.items():
        data = bytearray(exe.read_bytes())
        mutate(data)
        assert data != exe.read_bytes(), f"{name} changed nothing"
        bad = tmp_path / name
        bad.write_bytes(data)
        bad.chmod(0o755)
        problems = judge.everything(bad, objs, expected, libtrace_dir)
        if not problems:
            survivors.append(name)
        with capsys.disabled():
            print(f"\n  {name}: {problems[0][:110] if problems else 'SURVIVED'}", end="")
    with capsys.disabled():
        print(f"\n  harness power: {len(MUTANTS) - len(survivors)}/{len(MUTANTS)} mutants caught")
    assert survivors == []
