"""The Mach-O checker passes what linkharness and ld64.lld-14 link, goes through the
`check` entry points transparently, and never crashes on garbage."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.check import check
from oracle.check.macho import MACHO_RULES, check_macho
from oracle.emulate import run

BUILDS = [("hello.c", "lh"), ("hello.c", "lld"), ("classic.c", "classic"),
          ("libtrace.c", "lh"), ("libtrace.c", "lld"), ("null.c", "lh"),
          ("kitchen.c", "lh"), ("kitchen.c", "lld"), ("ctors.c", "lh"), ("ctors.c", "lld"),
          ("syscalls.s", "lh"), ("syscalls.s", "lld")]


@pytest.mark.parametrize(("source", "flavour"), BUILDS)
def test_linked_programs_have_no_violations(macho, source: str, flavour: str) -> None:
    assert check(macho(source, flavour)) == []


def test_rules_have_ids_rationales_and_sources() -> None:
    ids = [r.id for r in MACHO_RULES]
    assert len(ids) == len(set(ids)) >= 20
    for r in MACHO_RULES:
        assert r.id.startswith("MACHO-") and r.rationale and r.source


def test_cli_check_takes_macho(macho, tmp_path: Path) -> None:
    good = macho("hello.c", "lh")
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "check", str(good)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    bad = tmp_path / "bad"
    data = bytearray(good.read_bytes())
    data[16:20] = (1000).to_bytes(4, "little")  # ncmds
    bad.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "check", str(bad)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "MACHO-LC-SIZE" in done.stdout


def test_truncated_and_empty_files_give_violations(macho) -> None:
    data = macho("hello.c", "lld").read_bytes()
    for size in (0, 4, 31, 32, 100, 700, 4096, len(data) - 100):
        found = check_macho(data[:size])
        assert found, size
        assert all(v.rule != "CHECK-INTERNAL" for v in found), found


@pytest.mark.parametrize(("source", "flavour"), [("hello.c", "lh"), ("hello.c", "lld"),
                                                 ("classic.c", "classic")])
def test_random_corruption_never_crashes(macho, source: str, flavour: str) -> None:
    """Flip bytes in the header, load commands and link-edit data: the checker reports
    (no CHECK-INTERNAL) and the emulator ends with a result, never an exception."""
    data = macho(source, flavour).read_bytes()
    rng = random.Random(f"{source}{flavour}")
    for trial in range(12):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            where = rng.choice([rng.randrange(0, 1200), rng.randrange(len(data) - 600, len(data))])
            mutated[where] = rng.randrange(256)
        found = check_macho(bytes(mutated))
        assert all(v.rule != "CHECK-INTERNAL" for v in found), (trial, found)
        path = macho(source, flavour).with_suffix(f".fuzz{trial}")
        path.write_bytes(bytes(mutated))
        result = run(path, max_instructions=200_000)
        assert result.exit_code is not None or result.faults
