"""GOT relaxation's two routes give the same rewrite: every candidate at once
(`_relax_all`, the usual one) and one section at a time in row order (`_relax_section`,
taken when two candidates' bytes meet).  Random instruction bytes around random fields,
both bitnesses' addressing rules, candidates in any row order."""

from __future__ import annotations

import numpy as np
import pytest

from linker.elf import got_relax
from linker.elf.read import _EMPTY_SYMBOLS
from linker.model import (
    RELOC_DTYPE,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
)

# opcode and ModRM pairs that each rule takes, and some it leaves alone
_PAIRS = [(0x8B, 0x05), (0x8B, 0x1D), (0xFF, 0x15), (0xFF, 0x25), (0x8B, 0x83),
          (0xFF, 0x93), (0xFF, 0xA3), (0xFF, 0x94), (0x8B, 0x04), (0x03, 0x05), (0xFF, 0x35)]


def _section(rng: np.random.Generator, fields: int) -> tuple[InputSection, list[int]]:
    """A section with `fields` 4-byte fields, each after an opcode and ModRM from _PAIRS,
    at least 6 bytes apart (so no two candidates' bytes meet), rows in shuffled order."""
    code = bytearray(rng.integers(0, 256, 8 + 9 * fields, dtype=np.uint8).tobytes())
    offsets = []
    at = 2 + int(rng.integers(0, 3))
    for _ in range(fields):
        opcode, modrm = _PAIRS[int(rng.integers(0, len(_PAIRS)))]
        code[at - 2], code[at - 1] = opcode, modrm
        offsets.append(at)
        at += 6 + int(rng.integers(0, 3))
    rng.shuffle(offsets)
    rows = np.zeros(fields, dtype=RELOC_DTYPE)
    rows["offset"] = offsets
    rows["howto"] = rng.integers(0, 4, fields)
    rows["addend"] = rng.integers(-8, 8, fields)
    obj = ObjectFile("t.o", "x86_64", [], _EMPTY_SYMBOLS, ())
    sec = InputSection(obj, 1, ".text", SectionFlags.ALLOC | SectionFlags.EXEC,
                       SectionRole.NORMAL, 1, len(code), bytes(code), RelocTable(rows))
    return sec, offsets


def _copy(sec: InputSection) -> InputSection:
    return InputSection(sec.file, sec.index, sec.name, sec.flags, sec.role, sec.align,
                        sec.size, sec.data, RelocTable(sec.relocs.rows.copy()))


@pytest.mark.parametrize("seed", range(6))
def test_all_at_once_is_one_at_a_time(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sections = [_section(rng, int(rng.integers(1, 12))) for _ in range(8)]
    pc_relative = [bool(rng.integers(0, 2)) for _ in sections]
    direct = [rng.integers(4, 8, len(offsets)) for _sec, offsets in sections]
    branch = [rng.integers(8, 12, len(offsets)) for _sec, offsets in sections]
    one = [_copy(sec) for sec, _o in sections]
    for sec, (_s, offsets), rel, d, b in zip(one, sections, pc_relative, direct, branch):
        got_relax._relax_section(rel, sec, list(range(len(offsets))), offsets, d.tolist(),
                                 b.tolist())
    every = [_copy(sec) for sec, _o in sections]
    counts = [len(offsets) for _sec, offsets in sections]
    groups = np.cumsum([0, *counts]).tolist()
    got_relax._relax_all(every, groups, pc_relative,
                         np.concatenate([np.arange(n) for n in counts]),
                         np.concatenate([np.array(o) for _s, o in sections]),
                         np.concatenate(direct), np.concatenate(branch))
    for a, c in zip(one, every):
        assert a.data == c.data
        assert a.relocs.rows.tobytes() == c.relocs.rows.tobytes()
    # the draw rewrites: loads, calls and jumps (whose field moves) alike
    assert any(a.data != sec.data for a, (sec, _o) in zip(one, sections))
    moved = [sec.relocs.rows["offset"] - a.relocs.rows["offset"]
             for a, (sec, _o) in zip(one, sections)]
    assert any((m == 1).any() for m in moved)


def test_meeting_windows_are_seen() -> None:
    section_of = np.array([0, 0, 1, 1], dtype=np.int64)
    assert not got_relax._windows_overlap(section_of, np.array([2, 8, 2, 8]))
    assert got_relax._windows_overlap(section_of, np.array([2, 7, 2, 8]))
    assert got_relax._windows_overlap(section_of, np.array([9, 4, 2, 8]))  # row order
    assert not got_relax._windows_overlap(section_of, np.array([9, 2, 2, 8]))
