"""Inputs of more than SHN_LORESERVE sections: a symbol's st_shndx is SHN_XINDEX and its
section index lives in the SHT_SYMTAB_SHNDX section (gcc -ffunction-sections on a large unit
writes such objects).  The field oracle must read the index from there and judge the
relocations against such a symbol like any other."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle.relocs import check_fields_report

SECTIONS = 65_300  # past SHN_LORESERVE (0xff00): the last ones need SHN_XINDEX


@pytest.fixture(scope="module")
def many_sections(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("xindex")
    lines = [".globl _start", ".text", "_start:", "lea high(%rip), %rax",
             "mov high(%rip), %edi", "mov $60, %eax", "syscall"]
    for i in range(SECTIONS):
        lines.append(f'.section .data.s{i},"aw"')
        if i == SECTIONS - 1:
            lines += [".globl high", "high:"]
        lines.append(f".long {i & 0xFF}")
    (work / "many.s").write_text("\n".join(lines) + "\n")
    obj, exe = work / "many.o", work / "many"
    subprocess.run(["as", "--64", "-o", str(obj), str(work / "many.s")], check=True)
    link([str(obj)], str(exe))
    return obj, exe


def test_the_object_really_uses_shn_xindex(many_sections: tuple[Path, Path]) -> None:
    obj, _ = many_sections
    symbols = subprocess.run(["readelf", "-sW", str(obj)], capture_output=True, text=True,
                             check=True).stdout
    (line,) = [s for s in symbols.splitlines() if s.endswith(" high")]
    assert int(line.split()[6]) > 0xFF00  # readelf resolved it through SHT_SYMTAB_SHNDX


def test_relocations_against_a_symbol_past_shn_loreserve_are_judged(
        many_sections: tuple[Path, Path]) -> None:
    obj, exe = many_sections
    report = check_fields_report(str(exe), [str(obj)])
    assert report.mismatches == ()
    assert report.checked == 2


def test_a_wrong_field_against_it_is_caught(many_sections: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    obj, exe = many_sections
    data = bytearray(exe.read_bytes())
    at = data.find(bytes.fromhex("488d05")) + 3  # lea high(%rip): its displacement
    data[at] ^= 0x10
    bad = tmp_path / "bad"
    bad.write_bytes(data)
    report = check_fields_report(str(bad), [str(obj)])
    assert [m.kind for m in report.mismatches] == ["value"]
    assert "high" in str(report.mismatches[0])


def test_shn_xindex_without_its_table_makes_the_input_unreadable(
        many_sections: tuple[Path, Path], tmp_path: Path) -> None:
    obj, exe = many_sections
    data = bytearray(obj.read_bytes())
    # retype SHT_SYMTAB_SHNDX (18) as SHT_PROGBITS: the extended indices are gone
    shoff = int.from_bytes(data[0x28:0x30], "little")
    count = int.from_bytes(data[shoff + 0x20:shoff + 0x28], "little")  # e_shnum in sh_size
    for i in range(count):
        at = shoff + 64 * i + 4
        if int.from_bytes(data[at:at + 4], "little") == 18:
            data[at:at + 4] = (1).to_bytes(4, "little")
    broken = tmp_path / "broken.o"
    broken.write_bytes(data)
    report = check_fields_report(str(exe), [str(broken)])
    assert [m.kind for m in report.mismatches] == ["unreadable"]
    text = str(report.mismatches[0])
    assert "broken.o" in text and "no SHT_SYMTAB_SHNDX entry" in text
