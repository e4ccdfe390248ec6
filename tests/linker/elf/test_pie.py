"""Position-independent executables (`-pie`, gcc's default) on elf64-x86-64 and elf32-i386.

Linked through the gcc shim with no -no-pie (the way a Debian user links), run natively and
under the emulator (which loads an ET_DYN at a base far from its link address 0), checked
structurally and field by field; the PIE-specific decisions (RELATIVE relocations first and
counted, GLOB_DAT for imports, COPY for data, refusal of absolute 32-bit addressing) are
asserted on the output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from linker import shim_dir
from linker.api import link
from linker.errors import LinkError
from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
extern char **environ;                      /* imported data: COPY in a PIE too */
static const char *names[] = {"zero", "one", "two"};    /* .data.rel.ro: RELATIVE */
static int table[3] = {7, 8, 9};
int *pointers[] = {&table[0], &table[2]};  /* .data: RELATIVE */
int (*volatile hook)(const char *) = puts;  /* an import's address in data: R_X86_64_64 */
__thread int tls_counter = 40;             /* TLS stays TP-relative */
static int twice(int x) { return 2 * x; }
int (*ops[])(int) = {twice};
int main(int argc, char **argv) {
    (void)argv;
    tls_counter += argc;
    hook(names[argc]);
    printf("%d %d %d %d %d\n", *pointers[0], *pointers[1], ops[0](argc), tls_counter,
           environ != NULL);
    return 0;
}
"""
EXPECTED = "one\n7 9 2 41 1\n"

R_X86_64_RELATIVE = 8


