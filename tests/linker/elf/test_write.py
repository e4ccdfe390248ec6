"""linker/elf/write.py: the ELF header, program headers and section headers of real links,
read back with pyelftools and run."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import link, shim_dir
from linker.elf.write import count_program_headers

PROGRAM = r"""
#include <stdio.h>
__thread int tls_counter = 40;
__thread char tls_zero[64];
int data_word = 2;
int main(void) { tls_zero[3] = 1; printf("%d\n", tls_counter + data_word + tls_zero[3]); return 0; }
"""
START_32 = """
    .globl _start
    .text
_start:
    movl value, %ebx
    movl $1, %eax
    int $0x80
    .data
value: .long 7
    .section .note.GNU-stack,"",@progbits
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("write")
    (d / "p.c").write_text(PROGRAM)
    out = {"dyn": d / "dyn", "strip": d / "strip", "i386": d / "i386", "execstack": d / "xs"}
    subprocess.run(["gcc", "-O1", "-fno-pie", "-no-pie", "-B", shim_dir(), "-o",
                    str(out["dyn"]), str(d / "p.c")], check=True, capture_output=True)
    (d / "s.s").write_text(START_32)
    subprocess.run(["as", "--32", "-o", str(d / "s.o"), str(d / "s.s")], check=True)
    link([d / "s.o"], out["i386"], target="elf32-i386")
    link([d / "s.o"], out["strip"], target="elf32-i386", strip=True)
    link([d / "s.o"], out["execstack"], target="elf32-i386", exec_stack=True)
    return out


def phdrs(path: Path) -> tuple[Any, list[Any], list[Any]]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return elf.header, [dict(s.header) for s in elf.iter_segments()], \
            [(s.name, dict(s.header)) for s in elf.iter_sections()]


