"""Thread-local storage and IFUNC: the executable's TLS block (PT_TLS), local-exec and
initial-exec accesses, -fPIC's dynamic models relaxed to local exec, and fully static glibc
programs (whose libc.a needs both TLS and STT_GNU_IFUNC), each against GNU ld's build."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir

PROGRAM = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
__thread int counter = 5;
__thread char buffer[40];
static __thread long hidden = 7;
static __thread char zeroed[3000];
extern __thread int other;
__thread int other = 11;
int bump(void) { return ++counter; }
int main(void) {
    counter += 3; hidden *= 2; other++; zeroed[2999] = 'z';
    strcpy(buffer, "tls buffer");
    errno = 0;
    FILE *missing = fopen("/nonexistent/file", "r");
    printf("%d %ld %d %s %c %d %d %s\n", counter, hidden, other, buffer, zeroed[2999],
           bump(), missing == NULL, strerror(errno));
    return counter;
}
"""

VARIANTS = {
    "local-exec": ["-O2", "-fno-pie"],
    "initial-exec": ["-O2", "-fPIE", "-ftls-model=initial-exec"],
    "dynamic-models-relaxed": ["-O2", "-fPIC"],
    "O0-fPIC": ["-O0", "-fPIC"],
    "static": ["-O2", "-fno-pie", "-static"],
    "static-fPIC": ["-O2", "-fPIC", "-static"],
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "tls.c"
    path.write_text(PROGRAM)
    return path


def _build(source: Path, out: Path, flags: list[str], *link: str) -> None:
    built = subprocess.run(["gcc", *flags, "-no-pie", *link, str(source), "-o", str(out)],
                           check=False, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_tls_program_matches_gnu_ld(source: Path, tmp_path: Path, variant: str) -> None:
    flags = VARIANTS[variant]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _build(source, ours, flags, f"-B{shim_dir()}")
    _build(source, theirs, flags, "-fuse-ld=bfd")
    a = subprocess.run([str(ours)], check=False, capture_output=True, timeout=30)
    b = subprocess.run([str(theirs)], check=False, capture_output=True, timeout=30)
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout)
    assert a.returncode == 9 and b" 14 12 tls buffer z 9 1 No such file or directory\n" in a.stdout
    with open(ours, "rb") as f:
        elf = ELFFile(f)
        tls = [s for s in elf.iter_segments() if s["p_type"] == "PT_TLS"]
        assert len(tls) == 1
        assert tls[0]["p_memsz"] >= 3000 + 40 and tls[0]["p_filesz"] < tls[0]["p_memsz"]
        if "static" in variant:
            assert not any(s["p_type"] == "PT_INTERP" for s in elf.iter_segments())
            assert elf.get_section_by_name(".rela.iplt") is not None  # glibc's IFUNCs
