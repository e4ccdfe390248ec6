"""ELF-REL-RELATIVE-COUNT and ELF-REL-NO-TEXTREL: silent on every reference linker's PIE and
on linkharness's; fire on a count past the RELATIVE relocations, a RELATIVE left out of the
count, and a DT_TEXTREL."""

from __future__ import annotations

import io
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from oracle.check import check

LINKERS = ("bfd", "gold", "lld", "mold", "linkharness")
PROGRAM = r"""
#include <stdio.h>
static const char *names[] = {"a", "b", "c"};
int value = 5;
int *pointer = &value;
int main(void) { printf("%s %d\n", names[1], *pointer); return 0; }
"""
DT_RELACOUNT, DT_TEXTREL = 0x6FFFFFF9, 22
RULES = ("ELF-REL-RELATIVE-COUNT", "ELF-REL-NO-TEXTREL")


@pytest.fixture(scope="module")
def pies(tmp_path_factory: pytest.TempPathFactory,
            ld_flags: Callable[[str], list[str]]) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pie-rules")
    src = tmp / "p.c"
    src.write_text(PROGRAM)
    obj = tmp / "p.o"
    subprocess.run(["gcc", "-fPIE", "-c", "-o", str(obj), str(src)], check=True)
    built = {}
    for linker in LINKERS:
        out = tmp / linker
        subprocess.run(["gcc", "-pie", *ld_flags(linker), str(obj), "-o", str(out)],
                       check=True, capture_output=True)
        built[linker] = out
    return built


def _findings(data: bytes) -> list[str]:
    return [f"{v.rule} {v.where}: {v.what}" for v in check(data) if v.rule in RULES]


def _dynamic_entry(data: bytes, tag: int) -> tuple[int, int] | None:
    """(file offset of the d_val, value) of the first .dynamic entry with `tag`."""
    elf = ELFFile(io.BytesIO(data))
    dyn = next(s for s in elf.iter_sections() if isinstance(s, DynamicSection))
    start = dyn["sh_offset"]
    for at in range(start, start + dyn["sh_size"], 16):
        d_tag, d_val = struct.unpack_from("<qQ", data, at)
        if d_tag == tag:
            return at + 8, d_val
    return None


@pytest.mark.parametrize("linker", LINKERS)
def test_silent_on_every_linkers_pie(pies: dict[str, Path], linker: str) -> None:
    data = pies[linker].read_bytes()
    assert _findings(data) == []


def _with_count(data: bytes, delta: int) -> bytes:
    entry = _dynamic_entry(data, DT_RELACOUNT)
    assert entry is not None
    at, value = entry
    out = bytearray(data)
    struct.pack_into("<Q", out, at, value + delta)
    return bytes(out)


@pytest.mark.parametrize("linker", ["linkharness", "bfd", "lld"])
def test_a_count_past_the_relatives_is_reported(pies: dict[str, Path], linker: str) -> None:
    found = _findings(_with_count(pies[linker].read_bytes(), +1))
    assert any("not RELATIVE" in f or "is past" in f for f in found), found


@pytest.mark.parametrize("linker", ["linkharness", "bfd", "lld"])
def test_a_relative_left_out_of_the_count_is_reported(pies: dict[str, Path],
                                                      linker: str) -> None:
    found = _findings(_with_count(pies[linker].read_bytes(), -1))
    assert any("leaves out 1 RELATIVE" in f for f in found), found


def test_a_textrel_is_reported(pies: dict[str, Path]) -> None:
    data = pies["linkharness"].read_bytes()
    entry = _dynamic_entry(data, 21)  # DT_DEBUG: turned into DT_TEXTREL
    assert entry is not None
    out = bytearray(data)
    struct.pack_into("<Q", out, entry[0] - 8, DT_TEXTREL)
    assert any("DT_TEXTREL" in f for f in _findings(bytes(out)))
