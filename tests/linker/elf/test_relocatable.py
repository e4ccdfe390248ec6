"""linker/elf/relocatable.py: what `-r` keeps and how it rewrites it, on small assembled
objects (the C programs, the final links and gdb are in tests/integration/test_relocatable.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import LinkError, link

A_S = """
    .text
    .globl a_func
a_func: ret
local_a: nop
    .section .rodata,"a"
    .byte 1, 2, 3
    .data
    .globl a_data
a_data: .long 7
    .comm shared, 8, 8
    .weak maybe
    .section .note.GNU-stack,"",@progbits
"""
B_S = """
    .section .rodata,"a"
    .balign 8
    .quad 0
    .data
    .balign 8
    .weak maybe
b_ptr: .{word} .rodata + 5
    .{word} local_b
    .{word} maybe
    .text
local_b: ret
    .globl b_func
b_func: call a_func
    .comm shared, 32, 16
    .section .note.GNU-stack,"",@progbits
"""
GROUP_S = """
    .section .text.f,"axG",@progbits,f,comdat
    .globl f
    .hidden f
f:  ret
    .text
    .globl user_{n}
user_{n}: call f
    .section .debug_info,"",@progbits
    .{word} .text.f
    .section .note.GNU-stack,"",@progbits
"""


def _elf(path: Path) -> Any:
    return ELFFile(open(path, "rb"))  # the file stays open for the test: tmp files


def _relocs(elf: Any, name: str) -> list[tuple[int, str, int]]:
    """(offset, symbol name or section name, addend) per relocation of section `name`."""
    symtab = elf.get_section_by_name(".symtab")
    rel = elf.get_section_by_name((".rela" if elf.elfclass == 64 else ".rel") + name)
    out = []
    for r in rel.iter_relocations():
        sym = symtab.get_symbol(r["r_info_sym"])
        label = sym.name or elf.get_section(sym["st_shndx"]).name
        out.append((r["r_offset"], label, r["r_addend"] if r.is_RELA() else 0))
    return out


@pytest.fixture(params=["x86_64", "i386"])
def pair(request: pytest.FixtureRequest, assemble: Callable[..., Path]) -> tuple[Path, str]:
    """(-r output of A_S + B_S, arch)"""
    m32 = request.param == "i386"
    word = "long" if m32 else "quad"
    a = assemble(A_S, f"ra_{request.param}", m32)
    b = assemble(B_S.format(word=word), f"rb_{request.param}", m32)
    out = a.parent / f"rab_{request.param}.o"
    link([a, b], out, target="elf32-i386" if m32 else "elf64-x86-64", relocatable=True)
    return out, request.param


def test_sections_are_concatenated_and_section_references_move(pair: tuple[Path, str]) -> None:
    out, arch = pair
    elf = _elf(out)
    assert elf["e_type"] == "ET_REL"
    names = [s.name for s in elf.iter_sections()]
    assert names.count(".rodata") == names.count(".data") == names.count(".text") == 1
    assert elf.get_section_by_name(".rodata")["sh_size"] == 16  # 3 bytes, to 8, 8 bytes
    word = 8 if arch == "x86_64" else 4
    data = elf.get_section_by_name(".data").data()
    rows = _relocs(elf, ".data")
    # b's .data starts at 8 (its alignment) after a's 4 bytes; .rodata+5 of b is .rodata+13
    assert rows[0][:2] == (8, ".rodata")
    addend = rows[0][2] if arch == "x86_64" else int.from_bytes(data[8:8 + word], "little")
    assert addend == 13
    # as refers to local_b as .text+0 of b; b's .text follows a's two bytes
    assert rows[1][:2] == (8 + word, ".text")
    at = 8 + word
    addend = rows[1][2] if arch == "x86_64" else int.from_bytes(data[at:at + word], "little")
    assert addend == 2
    # local symbols are kept under their names, their values moved with their sections
    symtab = elf.get_section_by_name(".symtab")
    assert symtab.get_symbol_by_name("local_b")[0]["st_value"] == 2  # a's ret, nop
    assert symtab.get_symbol_by_name("local_a")[0]["st_value"] == 1
    assert rows[2][1] == "maybe"


def test_symbols_globals_once_common_kept_common(pair: tuple[Path, str]) -> None:
    out, _ = pair
    symtab = _elf(out).get_section_by_name(".symtab")
    shared = symtab.get_symbol_by_name("shared")
    assert len(shared) == 1
    assert shared[0]["st_shndx"] == "SHN_COMMON"
    assert (shared[0]["st_size"], shared[0]["st_value"]) == (32, 16)  # largest, strictest
    maybe = symtab.get_symbol_by_name("maybe")[0]
    assert (maybe["st_shndx"], maybe["st_info"]["bind"]) == ("SHN_UNDEF", "STB_WEAK")
    first_global = symtab["sh_info"]
    binds = [s["st_info"]["bind"] for s in symtab.iter_symbols()]
    assert all(b == "STB_LOCAL" for b in binds[:first_global])
    assert all(b != "STB_LOCAL" for b in binds[first_global:])
    assert symtab.get_symbol_by_name("b_func")[0]["st_value"] == 3


def test_note_gnu_stack_kept(pair: tuple[Path, str]) -> None:
    out, _ = pair
    stack = _elf(out).get_section_by_name(".note.GNU-stack")
    assert stack is not None and stack["sh_flags"] == 0


@pytest.mark.parametrize("m32", [False, True], ids=["x86_64", "i386"])
def test_comdat_group_kept_once_and_debug_reference_tombstoned(
        m32: bool, assemble: Callable[..., Path], tmp_path: Path) -> None:
    word = "long" if m32 else "quad"
    objs = [assemble(GROUP_S.format(n=n, word=word), f"g{n}_{m32}", m32) for n in (1, 2)]
    out = tmp_path / "g.o"
    link(objs, out, target="elf32-i386" if m32 else "elf64-x86-64", relocatable=True)
    elf = _elf(out)
    groups = [s for s in elf.iter_sections() if s["sh_type"] == "SHT_GROUP"]
    assert len(groups) == 1
    symtab = elf.get_section_by_name(".symtab")
    assert symtab.get_symbol(groups[0]["sh_info"]).name == "f"
    raw = groups[0].data()
    indices = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    assert indices[0] == 1  # GRP_COMDAT
    members = [elf.get_section(i).name for i in indices[1:]]
    assert members == [".text.f"]
    assert elf.get_section(indices[1])["sh_flags"] & 0x200  # SHF_GROUP
    assert [s.name for s in elf.iter_sections()].count(".text.f") == 1
    # the second object's debug reference to its dropped copy: no relocation, field 0
    debug = elf.get_section_by_name(".debug_info")
    rows = _relocs(elf, ".debug_info")
    assert [r[:2] for r in rows] == [(0, ".text.f")]
    width = 4 if m32 else 8
    assert debug.data()[width:2 * width] == bytes(width)


def test_unique_keeps_every_input_section(assemble: Callable[..., Path], tmp_path: Path) -> None:
    a = assemble(A_S, "ua")
    b = assemble(B_S.format(word="quad"), "ub")
    out = tmp_path / "u.o"
    link([a, b], out, relocatable=True, unique=True)
    names = [s.name for s in _elf(out).iter_sections()]
    assert names.count(".text") == 2 and names.count(".data") == 2


def test_r_output_is_read_back_and_links(pair: tuple[Path, str], tmp_path: Path) -> None:
    """The output is a valid input: GNU ld -r reads it, and linkharness links it (with a
    start symbol) into an executable."""
    out, arch = pair
    m = ["-m", "elf_i386"] if arch == "i386" else []
    done = subprocess.run(["ld", "-r", *m, str(out), "-o", str(tmp_path / "again.o")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert _elf(tmp_path / "again.o").get_section_by_name(".rodata")["sh_size"] == 16


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linker", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("args", [["-r", "-pie"], ["-r", "--gc-sections"],
                                  ["-r", "--unique=.text"], ["-r", "-s"]])
def test_options_r_does_not_honour_are_refused_in_one_line(
        args: list[str], assemble: Callable[..., Path], tmp_path: Path) -> None:
    a = assemble(A_S, "refuse")
    done = _cli(*args, a, "-o", "out.o", cwd=tmp_path)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "out.o").exists()


def test_shared_library_input_is_refused(assemble: Callable[..., Path], tmp_path: Path) -> None:
    a = assemble(A_S, "withlib")
    with pytest.raises(LinkError, match="shared library cannot be an input"):
        link([a, "/lib/x86_64-linux-gnu/libc.so.6"], tmp_path / "x.o", relocatable=True)
    assert not (tmp_path / "x.o").exists()


def test_archive_members_pulled_for_undefined_and_u_names(
        assemble: Callable[..., Path], tmp_path: Path) -> None:
    """As GNU ld's -r: a member is pulled for a symbol still undefined (here b_func's call
    of a_func, and -u of a_data's member), the rest of the archive stays out."""
    a = assemble(A_S, "ar_a")
    b = assemble(B_S.format(word="quad"), "ar_b")
    lonely = assemble("    .data\n    .globl lonely\nlonely: .quad 1\n", "ar_lonely")
    archive = tmp_path / "liba.a"
    subprocess.run(["ar", "rcs", str(archive), str(a), str(lonely)], check=True)
    out = tmp_path / "pulled.o"
    link([b, archive], out, relocatable=True)
    symtab = _elf(out).get_section_by_name(".symtab")
    assert symtab.get_symbol_by_name("a_func")[0]["st_shndx"] != "SHN_UNDEF"
    assert symtab.get_symbol_by_name("lonely") is None
    link([b, archive], out, relocatable=True, undefined=["lonely"])
    lonely_sym = _elf(out).get_section_by_name(".symtab").get_symbol_by_name("lonely")
    assert lonely_sym is not None and lonely_sym[0]["st_shndx"] != "SHN_UNDEF"


HOSTILE = sorted(p for p in (Path(__file__).parents[2] / "hostile" / "cases").iterdir()
                 if p.is_dir() and p.name.startswith(("elf64-object", "elf32-object")))


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_objects_are_linked_or_refused_in_one_line(case: Path, tmp_path: Path) -> None:
    """The hostile campaigns' regression objects (tests/hostile/cases) through -r: a link,
    or a LinkError of one line per diagnostic and no output; never another exception."""
    recipe = dict(line.split(": ", 1) for line in
                  (case / "recipe.txt").read_text().splitlines()[:2])
    target = "elf32-i386" if case.name.startswith("elf32") else "elf64-x86-64"
    out = tmp_path / "r.o"
    try:
        link([case / recipe["file"]], out, relocatable=True, target=target)
    except LinkError as e:
        assert len(str(e).splitlines()) == len(e.diagnostics)
        assert not out.exists()
    else:
        assert _elf(out)["e_type"] == "ET_REL"
