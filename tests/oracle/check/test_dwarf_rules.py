"""The DWARF rules: silent on every reference linker's -g output (GNU ld, gold, lld, mold;
DWARF 4 and 5; 64- and 32-bit; C and C++ with a discarded COMDAT copy) and on
linkharness's, and each one fires on the damage it names."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle.check import check

LINKERS = ("bfd", "gold", "lld", "mold", "linkharness")
F_C = "int g = 42;\nint f(int x) {\n    int y = x * 2 + g;\n    return y;\n}\n"
M_C = "int f(int);\nint main(void) { return f(3) - 48; }\n"
T_H = "inline int twice(int v) { return v * 2; }\n"
A_CC = '#include "t.h"\nint a(int v) { return twice(v) + 1; }\n'
B_CC = '#include "t.h"\nint a(int);\nint main() { return a(1) + twice(2) - 7; }\n'
# A cheap test and a costly rest: gcc -O2 inlines the test into each caller and keeps the
# rest out of line as check.part.0, whose DIE names check as its abstract origin; the
# pointer keeps an out-of-line check of its own too (as zlib's deflateStateCheck has).
SPLIT_C = r"""#include <stdio.h>
struct stream { int avail; int status; unsigned char table[64]; };
static int check(struct stream *s) {
    if (s == NULL)
        return 1;
    unsigned sum = 0;
    for (int i = 0; i < 64; i++)
        sum = sum * 31 + s->table[i] * (unsigned)(i + s->status);
    if (sum % 7 == 3 || s->status == 42 || s->avail > 1000)
        return 1;
    printf("checked %u\n", sum);
    return 0;
}
int use1(struct stream *s) { return check(s) ? -2 : s->avail; }
int use2(struct stream *s) { if (check(s)) return -2; s->avail++; return 0; }
int use3(struct stream *s) { if (check(s)) return -2; s->avail--; return 0; }
int (*volatile checker)(struct stream *) = check;
int main(int argc, char **argv) {
    struct stream s = {argc, 1, {0}};
    (void)argv;
    return use1(&s) + use2(&s) + use3(&s) + checker(&s);
}
"""
BUILDS = {
    "c-dwarf5": ("gcc", ("-g",), ("f.c", "m.c")),
    "c-dwarf4-m32": ("gcc", ("-gdwarf-4", "-m32"), ("f.c", "m.c")),
    "c-clang": ("clang-14", ("-g",), ("f.c", "m.c")),
    "cxx-comdat-dwarf4": ("g++", ("-gdwarf-4", "-O1"), ("a.cc", "b.cc")),
    "cxx-comdat-dwarf5": ("g++", ("-g",), ("a.cc", "b.cc")),
    "c-partial-inlining": ("gcc", ("-g", "-O2"), ("split.c",)),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory,
            ld_flags: Callable[[str], list[str]]) -> dict[tuple[str, str], Path]:
    tmp = tmp_path_factory.mktemp("dwarf")
    for name, text in (("f.c", F_C), ("m.c", M_C), ("t.h", T_H), ("a.cc", A_CC),
                       ("b.cc", B_CC), ("split.c", SPLIT_C)):
        (tmp / name).write_text(text)
    built = {}
    for build, (cc, flags, sources) in BUILDS.items():
        d = tmp / build
        d.mkdir()
        objs = []
        for src in sources:
            obj = d / (src.rsplit(".", 1)[0] + ".o")
            subprocess.run([cc, *flags, "-fno-pie", "-c", str(tmp / src), "-o", str(obj)],
                           check=True, cwd=tmp)
            objs.append(str(obj))
        m32 = ["-m32"] if "-m32" in flags else []
        for linker in LINKERS:
            out = d / linker
            subprocess.run([cc, *m32, "-no-pie", *ld_flags(linker), *objs, "-o", str(out)],
                           check=True, capture_output=True)
            built[(build, linker)] = out
    return built


def _dwarf_findings(data: bytes) -> list[str]:
    return [f"{v.rule} {v.where}: {v.what}" for v in check(data) if v.rule.startswith("DWARF")]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("build", sorted(BUILDS))
def test_silent_on_real_outputs(outputs: dict[tuple[str, str], Path], build: str,
                                linker: str) -> None:
    assert _dwarf_findings(outputs[(build, linker)].read_bytes()) == []


def _section(data: bytes, name: str) -> tuple[int, int]:
    import io
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(name)
    assert sec is not None
    return int(sec["sh_offset"]), int(sec["sh_size"])


def _low_pc_of(data: bytes, name: str) -> int:
    """File offset of the DW_AT_low_pc value of subprogram `name`."""
    import io
    elf = ELFFile(io.BytesIO(data))
    info_offset = _section(data, ".debug_info")[0]
    for cu in elf.get_dwarf_info().iter_CUs():
        for die in cu.iter_DIEs():
            if die.tag == "DW_TAG_subprogram" and "DW_AT_low_pc" in die.attributes \
                    and die.attributes.get("DW_AT_name") is not None \
                    and die.attributes["DW_AT_name"].value == name.encode():
                return info_offset + int(die.attributes["DW_AT_low_pc"].offset)
    raise AssertionError(name)


def test_low_pc_off_its_symbol(outputs: dict[tuple[str, str], Path]) -> None:
    data = bytearray(outputs[("c-dwarf5", "linkharness")].read_bytes())
    at = _low_pc_of(bytes(data), "f")
    (low,) = struct.unpack_from("<Q", data, at)
    struct.pack_into("<Q", data, at, low + 4)
    found = _dwarf_findings(bytes(data))
    assert any(f.startswith("DWARF-SUBPROGRAM-LOW-PC") and "(f)" in f for f in found), found


def test_arange_outside_code(outputs: dict[tuple[str, str], Path]) -> None:
    data = bytearray(outputs[("c-dwarf5", "linkharness")].read_bytes())
    offset, _ = _section(bytes(data), ".debug_aranges")
    struct.pack_into("<Q", data, offset + 16, 0x10)  # first unit's first begin address
    found = _dwarf_findings(bytes(data))
    assert any(f.startswith("DWARF-ARANGES-IN-CODE") for f in found), found


def test_line_sequence_outside_code(outputs: dict[tuple[str, str], Path]) -> None:
    data = bytearray(outputs[("c-dwarf5", "linkharness")].read_bytes())
    offset, size = _section(bytes(data), ".debug_line")
    at = bytes(data[offset:offset + size]).index(b"\x00\x09\x02")  # DW_LNE_set_address
    struct.pack_into("<Q", data, offset + at + 3, 0x10)
    found = _dwarf_findings(bytes(data))
    assert any(f.startswith("DWARF-LINE-ROWS") for f in found), found


def test_unreadable_abbreviation_offset(outputs: dict[tuple[str, str], Path]) -> None:
    """A unit whose debug_abbrev_offset missed its input's place in .debug_abbrev."""
    data = bytearray(outputs[("c-dwarf4-m32", "linkharness")].read_bytes())
    offset, _ = _section(bytes(data), ".debug_info")
    (length,) = struct.unpack_from("<I", data, offset)
    second = offset + 4 + length  # DWARF 4 header: length, version, abbrev offset, ...
    struct.pack_into("<I", data, second + 6, 0)
    found = _dwarf_findings(bytes(data))
    assert found, "a second unit read with the first unit's abbreviations went unnoticed"


def test_a_weak_copy_that_lost_keeps_its_own_subprogram(tmp_path: Path) -> None:
    """A weak function overridden by a longer-lived strong one of another size keeps its
    code and its DIE: GNU ld's low_pc names the loser's unnamed code. Not a violation; a
    low_pc moved into a named function still is."""
    (tmp_path / "a.c").write_text(
        "volatile int sink;\n__attribute__((weak)) int f(int x) { for (int i = 0; i < x; i++)"
        " { sink += i * 3; sink ^= i; sink -= x; } return sink; }\n"
        "int main(void) { return f(3) & 0; }\n")
    (tmp_path / "b.c").write_text("int f(int x) { return x; }\n")
    for src in ("a.c", "b.c"):
        subprocess.run(["gcc", "-g", "-O0", "-c", src], cwd=tmp_path, check=True)
    subprocess.run(["gcc", "-no-pie", "a.o", "b.o", "-o", "ref"], cwd=tmp_path, check=True)
    assert [v for v in check(str(tmp_path / "ref")) if v.rule.startswith("DWARF")] == []
