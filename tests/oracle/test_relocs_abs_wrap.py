"""An absolute symbol at or above 2**63 (`.set x, -0x8000`): S + A is a 64-bit word.

GNU ld and lld link `.short x` (the field holds `00 80`) and refuse `.long x`
(R_X86_64_32: 0xffffffffffff8000 is no unsigned 32-bit value) and `.byte x`.  The field
oracle must agree with both on both outputs, and linkharness must link the first and
refuse the second as they do.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle.reference import link_reference
from oracle.relocs import check_fields, check_fields_report
from oracle.relocs.expect import wrap

DEFINE = ".globl x\n.set x, -0x8000\n.globl _start\n_start: ret\n"
FITS = ".data\n.short x\n.quad x\n"  # R_X86_64_16, R_X86_64_64
OVERFLOWS = ".data\n.short x\n.long x\n.byte x\n"  # 16 fits; 32 (unsigned) and 8 do not


def _objects(tmp_path: Path, use: str) -> list[str]:
    paths = []
    for name, text in (("def", DEFINE), ("use", use)):
        (tmp_path / f"{name}.s").write_text(text)
        obj = tmp_path / f"{name}.o"
        subprocess.run(["as", "--64", "-o", str(obj), str(tmp_path / f"{name}.s")],
                       check=True)
        paths.append(str(obj))
    return paths


def test_wrap_reads_words_as_two_complement() -> None:
    assert wrap(0xFFFFFFFFFFFF8000, 8) == -0x8000
    assert wrap(0xFFFF8000, 4) == -0x8000
    assert wrap(1 << 64, 8) == 0
    assert wrap(0x7FFFFFFFFFFFFFFF, 8) == 0x7FFFFFFFFFFFFFFF


@pytest.mark.parametrize("linker", ["bfd", "lld"])
def test_reference_outputs_have_no_mismatch(tmp_path: Path, linker: str) -> None:
    objects = _objects(tmp_path, FITS)
    out = str(tmp_path / "out")
    result = link_reference(linker, objects, out)
    assert result.ok, result.stderr
    report = check_fields_report(out, objects)
    assert not report.mismatches, [m.detail for m in report.mismatches]
    assert len(report.confirmed) == 2


def test_linkharness_links_it_as_gnu_ld_does(tmp_path: Path) -> None:
    objects = _objects(tmp_path, FITS)
    ours, ref = tmp_path / "ours", str(tmp_path / "ref")
    link(objects, ours, entry="_start")
    assert link_reference("bfd", objects, ref).ok
    from elftools.elf.elffile import ELFFile

    def data(path: str) -> bytes:
        with open(path, "rb") as f:
            sec = ELFFile(f).get_section_by_name(".data")
            assert sec is not None
            return sec.data()
    assert data(str(ours)) == data(ref) == b"\x00\x80" + b"\x00\x80" + b"\xff" * 6
    assert check_fields(str(ours), objects) == []


def test_fields_that_cannot_hold_it_are_still_overflows(tmp_path: Path) -> None:
    objects = _objects(tmp_path, OVERFLOWS)
    out = str(tmp_path / "out")
    # GNU ld reports both and, told to, writes the truncated fields anyway
    result = link_reference("bfd", objects, out, extra=("--noinhibit-exec",))
    assert Path(out).exists(), result.stderr
    kinds = sorted((m.type_name, m.kind) for m in check_fields(out, objects))
    assert kinds == [("R_X86_64_32", "overflow"), ("R_X86_64_8", "overflow")]
    with pytest.raises(LinkError) as caught:
        link(objects, tmp_path / "ours", entry="_start")
    assert "R_X86_64_32" in str(caught.value)
    assert not (tmp_path / "ours").exists()


def test_a_section_relative_value_past_2_63_is_still_refused(tmp_path: Path) -> None:
    """Hostile input: only SHN_ABS values are words; a section offset that large is not."""
    objects = _objects(tmp_path, FITS)
    data = bytearray(Path(objects[0]).read_bytes())
    # make x section-relative (st_shndx 1, .text) keeping its value 0xffffffffffff8000
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection
    with open(objects[0], "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        index = next(i for i, s in enumerate(symtab.iter_symbols()) if s.name == "x")
        entry = symtab["sh_offset"] + index * symtab["sh_entsize"]
    data[entry + 6:entry + 8] = (1).to_bytes(2, "little")
    Path(objects[0]).write_bytes(data)
    with pytest.raises(LinkError, match="address space"):
        link(objects, tmp_path / "ours", entry="_start")
    assert not (tmp_path / "ours").exists()


def test_i386_absolute_word_is_32_bits(tmp_path: Path) -> None:
    """i386: `.set x, -0x8000` is 0xffff8000; `.short x` holds 00 80 under GNU ld and ours."""
    objects = []
    for name, text in (("def", DEFINE), ("use", FITS.replace(".quad", ".long"))):
        (tmp_path / f"{name}.s").write_text(text)
        obj = tmp_path / f"{name}.o"
        subprocess.run(["as", "--32", "-o", str(obj), str(tmp_path / f"{name}.s")], check=True)
        objects.append(str(obj))
    ref, ours = str(tmp_path / "ref"), tmp_path / "ours"
    assert link_reference("bfd", objects, ref, m32=True).ok
    link(objects, ours, target="elf32-i386", entry="_start")
    for out in (ref, str(ours)):
        report = check_fields_report(out, objects)
        assert not report.mismatches and len(report.confirmed) == 2
    from elftools.elf.elffile import ELFFile
    with open(ours, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".data")
        assert sec is not None and sec.data() == b"\x00\x80\x00\x80\xff\xff"
