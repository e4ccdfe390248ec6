"""The hunt: another linker in the subject's seat (fuzz/subject.py, `pytest fuzz --subject`,
`linkharness hunt`), and the triage of what it finds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import subject
from linker import LinkError
from oracle.corpus import default_corpus_dir
from oracle.hunt.cli import main as hunt_main
from oracle.hunt.triage import load_triage, triage_case

REPO = Path(__file__).resolve().parents[3]
GOT32X_CASE = default_corpus_dir() / "asm-i386-got32x-no-base"
NEGATIVE_PC_CASE = default_corpus_dir() / "asm-i386-negative-pc8-pc16"


@pytest.fixture
def seat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test chooses its own subject; the environment is restored afterwards."""
    # set (to "none chosen") rather than deleted, so that monkeypatch removes them again
    monkeypatch.setenv(subject.SUBJECT_ENV, "")
    monkeypatch.setenv(subject.SUBJECT_CMD_ENV, "")


def _objects(case: Path) -> list[Path]:
    return sorted(case.glob("*.o"))


def test_a_reference_linker_and_a_command_take_the_seat(seat: None, tmp_path: Path) -> None:
    assert subject.name() == "linkharness" and not subject.active()
    subject.choose("cmd", "ld.bfd {args}")
    out = tmp_path / "cmd.out"
    subject.link_elf(_objects(GOT32X_CASE)[::-1], [], out, m32=True, entry="_start",
                     dynamic_linker="/lib/ld-linux.so.2", bind_now=False)
    assert subprocess.run([str(out)], check=False).returncode == 0
    assert subject.version() is not None  # what `ld.bfd --version` prints
    subject.choose("mold")
    with pytest.raises(LinkError, match="R_386_PC8 .* out of range"):
        subject.link_elf(_objects(NEGATIVE_PC_CASE), [], tmp_path / "m.out", m32=True,
                         entry="_start", dynamic_linker="/lib/ld-linux.so.2", bind_now=False)
    assert not subject.links_macho()
    with pytest.raises(ValueError, match="unknown subject"):
        subject.choose("ld.mold")


def test_pytest_fuzz_with_mold_as_subject_fails_on_a_mold_bug(seat: None) -> None:
    """The i386 property's sample holds negative REL PC8/PC16 addends: mold refuses them."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
         "fuzz/test_i386.py", "-k", "linkharness_i386_output", "--subject=mold"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "mold refused" in proc.stdout and "R_386_PC8" in proc.stdout


def test_triage_names_who_agrees_and_what_is_involved(tmp_path: Path) -> None:
    case_dir = tmp_path / GOT32X_CASE.name
    shutil.copytree(GOT32X_CASE, case_dir)
    record = triage_case(case_dir, "mold", "1.10.1", "i386", "emulated: fault")
    assert record["disagree_with_model"] == ["mold"]
    assert set(record["agree_with_model"]) == {"linkharness", "bfd", "gold", "lld"}
    assert record["linkers"]["mold"]["status"] == "fail"  # raw: known entries not applied
    assert record["linkers"]["bfd"]["version"] is not None
    assert record["relocation_flavours"] == {"R_386_GOT32X": 1}
    assert record["symbol_kinds"]["global undefined"] == 2  # f and _GLOBAL_OFFSET_TABLE_
    assert record["disassembly"] and "call" in record["disassembly"]
    assert record["reproduce"][0].endswith(f"{case_dir} --linker mold")
    assert load_triage(case_dir) == json.loads((case_dir / "triage.json").read_text())


def test_hunt_writes_a_triaged_case_and_a_campaign(seat: None, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    prop = "fuzz/test_i386.py::test_linkharness_i386_output_is_right_by_every_check"
    code = hunt_main(["--subject", "mold", "--seconds", "1", "--dest", str(tmp_path),
                      "--property", prop])
    assert code == 1, capsys.readouterr()
    [case_dir] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert case_dir.name.startswith("hunt-mold-i386-")
    triage = load_triage(case_dir)
    assert triage is not None and triage["subject_version"]
    assert "mold" in triage["disagree_with_model"] and "bfd" in triage["agree_with_model"]
    assert "R_386_PC8" in triage["relocation_flavours"]
    [record] = tmp_path.glob("hunt-mold-*.json")
    campaign = json.loads(record.read_text())
    assert campaign["cases"] == [case_dir.name] and campaign["properties"] == [prop]