def _sh(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def pie(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("pie")
    src = tmp / "prog.c"
    src.write_text(PROGRAM)
    obj = tmp / "prog.o"
    done = _sh("gcc", "-O1", "-c", src, "-o", obj)  # Debian's gcc: -fPIE by default
    assert done.returncode == 0, done.stderr
    exe = tmp / "prog"
    done = _sh("gcc", "-B", shim_dir(), obj, "-o", exe)  # gcc's default -pie
    assert done.returncode == 0, done.stderr
    return exe, obj


def test_gcc_default_pie_runs_natively_and_emulated(pie: tuple[Path, Path]) -> None:
    exe, _ = pie
    done = _sh(exe)
    assert (done.returncode, done.stdout) == (0, EXPECTED)
    emulated = run(exe)
    assert emulated.stdout.decode() == EXPECTED, emulated


def test_pie_is_et_dyn_at_zero_with_interp_phdr_and_flags(pie: tuple[Path, Path]) -> None:
    exe, _ = pie
    with exe.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_DYN"
        kinds = [s["p_type"] for s in elf.iter_segments()]
        assert kinds[:2] == ["PT_PHDR", "PT_INTERP"]
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads[0]["p_vaddr"] == 0
        dyn = next(s for s in elf.iter_sections() if isinstance(s, DynamicSection))
        tags = {t.entry.d_tag: t.entry.d_val for t in dyn.iter_tags()}
        assert tags["DT_FLAGS_1"] & 0x08000000  # DF_1_PIE
        assert "DT_TEXTREL" not in tags
        rela = elf.get_section_by_name(".rela.dyn")
        assert isinstance(rela, RelocationSection)
        types = [r["r_info_type"] for r in rela.iter_relocations()]
        count = tags["DT_RELACOUNT"]
        assert count >= 6  # names[3], pointers[2], ops[1] and the init/fini arrays
        assert types[:count] == [R_X86_64_RELATIVE] * count
        assert R_X86_64_RELATIVE not in types[count:]
        syms = elf.get_section_by_name(".dynsym")
        assert isinstance(syms, SymbolTableSection)
        named = {rela_sym: r["r_info_type"] for r in rela.iter_relocations()
                 if (rela_sym := syms.get_symbol(r["r_info_sym"]).name)}
    assert named["environ"] == 5  # R_X86_64_COPY: gcc -fPIE reaches it pc-relatively
    assert named["puts"] == 1  # R_X86_64_64 in .data


def test_pie_is_clean_for_the_checker_and_the_field_oracle(pie: tuple[Path, Path]) -> None:
    exe, obj = pie
    assert check(str(exe)) == []
    assert check_fields(str(exe), [str(obj)]) == []


def test_pie_without_its_relative_relocations_misbehaves(pie: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    """The emulator loads the PIE away from 0: turning the RELATIVEs into R_X86_64_NONE
    must break the run (the harness can see a missing RELATIVE)."""
    exe, _ = pie
    data = bytearray(exe.read_bytes())
    with exe.open("rb") as f:
        rela = ELFFile(f).get_section_by_name(".rela.dyn")
        assert isinstance(rela, RelocationSection)
        offset, size = rela["sh_offset"], rela["sh_size"]
    for at in range(offset, offset + size, 24):
        if data[at + 8] == R_X86_64_RELATIVE:
            data[at + 8] = 0
    broken = tmp_path / "broken"
    broken.write_bytes(bytes(data))
    result = run(broken)
    assert result.stdout.decode() != EXPECTED or result.faults != []


ABSOLUTE = r"""
int x;
int *where(void) { return &x; }
int main(void) { return *where(); }
"""


def test_absolute_32_bit_address_in_a_pie_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "abs.c"
    src.write_text(ABSOLUTE)
    obj = tmp_path / "abs.o"
    done = _sh("gcc", "-O1", "-fno-pic", "-c", src, "-o", obj)  # movl $x, %eax: R_X86_64_32
    assert done.returncode == 0, done.stderr
    out = tmp_path / "abs"
    with pytest.raises(LinkError) as e:
        link([obj], out, entry="main", pie=True)
    text = str(e.value)
    assert "abs.o" in text and ".text" in text and "recompile with -fPIE" in text
    assert "R_X86_64_32" in text and "x" in text
    assert not out.exists()


WEAK_LEA = """
.globl _start
.weak maybe
.text
_start:
  leaq maybe(%rip), %rax       # R_X86_64_PC32 to an undefined weak symbol
  call maybe_too@PLT           # a call through the PLT may stay (GNU ld, lld, mold agree)
  movl $60, %eax
  syscall
.weak maybe_too
"""


def test_pc_relative_address_of_an_undefined_weak_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "w.s"
    src.write_text(WEAK_LEA)
    obj = tmp_path / "w.o"
    assert _sh("as", "--64", src, "-o", obj).returncode == 0
    with pytest.raises(LinkError, match=r"w\.o: section \.text\+0x3: symbol maybe: "
                       "R_X86_64_PC32 .*recompile with -fPIE"):
        link([obj], tmp_path / "w", pie=True)
    link([obj], tmp_path / "w-exec")  # fine in a fixed-address executable: maybe is 0
    src.write_text(WEAK_LEA.replace("  leaq maybe(%rip), %rax", ""))
    assert _sh("as", "--64", src, "-o", obj).returncode == 0
    link([obj], tmp_path / "w", pie=True)


I386_PROGRAM = r"""
#include <stdio.h>
static const char *names[] = {"zero", "one", "two"};   /* .data.rel.ro: R_386_RELATIVE */
static int table[3] = {7, 8, 9};
int *pointers[] = {&table[0], &table[2]};
static int twice(int x) { return 2 * x; }
int (*ops[])(int) = {twice};
int main(int argc, char **argv) {
    (void)argv;
    puts(names[argc]);                       /* a call through the PIC PLT: jmp *n(%ebx) */
    printf("%d %d %d\n", *pointers[0], *pointers[1], ops[0](argc));
    return 0;
}
"""
I386_EXPECTED = "one\n7 9 2\n"


def test_i386_pie_with_the_pic_plt(tmp_path: Path) -> None:
    src = tmp_path / "p32.c"
    src.write_text(I386_PROGRAM)
    obj = tmp_path / "p32.o"
    assert _sh("gcc", "-m32", "-O1", "-fPIE", "-c", src, "-o", obj).returncode == 0
    exe = tmp_path / "p32"
    done = _sh("gcc", "-m32", "-B", shim_dir(), obj, "-o", exe)
    assert done.returncode == 0, done.stderr
    done = _sh(exe)
    assert (done.returncode, done.stdout) == (0, I386_EXPECTED)
    assert run(exe).stdout.decode() == I386_EXPECTED
    assert check(str(exe)) == []
    assert check_fields(str(exe), [str(obj)]) == []
    with exe.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_DYN"
        plt = elf.get_section_by_name(".plt")
        assert plt is not None
        code = plt.data()
        assert code[:12] == bytes.fromhex("ffb304000000ffa308000000")  # push 4(%ebx); jmp *8(%ebx)
        assert code[16:18] == bytes.fromhex("ffa3")  # jmp *slot-GOT(%ebx)
        rel = elf.get_section_by_name(".rel.dyn")
        assert isinstance(rel, RelocationSection)
        dyn = next(s for s in elf.iter_sections() if isinstance(s, DynamicSection))
        count = next(t.entry.d_val for t in dyn.iter_tags() if t.entry.d_tag == "DT_RELCOUNT")
        types = [r["r_info_type"] for r in rel.iter_relocations()]
        assert count >= 5 and types[:count] == [8] * count  # R_386_RELATIVE first, counted


def test_i386_pie_refuses_absolute_code(tmp_path: Path) -> None:
    src = tmp_path / "abs32.c"
    src.write_text(ABSOLUTE)
    obj = tmp_path / "abs32.o"
    assert _sh("gcc", "-m32", "-O1", "-fno-pic", "-c", src, "-o", obj).returncode == 0
    with pytest.raises(LinkError, match="R_386_32 .*recompile with -fPIE"):
        link([obj], tmp_path / "abs32", target="elf32-i386", entry="main", pie=True)
