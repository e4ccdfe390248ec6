"""A universal file whose slice starts at offset 0 is its own slice: the checker checked
the fat file again as that slice, and again, until RecursionError (found by the semantic
campaign on a universal bundle Apple's ld64 made, seed 3, apple-bundle cases 3702, 3728
and 5327: a fat_arch offset set to 0).  Here the same file is made from the project's own
Mach-O executable, so that the test needs no download; every judge must keep its rules."""

from __future__ import annotations

import struct
from pathlib import Path

from fuzz.hostile.rules import check_rules, fields_rules, run_rules
from fuzz.hostile.seeds import Targets
from oracle.check import check

CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL = 0x01000007, 3


def test_a_slice_at_offset_zero_is_checked_once(targets: Targets, tmp_path: Path) -> None:
    thin = targets.exes["macho64-exe"].exe.read_bytes()
    body = thin.rjust(0x1000 + len(thin), b"\0")  # the real slice at 0x1000
    header = struct.pack(">II", 0xCAFEBABE, 2) + struct.pack(
        ">iiIII", CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL, 0, len(body), 12) + struct.pack(
        ">iiIII", CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL, 0x1000, len(thin), 12)
    fat = tmp_path / "fat"
    fat.write_bytes(header + body[len(header):])
    rules = {v.rule for v in check(fat)}
    assert "MACHO-FAT-RANGE" in rules and "MACHO-FAT-SLICE-CPU" in rules
    assert check_rules(fat) == []
    assert fields_rules(fat, targets.exes["macho64-exe"].objects) == []
    assert run_rules(fat, []) == []
