"""The field oracle on static and dynamic links of IFUNC calls, constructors and pointers.

glibc's string functions are IFUNCs: statically linked, a call reaches them through an
.iplt/.plt entry whose slot an IRELATIVE relocation fills, a -fno-plt GOT load reads that
slot (or a word holding the canonical PLT address), and mold even fills a data pointer to
one with IRELATIVE.  .init_array has no symbols and eight masked bytes: only the field
values can say where it went.  Linked dynamically the same objects import those functions.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle.native import run_native
from oracle.reference import link_with_gcc
from oracle.relocs import check_fields_report

PROGRAM_C = r"""
#include <string.h>
#include <stdio.h>
char buf[64];
size_t (*lenp)(const char *) = strlen;
__attribute__((constructor)) static void init(void) { strcpy(buf, "constructed"); }
int main(int argc, char **argv) {
    memcpy(buf + 11, "!", 2);
    printf("%s %d %zu\n", buf, strlen(argv[0]) > 0, lenp("abc"));
    return 0;
}
"""

VARIANTS = [(m32, pic) for m32 in (False, True) for pic in (False, True)]


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[bool, bool], str]:
    root = tmp_path_factory.mktemp("static")
    source = root / "prog.c"
    source.write_text(PROGRAM_C)
    built = {}
    for m32, pic in VARIANTS:
        obj = root / f"prog-{'32' if m32 else '64'}-{'pic' if pic else 'nopic'}.o"
        flags = ["-fPIC", "-fno-plt"] if pic else ["-fno-pie"]
        subprocess.run(["gcc", *(["-m32"] if m32 else []), "-c", "-O1", "-fno-builtin", *flags,
                        str(source), "-o", str(obj)], check=True, capture_output=True)
        built[(m32, pic)] = str(obj)
    return built


@pytest.mark.parametrize("static", [True, False], ids=["static", "dynamic"])
@pytest.mark.parametrize("m32,pic", VARIANTS,
                         ids=[f"{'i386' if m else 'x64'}-{'pic' if p else 'nopic'}"
                              for m, p in VARIANTS])
@pytest.mark.parametrize("linker", ["bfd", "gold", "lld", "mold"])
def test_ifunc_and_constructor_fields_agree(linker: str, m32: bool, pic: bool, static: bool,
                                            objects: dict[tuple[bool, bool], str],
                                            tmp_path: Path) -> None:
    obj = objects[(m32, pic)]
    output = str(tmp_path / "prog")
    result = link_with_gcc(linker, [obj], output, m32=m32, static=static)
    assert result.ok, result.stderr
    assert run_native(output).stdout == b"constructed! 1 3\n"
    report = check_fields_report(output, [obj])
    assert report.mismatches == (), str(report)
    sections = {s.section for s in report.confirmed}
    assert ".init_array" in sections and report.checked >= 12


def _gcc_file(name: str, m32: bool) -> str:
    return subprocess.run(["gcc", *(["-m32"] if m32 else []), f"-print-file-name={name}"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("m32,pic", VARIANTS,
                         ids=[f"{'i386' if m else 'x64'}-{'pic' if p else 'nopic'}"
                              for m, p in VARIANTS])
def test_linkharness_dynamic_link_agrees(m32: bool, pic: bool,
                                         objects: dict[tuple[bool, bool], str],
                                         tmp_path: Path) -> None:
    """linkharness, dynamically against libc.so (static glibc needs TLS, not there yet)."""
    from linker import link

    obj = objects[(m32, pic)]
    crt = [_gcc_file(n, m32) for n in ("crt1.o", "crti.o", "crtbegin.o")]
    tail = ["-lc", _gcc_file("crtend.o", m32), _gcc_file("crtn.o", m32)]
    output = tmp_path / "prog"
    link([*crt, obj, *tail], output, target="elf32-i386" if m32 else "elf64-x86-64",
         library_paths=[str(Path(_gcc_file("libc.so", m32)).parent)],
         dynamic_linker="/lib/ld-linux.so.2" if m32 else "/lib64/ld-linux-x86-64.so.2")
    report = check_fields_report(str(output), [obj])
    assert report.mismatches == (), str(report)
    assert run_native(str(output)).stdout == b"constructed! 1 3\n"


@pytest.mark.parametrize("m32,linker", [(False, "bfd"), (True, "mold")],
                         ids=["x64-bfd", "i386-mold"])
def test_static_glibc_members_are_checked_too(m32: bool, linker: str,
                                              objects: dict[tuple[bool, bool], str],
                                              tmp_path: Path) -> None:
    """libc.a among the inputs: thousands of fields of the members the linker pulled in
    (TLS initial-exec rewrites, IFUNCs, PIC thunks in COMDAT groups) all agree."""
    obj = objects[(m32, False)]
    output = str(tmp_path / "prog")
    result = link_with_gcc(linker, [obj], output, m32=m32, static=True)
    assert result.ok, result.stderr
    libc = _gcc_file("libc.a", m32)
    report = check_fields_report(output, [obj, libc])
    assert report.mismatches == (), "\n".join(str(m) for m in report.mismatches[:5])
    assert report.checked > 5000
    assert report.skipped["in archive members not linked"] > 10000
    rules = {s.rule for s in report.confirmed}
    assert rules - {"", "dynamic"}  # rewritten GOT or TLS loads were recognised
