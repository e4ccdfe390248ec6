"""The field oracle judges debug sections too: every relocation of .debug_info, .debug_line,
.debug_aranges, ... recomputed (addresses, offsets into other debug sections, merged
strings by content, TLS offsets), silent on GNU ld, lld, mold and linkharness outputs, and
reporting a unit whose abbreviation offset missed its input's place or a string offset
naming another string."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle.relocs import check_fields
from oracle.relocs.check import check_fields_report

F_C = "__thread int counter = 5;\nint g = 42;\nint f(int x) {\n    int y = x * 2 + g;\n    return y;\n}\n"
M_C = "int f(int);\nint main(void) { return f(3) - 48; }\n"
LINKERS = ("bfd", "lld", "mold", "linkharness")


def _ld(tmp: Path, linker: str) -> list[str]:
    if linker == "linkharness":
        tool = Path(sys.executable).parent / "linkharness"
        return ["-B", subprocess.run([str(tool), "ld-shim"], capture_output=True, text=True,
                                     check=True).stdout.strip()]
    if linker == "lld":
        d = tmp / "lld-bin"
        d.mkdir(exist_ok=True)
        if not (d / "ld").exists():
            (d / "ld").symlink_to("/usr/bin/ld.lld-14")
        return ["-B", str(d)]
    return [f"-fuse-ld={linker}"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, list[str]]]:
    tmp = tmp_path_factory.mktemp("debug-fields")
    (tmp / "f.c").write_text(F_C)
    (tmp / "m.c").write_text(M_C)
    out = {}
    for variant, flags in (("dwarf5", ["-g"]), ("dwarf4-m32", ["-gdwarf-4", "-m32"]),
                           ("gz", ["-g", "-gz"])):
        d = tmp / variant
        d.mkdir()
        objs = [str(d / "f.o"), str(d / "m.o")]
        for src, obj in zip(("f.c", "m.c"), objs):
            subprocess.run(["gcc", *flags, "-O0", "-fno-pie", "-c", str(tmp / src), "-o", obj],
                           check=True)
        m32 = ["-m32"] if "-m32" in flags else []
        for linker in LINKERS:
            exe = d / linker
            subprocess.run(["gcc", *m32, "-no-pie", *_ld(tmp, linker), *objs, "-o", str(exe)],
                           check=True, capture_output=True)
            out[(variant, linker)] = (exe, objs)
    return out


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("variant", ["dwarf5", "dwarf4-m32", "gz"])
def test_debug_fields_confirmed(built: dict[tuple[str, str], tuple[Path, list[str]]],
                                variant: str, linker: str) -> None:
    exe, objs = built[(variant, linker)]
    report = check_fields_report(str(exe), objs)
    assert report.mismatches == ()
    debug = [c for c in report.confirmed if c.section.startswith(".debug")]
    assert len(debug) >= 20
    assert any(c.type_name in ("R_X86_64_DTPOFF32", "R_X86_64_DTPOFF64", "R_386_TLS_LDO_32")
               for c in debug)
    assert any(c.rule == "merged" for c in debug)


def _mutated(exe: Path, tmp: Path, change: Callable[[bytearray], None]) -> str:
    data = bytearray(exe.read_bytes())
    change(data)
    out = tmp / "mutant"
    out.write_bytes(bytes(data))
    return str(out)


def _section_offset(data: bytes, name: str) -> int:
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(name)
    assert sec is not None
    return int(sec["sh_offset"])


def test_abbreviation_offset_that_missed_its_place(
        built: dict[tuple[str, str], tuple[Path, list[str]]], tmp_path: Path) -> None:
    exe, objs = built[("dwarf5", "linkharness")]

    def second_unit_abbrev_at_zero(data: bytearray) -> None:
        info = _section_offset(bytes(data), ".debug_info")
        (length,) = struct.unpack_from("<I", data, info)
        struct.pack_into("<I", data, info + 4 + length + 8, 0)  # DWARF 5: after unit type

    found = check_fields(_mutated(exe, tmp_path, second_unit_abbrev_at_zero), objs)
    assert any(m.section == ".debug_info" and m.symbol == ".debug_abbrev" for m in found), found


def test_string_offset_naming_another_string(
        built: dict[tuple[str, str], tuple[Path, list[str]]], tmp_path: Path) -> None:
    exe, objs = built[("dwarf4-m32", "linkharness")]

    def producer_shifted(data: bytearray) -> None:
        elf = ELFFile(io.BytesIO(bytes(data)))
        info = _section_offset(bytes(data), ".debug_info")
        cu = next(iter(elf.get_dwarf_info().iter_CUs()))
        attr = cu.get_top_DIE().attributes["DW_AT_producer"]
        assert attr.form == "DW_FORM_strp"
        struct.pack_into("<I", data, info + attr.offset, attr.raw_value + 1)

    found = check_fields(_mutated(exe, tmp_path, producer_shifted), objs)
    assert any(m.section == ".debug_info" and "names" in m.detail for m in found), found
