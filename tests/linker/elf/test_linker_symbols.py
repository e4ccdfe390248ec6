"""linker/elf/linker_symbols.py: each symbol the linker defines is written in .symtab relative
to the section GNU ld ties it to, never SHN_ABS (by the gABI an absolute symbol does not
move with a PIE's load base)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import link

from .test_link import STATIC, SYMBOLS

# A PIE version of test_link's program: the table holds the symbols' addresses through
# R_X86_64_64, which becomes RELATIVE; the GOT symbol is used PC-relative.  GNU ld
# defines __rela_iplt_* only in a static ET_EXEC.
PIE = STATIC.replace("    .quad _GLOBAL_OFFSET_TABLE_\n", "") \
    .replace("    .quad __rela_iplt_start\n    .quad __rela_iplt_end\n", "") \
    .replace("_start:\n", "_start:\n    leaq _GLOBAL_OFFSET_TABLE_(%rip), %rax\n")


def _symbol_sections(path: Path) -> dict[str, str | int]:
    """name -> the section name a symbol's row is relative to (or its raw st_shndx)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        names = [s.name for s in elf.iter_sections()]
        symtab = elf.get_section_by_name(".symtab")
        assert symtab is not None
        out: dict[str, str | int] = {}
        for sym in symtab.iter_symbols():  # type: ignore[attr-defined]
            if sym.name in SYMBOLS:
                ndx = sym["st_shndx"]
                out[sym.name] = names[ndx] if isinstance(ndx, int) else ndx
        return out


@pytest.fixture(scope="module")
def pie_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("anchors")
    (d / "p.s").write_text(PIE)
    subprocess.run(["as", "-o", str(d / "p.o"), str(d / "p.s")], check=True)
    return d / "p.o"


@pytest.mark.parametrize("pie", [True, False], ids=["pie", "exec"])
def test_no_linker_symbol_is_absolute(pie_object: Path, tmp_path: Path, pie: bool) -> None:
    link([pie_object], tmp_path / "out", pie=pie)
    sections = _symbol_sections(tmp_path / "out")
    expected = set(SYMBOLS) - {"__rela_iplt_start", "__rela_iplt_end"}
    assert expected <= set(sections)
    assert {n: s for n, s in sections.items() if not isinstance(s, str)} == {}
    assert sections["__start_my_items"] == sections["__stop_my_items"] == "my_items"
    assert sections["__bss_start"] == sections["_end"] == ".bss"
    assert sections["__init_array_start"] == ".init_array"


def test_anchors_are_gnu_lds(pie_object: Path, tmp_path: Path) -> None:
    """The same object, linked as a PIE by GNU ld and by us: every symbol both write is
    relative to a section of the same name."""
    subprocess.run(["ld", "-pie", "-z", "norelro", "-o",
                    str(tmp_path / "gnu"), str(pie_object)], check=True)
    link([pie_object], tmp_path / "ours", pie=True)
    gnu, ours = _symbol_sections(tmp_path / "gnu"), _symbol_sections(tmp_path / "ours")
    both = sorted(set(gnu) & set(ours))
    assert len(both) >= 10
    assert {n: ours[n] for n in both} == {n: gnu[n] for n in both}
