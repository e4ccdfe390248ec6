"""fuzz/debug_judge.py reads outputs with struct; pyelftools, which it replaced for speed, is
the reference here: the same ranges and functions, on ELF64 and ELF32, DWARF aranges plain
and zlib-compressed, and the two claims broken on purpose are reported."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from fuzz.debug_judge import SHF_COMPRESSED, _aranges, _Elf, debug_info

PROGRAM = r"""
__attribute__((noinline)) static int helper(int x) { return x * 3; }
int twice(int x) { return helper(x) + helper(x); }
const char *names[] = {"alpha", "beta", "alpha"};
void _start(void) {
    __asm__ volatile("syscall" :: "a"(60), "D"(twice(7) & 0xff));
    for (;;) {}
}
"""


@pytest.fixture(scope="module", params=["-m64", "-m32", "-m64 zlib"])
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("debug-judge")
    source = where / "p.c"
    source.write_text(PROGRAM)
    units = []  # more compile units: more .debug_aranges sets, and enough for zlib to pay
    for n in range(8):
        units.append(where / f"u{n}.c")
        units[-1].write_text(f"int unit{n}(int x) {{ return x + {n}; }}\n")
    flags = request.param.split()
    extra = ["-Wl,--compress-debug-sections=zlib"] if "zlib" in flags else []
    out = where / ("p-zlib" if extra else "p")
    subprocess.run(["gcc", flags[0], "-g", "-O1", "-fno-pie", "-no-pie", "-nostdlib",
                    "-static", "-o", str(out), str(source), *map(str, units), *extra],
                   check=True)
    return out


def _reference(path: Path) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        aranges = elf.get_dwarf_info(relocate_dwarf_sections=False).get_aranges()
        assert aranges is not None
        ranges = [(e.begin_addr, e.begin_addr + e.length) for e in aranges.entries
                  if e.begin_addr]
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        functions = [(s.name, s["st_value"]) for s in symtab.iter_symbols()
                     if s["st_info"]["type"] == "STT_FUNC" and s["st_size"]
                     and isinstance(s["st_shndx"], int)]
    return ranges, functions


def test_reads_what_pyelftools_reads(linked: Path) -> None:
    elf = _Elf.read(linked.read_bytes())
    aranges = elf.named(".debug_aranges")
    assert aranges is not None
    ranges, functions = _reference(linked)
    assert bool(aranges.flags & SHF_COMPRESSED) == ("zlib" in linked.name)
    assert _aranges(elf.uncompressed(aranges)) == ranges
    assert len(ranges) == 9
    assert list(elf.functions()) == functions
    assert {"twice", "_start"} <= {name for name, _ in functions}
    assert debug_info(linked) == []


@pytest.mark.parametrize("linked", ["-m64", "-m32"], indirect=True)
def test_a_function_outside_every_range_is_reported(linked: Path, tmp_path: Path) -> None:
    data = bytearray(linked.read_bytes())
    elf = _Elf.read(bytes(data))
    aranges = elf.named(".debug_aranges")
    assert aranges is not None and not aranges.flags & SHF_COMPRESSED
    twice = dict(elf.functions())["twice"]
    # the one unit's first tuple (after its 12-byte header, padded to a tuple's size: 16
    # for either address size) moved away from the code
    struct.pack_into("<QQ" if elf.wide else "<II", data, aranges.offset + 16,
                     twice + 0x100000, 1)
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    found = debug_info(bad)
    assert found and "is in no compile unit's .debug_aranges range" in found[0], found


def test_a_string_held_twice_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "s.s"
    source.write_text('.section .rodata.str1.1,"aMS",@progbits,1\n.asciz "x"\n.asciz "y"\n'
                      '.asciz "x"\n.text\n.globl _start\n_start: ret\n')
    obj = tmp_path / "s.o"
    subprocess.run(["as", "--64", "-o", str(obj), str(source)], check=True)
    found = debug_info(obj)
    assert found == ["strings not merged: .rodata.str1.1 holds b'x' 2 times"], found


def test_a_truncated_file_is_a_problem_not_a_traceback(linked: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut"
    cut.write_bytes(linked.read_bytes()[:200])
    found = debug_info(cut)
    assert len(found) == 1 and "unreadable" in found[0], found
