"""A run never raises for a malformed or misbehaving guest: every corruption of the file
headers, program headers and dynamic section becomes a RunResult (usually with a fault)."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle import run

Builder = Callable[..., Path]


def interesting_ranges(path: Path) -> list[tuple[int, int]]:
    """File ranges the loader reads: ELF header, program headers, .dynamic, .rela/.rel."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        ranges = [(0, elf["e_ehsize"]),
                  (elf["e_phoff"], elf["e_phoff"] + elf["e_phnum"] * elf["e_phentsize"])]
        for section in elf.iter_sections():
            if section.name in (".dynamic", ".rela.plt", ".rel.plt", ".rela.dyn", ".rel.dyn",
                                ".got.plt", ".plt", ".dynsym", ".gnu.version_r"):
                ranges.append((section["sh_offset"], section["sh_offset"] + section["sh_size"]))
    return ranges


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_corrupted_binaries_never_raise(build: Builder, tmp_path: Path, arch: str) -> None:
    path = build("hello.c", arch)
    original = path.read_bytes()
    ranges = interesting_ranges(path)
    rng = random.Random(1234)
    outcomes = set()
    for trial in range(60):
        data = bytearray(original)
        start, end = ranges[trial % len(ranges)]
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(start, end)] = rng.randrange(256)
        broken = tmp_path / f"broken{trial}"
        broken.write_bytes(bytes(data))
        result = run(broken, max_instructions=100_000, timeout=5)
        assert result.exit_code is not None or result.faults
        outcomes.add("ok" if result.exit_code == 5 and not result.faults else "fault")
    assert "fault" in outcomes


def test_corrupted_shared_libraries_never_raise(tmp_path: Path) -> None:
    source = Path(__file__).parent / "programs" / "shared"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libdemo.so", "-o",
                    str(tmp_path / "good.so"), str(source / "lib.c")], check=True)
    subprocess.run(["gcc", "-no-pie", "-fno-pie", "-o", str(tmp_path / "main"),
                    str(source / "main.c"), "-L", str(tmp_path), "-l:good.so",
                    "-Wl,--allow-shlib-undefined"], check=True)
    # the executable needs "libdemo.so" (the soname); each trial writes a broken one
    original = (tmp_path / "good.so").read_bytes()
    rng = random.Random(99)
    kinds = set()
    for _ in range(40):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(0, min(len(data), 0x3000))] = rng.randrange(256)
        (tmp_path / "libdemo.so").write_bytes(bytes(data))
        result = run(tmp_path / "main", max_instructions=300_000, timeout=5)
        assert result.exit_code is not None or result.faults
        kinds.add(result.faults[0].kind if result.faults else "exit")
    assert "exit" in kinds and len(kinds) > 1
