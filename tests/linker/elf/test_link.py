"""linker/elf/link.py: linker-defined symbols, the entry point rules and what the executable
exports to ld.so, on small assembled programs."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import link

SYMBOLS = ["__ehdr_start", "__executable_start", "_etext", "etext", "_edata", "edata",
           "__bss_start", "_end", "end", "__init_array_start", "__init_array_end",
           "__start_my_items", "__stop_my_items", "_GLOBAL_OFFSET_TABLE_",
           "__rela_iplt_start", "__rela_iplt_end"]

STATIC = """
    .text
    .globl _start
_start:
    movl __ehdr_start(%rip), %edi     # the ELF magic, mapped with the headers
    cmpl $0x464c457f, %edi
    sete %dil
    movzbl %dil, %edi
    movl $60, %eax
    syscall
    .data
table:
""" + "".join(f"    .quad {s}\n" for s in SYMBOLS) + """
    .section my_items,"aw"
    .quad 1, 2, 3
    .section .init_array,"aw"
    .quad _start
    .bss
    .zero 100
    .section .note.GNU-stack,"",@progbits
"""


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("elflink")
    (d / "s.s").write_text(STATIC)
    subprocess.run(["as", "-o", str(d / "s.o"), str(d / "s.s")], check=True)
    link([d / "s.o"], d / "s")
    return d / "s"


def test_linker_defined_symbol_values(static: Path) -> None:
    with open(static, "rb") as f:
        elf = ELFFile(f)
        secs = {s.name: dict(s.header) for s in elf.iter_sections()}
        loads = [dict(s.header) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        data_sec = elf.get_section_by_name(".data")
        assert data_sec is not None
        data = data_sec.data()
    values = dict(zip(SYMBOLS, struct.unpack_from(f"<{len(SYMBOLS)}Q", data)))
    text, rw = loads[1], loads[-1]
    assert values["__ehdr_start"] == values["__executable_start"] == 0x400000
    assert values["_etext"] == values["etext"] == text["p_vaddr"] + text["p_memsz"]
    assert values["_edata"] == values["edata"] == rw["p_vaddr"] + rw["p_filesz"]
    assert values["__bss_start"] == secs[".bss"]["sh_addr"]
    assert values["_end"] == values["end"] == rw["p_vaddr"] + rw["p_memsz"]
    init = secs[".init_array"]
    assert (values["__init_array_start"], values["__init_array_end"]) == (
        init["sh_addr"], init["sh_addr"] + 8)
    items = secs["my_items"]
    assert (values["__start_my_items"], values["__stop_my_items"]) == (
        items["sh_addr"], items["sh_addr"] + 24)
    assert values["__rela_iplt_start"] == values["__rela_iplt_end"]  # no IFUNCs
    # `as` writes `.quad _GLOBAL_OFFSET_TABLE_` as R_X86_64_GOTPC64: GOT - P; the GOT
    # base is .got.plt, made for it even in a static link
    at = secs[".data"]["sh_addr"] + 8 * SYMBOLS.index("_GLOBAL_OFFSET_TABLE_")
    got = secs[".got.plt"]["sh_addr"]
    assert values["_GLOBAL_OFFSET_TABLE_"] == (got - at) & (2**64 - 1)


def test_static_program_reads_its_own_header(static: Path) -> None:
    assert subprocess.run([str(static)], check=False).returncode == 1


def test_entry_symbol_number_and_fallback(tmp_path: Path, capfd: pytest.CaptureFixture[str]
                                          ) -> None:
    (tmp_path / "e.s").write_text(".text\n.globl go\nnop\ngo: movl $60, %eax\n"
                                  "movl $5, %edi\nsyscall\n")
    subprocess.run(["as", "-o", str(tmp_path / "e.o"), str(tmp_path / "e.s")], check=True)
    r = link([tmp_path / "e.o"], tmp_path / "a", entry="go")
    with open(tmp_path / "a", "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        assert text is not None
        text_addr = text["sh_addr"]
    assert r.entry == text_addr + 1
    assert subprocess.run([str(tmp_path / "a")], check=False).returncode == 5
    r = link([tmp_path / "e.o"], tmp_path / "b", entry=hex(text_addr + 1))
    assert r.entry == text_addr + 1
    r = link([tmp_path / "e.o"], tmp_path / "c")  # no _start: GNU ld warns, uses .text
    assert r.entry == text_addr
    # the warning goes through the link's one channel: returned, not printed
    assert [str(w) for w in r.warnings] == [
        f"cannot find entry symbol _start; defaulting to {text_addr:#x}"]
    assert capfd.readouterr().err == ""


LIB = """
    .text
    .globl lib_fn
    .type lib_fn,@function
lib_fn:
    jmp callback@PLT
"""
MAIN = """
    .text
    .globl _start, callback, unrelated
    .type callback,@function
_start:
    call lib_fn@PLT
    movl %eax, %edi
    movl $60, %eax
    syscall
callback:
    movl $42, %eax
    ret
unrelated:
    ret
    .section .note.GNU-stack,"",@progbits
"""


@pytest.fixture(scope="module")
def plugin_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("host")
    for name, text in (("lib", LIB), ("main", MAIN)):
        (d / f"{name}.s").write_text(text)
        subprocess.run(["as", "-o", str(d / f"{name}.o"), str(d / f"{name}.s")], check=True)
    subprocess.run(["ld", "-shared", "-soname", "libcb.so", "-o", str(d / "libcb.so"),
                    str(d / "lib.o")], check=True)
    return d


def _dynsym(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".dynsym")
        assert sec is not None
        return {s.name: s["st_shndx"] for s in sec.iter_symbols()}  # type: ignore[attr-defined]


def test_symbol_a_library_refers_to_is_exported(plugin_host: Path) -> None:
    out = plugin_host / "host"
    r = link([plugin_host / "main.o", plugin_host / "libcb.so"], out)
    assert r.dynamic and r.needed == ("libcb.so",)
    syms = _dynsym(out)
    assert syms["callback"] != "SHN_UNDEF" and syms["lib_fn"] == "SHN_UNDEF"
    assert "unrelated" not in syms
    done = subprocess.run([str(out)], env={"LD_LIBRARY_PATH": str(plugin_host)}, check=False)
    assert done.returncode == 42  # the library called back into the executable


def test_export_dynamic_exports_every_global(plugin_host: Path) -> None:
    out = plugin_host / "host_all"
    link([plugin_host / "main.o", plugin_host / "libcb.so"], out, export_dynamic=True)
    syms = _dynsym(out)
    assert syms["unrelated"] != "SHN_UNDEF" and syms["_start"] != "SHN_UNDEF"