def test_dynamic_program_runs(built: dict[str, Path]) -> None:
    done = subprocess.run([str(built["dyn"])], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "43\n"


def test_dynamic_program_header_order_and_count(built: dict[str, Path]) -> None:
    header, segs, _ = phdrs(built["dyn"])
    types = [s["p_type"] for s in segs]
    assert types[:2] == ["PT_PHDR", "PT_INTERP"]
    loads = [s for s in segs if s["p_type"] == "PT_LOAD"]
    assert types[2:2 + len(loads)] == ["PT_LOAD"] * len(loads)
    # gcc's link line through the shim: -z relro is GNU ld's default there, and GNU ld
    # writes PT_GNU_RELRO last, after PT_GNU_STACK
    assert types[-2:] == ["PT_GNU_STACK", "PT_GNU_RELRO"]
    assert {"PT_DYNAMIC", "PT_TLS", "PT_NOTE", "PT_GNU_EH_FRAME"} <= set(types)
    assert header["e_phnum"] == len(segs) == count_program_headers(
        True, len(loads), types.count("PT_NOTE"), True, True, has_relro=True,
        has_property="PT_GNU_PROPERTY" in types)
    phdr = segs[0]
    assert phdr["p_offset"] == header["e_phoff"] == 64
    assert phdr["p_filesz"] == header["e_phnum"] * header["e_phentsize"]
    first = loads[0]
    assert first["p_offset"] == 0 and first["p_vaddr"] <= phdr["p_vaddr"]
    assert phdr["p_vaddr"] + phdr["p_memsz"] <= first["p_vaddr"] + first["p_filesz"]


def test_loads_are_congruent_sorted_and_disjoint(built: dict[str, Path]) -> None:
    _, segs, _ = phdrs(built["dyn"])
    loads = [s for s in segs if s["p_type"] == "PT_LOAD"]
    flags = [s["p_flags"] for s in loads]
    assert flags == [4, 5, 6]  # R, R+X, R+W
    for s in loads:
        assert s["p_offset"] % s["p_align"] == s["p_vaddr"] % s["p_align"]
        assert s["p_filesz"] <= s["p_memsz"]
    for a, b in pairwise(loads):
        assert (a["p_vaddr"] + a["p_memsz"] - 1) // 0x1000 < b["p_vaddr"] // 0x1000
        assert a["p_offset"] + a["p_filesz"] <= b["p_offset"]


def test_segments_cover_their_sections(built: dict[str, Path]) -> None:
    _, segs, sections = phdrs(built["dyn"])
    by_name = dict(sections)

    def covers(seg: dict[str, Any], name: str) -> bool:
        s = by_name[name]
        return seg["p_vaddr"] <= s["sh_addr"] and \
            s["sh_addr"] + s["sh_size"] <= seg["p_vaddr"] + seg["p_memsz"]

    one = {t: next(s for s in segs if s["p_type"] == t) for t in
           ("PT_INTERP", "PT_DYNAMIC", "PT_TLS", "PT_GNU_EH_FRAME")}
    assert one["PT_INTERP"]["p_vaddr"] == by_name[".interp"]["sh_addr"]
    assert one["PT_DYNAMIC"]["p_vaddr"] == by_name[".dynamic"]["sh_addr"]
    assert one["PT_DYNAMIC"]["p_memsz"] == by_name[".dynamic"]["sh_size"]
    tls = one["PT_TLS"]
    assert covers(tls, ".tdata") and covers(tls, ".tbss")
    assert tls["p_filesz"] == by_name[".tdata"]["sh_size"]
    assert tls["p_memsz"] >= by_name[".tdata"]["sh_size"] + 64
    for name, s in sections:
        if s["sh_flags"] & 2 and s["sh_type"] != "SHT_NOBITS" and name:
            assert any(seg["p_type"] == "PT_LOAD" and covers(seg, name) and
                       s["sh_offset"] - seg["p_offset"] == s["sh_addr"] - seg["p_vaddr"]
                       for seg in segs), name


def test_dynamic_section_links(built: dict[str, Path]) -> None:
    _, _, sections = phdrs(built["dyn"])
    names = [n for n, _ in sections]
    by_name = dict(sections)
    dynsym, dynstr = names.index(".dynsym"), names.index(".dynstr")
    assert by_name[".dynsym"]["sh_link"] == dynstr and by_name[".dynsym"]["sh_info"] == 1
    assert by_name[".dynamic"]["sh_link"] == dynstr
    for name in (".gnu.hash", ".hash", ".rela.dyn", ".rela.plt", ".gnu.version"):
        if name in by_name:
            assert by_name[name]["sh_link"] == dynsym, name
    assert by_name[".rela.plt"]["sh_info"] == names.index(".got.plt")
    assert by_name[".symtab"]["sh_link"] == names.index(".strtab")


def test_i386_headers(built: dict[str, Path]) -> None:
    header, segs, sections = phdrs(built["i386"])
    assert header["e_ident"]["EI_CLASS"] == "ELFCLASS32" and header["e_machine"] == "EM_386"
    assert header["e_type"] == "ET_EXEC" and header["e_phentsize"] == 32
    assert header["e_ehsize"] == 52 and header["e_shentsize"] == 40
    types = [s["p_type"] for s in segs]
    assert "PT_INTERP" not in types and "PT_DYNAMIC" not in types
    assert types[-1] == "PT_GNU_STACK" and segs[-1]["p_flags"] == 6  # RW, not executable
    text = dict(sections)[".text"]
    assert header["e_entry"] == text["sh_addr"]
    assert sections[header["e_shstrndx"]][0] == ".shstrtab"
    done = subprocess.run([str(built["i386"])], check=False)
    assert done.returncode == 7


def test_strip_drops_the_symbol_table(built: dict[str, Path]) -> None:
    names = [n for n, _ in phdrs(built["i386"])[2]]
    stripped = [n for n, _ in phdrs(built["strip"])[2]]
    assert ".symtab" in names and ".strtab" in names
    assert ".symtab" not in stripped and ".strtab" not in stripped
    assert subprocess.run([str(built["strip"])], check=False).returncode == 7


def test_exec_stack_flag(built: dict[str, Path]) -> None:
    segs = phdrs(built["execstack"])[1]
    assert segs[-1]["p_type"] == "PT_GNU_STACK" and segs[-1]["p_flags"] == 7


def test_count_program_headers() -> None:
    assert count_program_headers(False, 3, False) == 4  # loads + GNU_STACK
    assert count_program_headers(True, 3, True, True, True) == 3 + 3 + 1 + 1 + 1 + 1
