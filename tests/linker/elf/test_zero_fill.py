"""Zero-fill takes no file space; what GNU ld writes for imports' sizes and TLS symbols.

Linked through the gcc shim (the way a user links), run natively, checked structurally, and
compared with GNU ld on the same objects (issue 19 items 2 and 3).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir
from oracle.check import check

BIG_BSS = r"""
static char big[16 << 20];                 /* .bss */
char common_block[1 << 20];                /* COMMON with -fcommon */
_Alignas(8192) char page_plus[16] = {1};   /* a data section aligned past the page */
int main(void) {
    big[5] = 1; big[sizeof big - 1] = 2; common_block[7] = 3;
    return big[5] + big[sizeof big - 1] + common_block[7] + page_plus[0]
           + (int)((unsigned long)page_plus % 8192) - 7;
}
"""

TLS = r"""
__thread int tls_init = 5;                 /* .tdata */
__thread char tls_zero[100000];            /* .tbss, larger than a page */
__thread long tls_late;
int after_tbss[4] = {1, 2, 3, 4};          /* data laid out after the TLS block */
int main(void) {
    tls_zero[99999] = 3; tls_late = 9;
    return tls_init + tls_zero[99999] + (int)tls_late + after_tbss[3] - 21;
}
"""

IMPORTS = r"""
#include <stdio.h>
#include <errno.h>
extern char **environ;
extern int opterr;
int main(int argc, char **argv) {
    int (*volatile p)(const char *) = puts;   /* non-PIC: a canonical PLT address */
    p("x");
    printf("%d %p %d\n", argc, (void *)environ, opterr);
    fprintf(stderr, "e%d\n", errno);
    return 0;
}
"""


def _run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True,
                          timeout=120)


def _build(tmp: Path, text: str, name: str, cflags: list[str],
           gnu_ld: bool = False) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(text)
    obj = tmp / f"{name}.o"
    done = _run("gcc", "-O1", *cflags, "-fcommon", "-c", src, "-o", obj)
    assert done.returncode == 0, done.stderr
    exe = tmp / (f"{name}-gnu" if gnu_ld else name)
    linker = [] if gnu_ld else ["-B", str(shim_dir())]
    bits = [f for f in cflags if f == "-m32"]
    done = _run("gcc", *bits, "-no-pie", *linker, obj, "-o", exe)
    assert done.returncode == 0, done.stderr
    return exe


def _loads(exe: Path) -> list[dict[str, int]]:
    with exe.open("rb") as f:
        return [dict(s.header) for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]


@pytest.mark.parametrize("bits", ["-m64", "-m32"])
def test_large_bss_takes_no_file_space(tmp_path: Path, bits: str) -> None:
    exe = _build(tmp_path, BIG_BSS, "big", [bits, "-fno-pie", "-O0"])  # keep the array
    assert _run(exe).returncode == 0
    # 17 MB of zero-fill; the code, data and tables are a few KB (GNU ld: 15 KB)
    assert exe.stat().st_size < 64 * 1024, exe.stat().st_size
    assert [str(v) for v in check(exe)] == []
    loads = _loads(exe)
    rw = loads[-1]
    assert rw["p_memsz"] - rw["p_filesz"] >= 17 << 20
    for seg in loads:
        assert (seg["p_offset"] - seg["p_vaddr"]) % seg["p_align"] == 0
    assert rw["p_align"] >= 8192  # the aligned(8192) data's segment


def test_tbss_takes_neither_file_nor_segment_memory(tmp_path: Path) -> None:
    exe = _build(tmp_path, TLS, "tls", ["-m64", "-fno-pie"])
    assert _run(exe).returncode == 0
    assert exe.stat().st_size < 64 * 1024, exe.stat().st_size
    assert [str(v) for v in check(exe)] == []
    with exe.open("rb") as f:
        elf = ELFFile(f)
        tbss: Any = elf.get_section_by_name(".tbss")
        data: Any = elf.get_section_by_name(".data")
        # the sections after .tbss reuse its addresses, as GNU ld and lld lay it out
        assert data["sh_addr"] < tbss["sh_addr"] + tbss["sh_size"]
        (tls,) = [s for s in elf.iter_segments() if s["p_type"] == "PT_TLS"]
        assert tls["p_memsz"] - tls["p_filesz"] >= 100000


def _symbols(exe: Path, table: str, kind: str | None = None) -> dict[str, tuple[int, int]]:
    """name -> (st_value, st_size) of the symbols of `table` (of type `kind` if given)."""
    with exe.open("rb") as f:
        sec: Any = ELFFile(f).get_section_by_name(table)
        assert sec is not None
        return {s.name: (s["st_value"], s["st_size"]) for s in sec.iter_symbols()
                if s.name and (kind is None or s["st_info"]["type"] == kind)}


def test_tls_symbols_hold_template_offsets_as_gnu_ld(tmp_path: Path) -> None:
    ours = _build(tmp_path, TLS, "tls", ["-m64", "-fno-pie"])
    gnu = _build(tmp_path, TLS, "tls", ["-m64", "-fno-pie"], gnu_ld=True)
    want = _symbols(gnu, ".symtab", "STT_TLS")
    assert set(want) == {"tls_init", "tls_zero", "tls_late"}
    assert _symbols(ours, ".symtab", "STT_TLS") == want


def _undefined_sizes(exe: Path) -> dict[str, int]:
    with exe.open("rb") as f:
        sec: Any = ELFFile(f).get_section_by_name(".dynsym")
        return {s.name: s["st_size"] for s in sec.iter_symbols()
                if s.name and s["st_shndx"] == "SHN_UNDEF"}


@pytest.mark.parametrize("flags", [["-m64", "-fno-pie"], ["-m64", "-fPIC"],
                                   ["-m32", "-fno-pie"], ["-m32", "-fPIC"]],
                         ids=["x86_64", "x86_64-pic", "i386", "i386-pic"])
def test_import_sizes_match_gnu_ld(tmp_path: Path, flags: list[str]) -> None:
    ours = _build(tmp_path, IMPORTS, "imports", flags)
    gnu = _build(tmp_path, IMPORTS, "imports", flags, gnu_ld=True)
    assert _run(ours).returncode == 0
    undefined = _undefined_sizes(ours)
    assert {"printf", "fprintf"} <= set(undefined)
    # GNU ld (and lld) write 0 for every import, functions and data reached through the GOT
    assert set(undefined.values()) == {0} == set(_undefined_sizes(gnu).values())
    # a COPY-relocated object is defined in the executable and keeps the library's size
    copied = {n: v for n, v in _symbols(gnu, ".dynsym").items() if n not in undefined}
    for name in ("environ", "opterr") if "-fno-pie" in flags else ():
        assert _symbols(ours, ".dynsym")[name][1] == copied[name][1] > 0
