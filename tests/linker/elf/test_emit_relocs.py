"""linker/elf/emit_relocs.py and the IBT PLT templates (linker/arch/ibt.py), on small
assembled objects linked with `linker.link` (no C library): the emitted sections' headers,
entries and types, against GNU ld's for the same object; the refusals; the templates'
shape."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from linker import LinkError, link
from linker.arch import ibt
from linker.elf.emit_relocs import native_types
from oracle.check import check

SOURCE = """
    .text
    .globl _start
_start:
    call *helper@GOTPCREL(%rip)       # relaxed to addr32 call: emitted as R_X86_64_PC32
    call helper
    leaq message(%rip), %rsi
    movl $60, %eax
    syscall
helper:
    ret
    .data
    .globl value
value:
    .quad helper
    .quad message + 2
    .section .rodata.str1.1,"aMS",@progbits,1
message:
    .string "hello"
"""


def _entries(path: Path) -> dict[str, list[tuple[int, str, str, int]]]:
    """Per emitted section: (offset in the section it patches, type, symbol name or
    section name, addend)."""
    out = {}
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        for sec in elf.iter_sections():
            if not isinstance(sec, RelocationSection) or not sec["sh_flags"] & 0x40:
                continue
            assert elf.get_section(sec["sh_link"]).name == ".symtab"
            assert sec["sh_flags"] & 0x2 == 0  # not allocated
            target = elf.get_section(sec["sh_info"])
            assert sec.name == ".rela" + target.name
            rows = []
            for r in sec.iter_relocations():
                sym = symtab.get_symbol(r["r_info_sym"])  # type: ignore[union-attr]
                name = sym.name or elf.get_section(sym["st_shndx"]).name
                rows.append((r["r_offset"] - target["sh_addr"], r["r_info_type"], name,
                             r["r_addend"]))
            out[sec.name] = rows
    return out


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("emit")
    (root / "start.s").write_text(SOURCE)
    subprocess.run(["as", "--64", "-o", str(root / "start.o"), str(root / "start.s")],
                   check=True)
    return root / "start.o"


def test_entries_are_gnu_lds(start: Path, tmp_path: Path) -> None:
    gnu, ours = tmp_path / "gnu", tmp_path / "ours"
    subprocess.run(["ld", "-q", "-o", str(gnu), str(start)], check=True)
    link([str(start)], ours, emit_relocs=True)
    expected, got = _entries(gnu), _entries(ours)
    assert set(got) == set(expected) == {".rela.text", ".rela.data"}
    for name in got:  # one object, no C library: the same places in each section
        assert got[name] == expected[name], name
    assert [t for _, t, _, _ in got[".rela.text"]] == [2, 2]  # the relaxed call, the lea
    # (a `mov x@GOTPCREL(%rip)` would differ: GNU ld makes it `mov $x` in a fixed-address
    # executable, R_X86_64_32S; linkharness makes it `lea`, R_X86_64_PC32)
    assert check(str(ours)) == []
    assert subprocess.run([str(ours)], check=False).returncode == 0


def test_without_the_option_nothing_is_emitted(start: Path, tmp_path: Path) -> None:
    link([str(start)], tmp_path / "plain")
    assert _entries(tmp_path / "plain") == {}


@pytest.mark.parametrize("strip", [True, False])
def test_refused_combinations_are_one_line(start: Path, tmp_path: Path, strip: bool) -> None:
    """With -s (no .symtab to name) or -shared."""
    out = tmp_path / "refused"
    with pytest.raises(LinkError, match="--emit-relocs is supported for ELF executables"):
        link([str(start)], out, emit_relocs=True, strip=strip, shared=not strip)
    assert not out.exists()


def test_types_of_the_forms_the_tables_add() -> None:
    x86_64, i386 = native_types("x86_64"), native_types("i386")
    assert x86_64[2] == 2 and x86_64[42] == 42  # a native howto is its own number
    assert set(x86_64[len(x86_64) - 2:].tolist()) == {2}  # relaxed GOTPCRELX: PC32
    assert 9 in i386[44:].tolist() and 3 in i386[44:].tolist()  # GOTOFF; GOT32 no-base


@pytest.mark.parametrize("template", [ibt.X86_64, ibt.I386, ibt.I386_PIC])
def test_ibt_templates_have_gnu_lds_shape(template: ibt.IbtPltTemplate) -> None:
    endbr = template.lazy_entry[:4]
    assert endbr in (bytes.fromhex("f30f1efa"), bytes.fromhex("f30f1efb"))
    assert len(template.plt0) == len(template.lazy_entry) == len(template.sec_entry) == 16
    assert template.sec_entry[:4] == endbr
    lazy = ibt.lazy_bytes(template, 3)
    assert len(lazy) == 16 * 4
    pushes = [int.from_bytes(lazy[16 * n + 5:16 * n + 9], "little") for n in (1, 2, 3)]
    assert pushes == [template.push_value(n) for n in range(3)]
