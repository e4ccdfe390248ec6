"""ELF-GNU-PROPERTY (oracle/check/rules/property.py): silent on GNU ld's and linkharness's
outputs carrying a merged property note (both targets, with -z ibt/shstk), and firing on
each way a note can mislead ld.so: PT_GNU_PROPERTY misaligned or not covering the note,
properties out of order, a PT_NOTE stepping by the wrong alignment."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir
from oracle import check

SOURCE = "int main(void) { return 0; }\n"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("prop")
    (d / "p.c").write_text(SOURCE)
    made = {}
    for m32 in (False, True):
        m = ["-m32"] if m32 else []
        for name, extra in (("gnu", []), ("ours", [f"-B{shim_dir()}"])):
            out = d / f"{name}{'32' if m32 else '64'}"
            subprocess.run(["gcc", *m, *extra, "-fcf-protection", str(d / "p.c"), "-o",
                            str(out), "-Wl,-z,shstk"], check=True)
            made[out.name] = out
    return made


def _rules(path: Path) -> set[str]:
    return {v.rule for v in check(str(path))}


def test_silent_on_gnu_ld_and_linkharness(outputs: dict[str, Path]) -> None:
    for path in outputs.values():
        assert "ELF-GNU-PROPERTY" not in _rules(path), path.name


def _phdr(path: Path, p_type: str) -> tuple[int, int]:
    """(file offset of the program header, its entry size)"""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for n, seg in enumerate(elf.iter_segments()):
            if seg["p_type"] == p_type:
                return elf["e_phoff"] + n * elf["e_phentsize"], elf["e_phentsize"]
    raise AssertionError(f"no {p_type}")


def _note_offset(path: Path) -> int:
    with open(path, "rb") as f:
        return ELFFile(f).get_section_by_name(".note.gnu.property")["sh_offset"]


def _misalign(data: bytearray, path: Path) -> None:
    at, size = _phdr(path, "PT_GNU_PROPERTY")
    if size == 56:
        struct.pack_into("<Q", data, at + 48, 4)
    else:
        struct.pack_into("<I", data, at + 28, 8)


def _shorten(data: bytearray, path: Path) -> None:
    at, size = _phdr(path, "PT_GNU_PROPERTY")
    field = at + (32 if size == 56 else 16)
    fmt = "<Q" if size == 56 else "<I"
    struct.pack_into(fmt, data, field, struct.unpack_from(fmt, data, field)[0] - 4)


def _unsort(data: bytearray, path: Path) -> None:
    at = _note_offset(path) + 16  # the first property: after the note header and "GNU\0"
    struct.pack_into("<I", data, at, 0xC0008003)  # past the second property's ISA_1_NEEDED


def _note_align(data: bytearray, path: Path) -> None:
    at, size = _phdr(path, "PT_NOTE")
    if size == 56:
        struct.pack_into("<Q", data, at + 48, 4)


MUTATIONS: dict[str, Callable[[bytearray, Path], None]] = {
    "PT_GNU_PROPERTY p_align": _misalign, "PT_GNU_PROPERTY size": _shorten,
    "unsorted properties": _unsort, "PT_NOTE alignment": _note_align,
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_fires_on_a_misleading_note(mutation: str, outputs: dict[str, Path],
                                    tmp_path: Path) -> None:
    source = outputs["ours64"]
    data = bytearray(source.read_bytes())
    MUTATIONS[mutation](data, source)
    broken = tmp_path / "broken"
    broken.write_bytes(bytes(data))
    assert "ELF-GNU-PROPERTY" in _rules(broken)
