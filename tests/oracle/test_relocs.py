"""The relocation-field oracle on real C and assembler objects, linked by real linkers.

Four builds (x86-64 and i386, each -O0 with PLT calls and -O2 -fno-plt) of one program that
exercises static and global functions, extern arrays with addends, function pointer tables,
switch tables, merged strings, GOT loads from -fPIC code linked into a non-PIE executable,
and hand-written assembler for the narrow and GOT-relative types.  Each is linked by GNU ld,
lld and mold (and gold for i386: gold rejects R_X86_64_SIZE*), run natively, and checked:
zero mismatches.  Then every confirmed field is corrupted in turn and exactly that site must
be reported, with the formula that was confirmed before.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle.native import run_native
from oracle.reference import link_with_gcc
from oracle.relocs import ConfirmedSite, FieldReport, check_fields, check_fields_report

MAIN_C = r"""
#include <stdio.h>
extern int table[16];
extern const char *names[];
extern long asm_probe(void);
extern int pic_probe(int);
static int counter;
static int bump(int by) { counter += by; return counter; }
static int twice(int x) { return 2 * x; }
int (*const ops[])(int) = { bump, twice, pic_probe };
double scale = 1.5;
int pick(int k) {
    switch (k) { case 0: return 11; case 1: return 22; case 2: return 33; case 3: return 44;
                 case 4: return 55; case 5: return 66; default: return -1; }
}
int main(void) {
    int total = table[3] + table[15] + (int)(scale * 4.0);
    for (int i = 0; i < 3; i++) total += ops[i](i + 1);
    total += pick(4) + pick(9);
    printf("%s %s %d\n", names[0], names[1], total);
    fprintf(stdout, "asm %ld\n", asm_probe());
    puts("done");
    return 0;
}
"""

DATA_C = r"""
int table[16] = {1, 2, 3, 4, [15] = 16};
static const char hello[] = "hello";
const char *names[] = { hello, "world", hello + 1 };
int *table_end = &table[16];
int *table_mid = table + 8;
"""

PIC_C = r"""
#include <stdio.h>
extern int table[16];
int pic_counter = 7;
static int pic_helper(int x) { return x + pic_counter; }
int (*pic_pointer)(int) = pic_helper;
__attribute__((noinline)) int pic_local(int x) { return x * 3; }
int pic_probe(int x) {
    int (*fp)(int) = pic_local;
    fflush(stdout);
    return table[2] + pic_helper(x) + fp(x) + pic_pointer(1) + (stdout != 0);
}
"""

ABS_S = """
        .globl small_abs
        small_abs = 0x42
        .section .note.GNU-stack, "", @progbits
"""

ASM_X86_64_S = """
        .text
        .globl asm_probe
        .type asm_probe, @function
asm_probe:
        leaq _GLOBAL_OFFSET_TABLE_(%rip), %rdx      # R_X86_64_GOTPC32
        movabsq $asm_data@GOTOFF, %rax              # R_X86_64_GOTOFF64
        movq (%rdx,%rax), %rax
        movl $asm_data, %ecx                        # R_X86_64_32
        addq 8(%rcx), %rax
        movq $asm_data+8, %rcx                      # R_X86_64_32S
        addq (%rcx), %rax
        movl $asm_data@SIZE, %ecx                   # R_X86_64_SIZE32
        addq %rcx, %rax
        movzbl asm_bytes(%rip), %ecx                # R_X86_64_PC32
        addq %rcx, %rax
        movzwl asm_bytes+1(%rip), %ecx
        addq %rcx, %rax
        ret
        .size asm_probe, .-asm_probe

        .data
        .globl asm_data
        .type asm_data, @object
asm_data:
        .quad 100
        .quad 20
        .quad asm_data + 16                         # R_X86_64_64
        .quad asm_probe - .                         # R_X86_64_PC64
        .quad asm_data@SIZE                         # R_X86_64_SIZE64
        .size asm_data, .-asm_data

        .section .data.near_a, "aw"
asm_bytes:
        .byte small_abs                             # R_X86_64_8
        .word small_abs + 0x100                     # R_X86_64_16
        .byte near_b - .                            # R_X86_64_PC8
        .word near_b - .                            # R_X86_64_PC16
        .section .data.near_b, "aw"
near_b:
        .long 0
        .section .note.GNU-stack, "", @progbits
"""

ASM_I386_S = """
        .text
        .globl asm_probe
        .type asm_probe, @function
asm_probe:
        pushl %ebx
        call 1f
1:      popl %ebx
        addl $_GLOBAL_OFFSET_TABLE_+(.-1b), %ebx     # R_386_GOTPC
        movl asm_data@GOTOFF(%ebx), %eax             # R_386_GOTOFF
        movl asm_data@GOT(%ebx), %ecx                # R_386_GOT32X
        addl 4(%ecx), %eax
        addl asm_data+8, %eax                        # R_386_32
        movzbl asm_bytes, %ecx
        addl %ecx, %eax
        popl %ebx
        ret
        .size asm_probe, .-asm_probe

        .data
        .globl asm_data
        .type asm_data, @object
asm_data:
        .long 100, 20, 3
        .long asm_probe - .                          # R_386_PC32 in data
        .size asm_data, .-asm_data
        .section .data.near_a, "aw"
asm_bytes:
        .byte small_abs                              # R_386_8
        .word small_abs + 0x100                      # R_386_16
        .byte near_b - .                             # R_386_PC8
        .word near_b - .                             # R_386_PC16
        .section .data.near_b, "aw"
near_b:
        .long 0
        .section .note.GNU-stack, "", @progbits
"""

# assembled with -mrelax-relocations=no: the old, unmarked R_386_GOT32
GOT32_I386_S = """
        .text
        .globl got32_probe
got32_probe:
        pushl %ebx
        call 1f
1:      popl %ebx
        addl $_GLOBAL_OFFSET_TABLE_+(.-1b), %ebx
        movl asm_data@GOT(%ebx), %eax
        movl (%eax), %eax
        popl %ebx
        ret
        .section .note.GNU-stack, "", @progbits
"""

EXPECTED_STDOUT = {False: b"hello world 116\nasm 568\ndone\n",
                   True: b"hello world 116\nasm 189\ndone\n"}


@dataclass(frozen=True)
class Build:
    name: str
    m32: bool
    objects: tuple[str, ...]


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _build(root: Path, name: str, m32: bool, opt: str, plt: bool) -> Build:
    out = root / name
    out.mkdir()
    for file_name, text in (("main.c", MAIN_C), ("data.c", DATA_C), ("pic.c", PIC_C),
                            ("abs.s", ABS_S), ("asm.s", ASM_I386_S if m32 else ASM_X86_64_S),
                            ("got32.s", GOT32_I386_S)):
        (out / file_name).write_text(text)
    arch = ["-m32"] if m32 else []
    as_arch = ["--32"] if m32 else []
    cc = ["gcc", *arch, "-c", opt]
    _run(*cc, "-fno-pie", str(out / "main.c"), "-o", str(out / "main.o"))
    _run(*cc, "-fno-pie", str(out / "data.c"), "-o", str(out / "data.o"))
    _run(*cc, "-fPIC", *([] if plt else ["-fno-plt"]), str(out / "pic.c"), "-o",
         str(out / "pic.o"))
    _run("as", *as_arch, str(out / "asm.s"), "-o", str(out / "asm.o"))
    _run("as", *as_arch, str(out / "abs.s"), "-o", str(out / "abs.o"))
    names = ["main.o", "data.o", "pic.o", "asm.o", "abs.o"]
    if m32:
        _run("as", "--32", "-mrelax-relocations=no", str(out / "got32.s"), "-o",
             str(out / "got32.o"))
        names.append("got32.o")
    return Build(name, m32, tuple(str(out / n) for n in names))


BUILDS = {"x64-O0": (False, "-O0", True), "x64-O2-noplt": (False, "-O2", False),
          "i386-O0": (True, "-O0", True), "i386-O2-noplt": (True, "-O2", False)}
LINKS = [(b, linker) for b in BUILDS for linker in ("bfd", "lld", "mold", "gold")
         if not (linker == "gold" and not BUILDS[b][0])]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    root = tmp_path_factory.mktemp("relocs")
    return {name: _build(root, name, *spec) for name, spec in BUILDS.items()}


@pytest.fixture(scope="module")
def outputs(builds: dict[str, Build]) -> dict[tuple[str, str], str]:
    linked = {}
    for build_name, linker in LINKS:
        build = builds[build_name]
        output = str(Path(build.objects[0]).with_name(f"prog.{linker}"))
        result = link_with_gcc(linker, build.objects, output, m32=build.m32)
        assert result.ok, f"{linker} failed on {build_name}: {result.stderr}"
        linked[(build_name, linker)] = output
    return linked


@pytest.fixture(scope="module")
def reports(builds: dict[str, Build],
            outputs: dict[tuple[str, str], str]) -> dict[tuple[str, str], FieldReport]:
    return {key: check_fields_report(path, builds[key[0]].objects)
            for key, path in outputs.items()}


@pytest.mark.parametrize("key", LINKS, ids=[f"{b}-{linker}" for b, linker in LINKS])
def test_reference_output_runs_and_every_field_agrees(
        key: tuple[str, str], builds: dict[str, Build], outputs: dict[tuple[str, str], str],
        reports: dict[tuple[str, str], FieldReport]) -> None:
    run = run_native(outputs[key])
    assert (run.exit_code, run.stdout) == (0, EXPECTED_STDOUT[builds[key[0]].m32])
    report = reports[key]
    assert report.mismatches == (), str(report)
    assert report.checked >= 45
    assert check_fields(outputs[key], builds[key[0]].objects) == []


X86_64_TYPES = {"R_X86_64_64", "R_X86_64_32", "R_X86_64_32S", "R_X86_64_16", "R_X86_64_8",
                "R_X86_64_PC64", "R_X86_64_PC32", "R_X86_64_PC16", "R_X86_64_PC8",
                "R_X86_64_PLT32", "R_X86_64_GOTPCRELX", "R_X86_64_REX_GOTPCRELX",
                "R_X86_64_GOTPC32", "R_X86_64_GOTOFF64", "R_X86_64_SIZE32", "R_X86_64_SIZE64"}
I386_TYPES = {"R_386_32", "R_386_PC32", "R_386_16", "R_386_PC16", "R_386_8", "R_386_PC8",
              "R_386_PLT32", "R_386_GOT32", "R_386_GOT32X", "R_386_GOTOFF", "R_386_GOTPC"}


def _confirmed(reports: dict[tuple[str, str], FieldReport],
               arch: str) -> Iterator[tuple[str, ConfirmedSite]]:
    for (build, linker), report in reports.items():
        if build.startswith(arch):
            for site in report.confirmed:
                yield linker, site


def test_every_listed_type_is_confirmed(reports: dict[tuple[str, str], FieldReport]) -> None:
    assert {s.type_name for _, s in _confirmed(reports, "x64")} >= X86_64_TYPES
    assert {s.type_name for _, s in _confirmed(reports, "i386")} >= I386_TYPES


def test_relaxed_forms_are_recognised(reports: dict[tuple[str, str], FieldReport]) -> None:
    x64 = {(linker, s.rule) for linker, s in _confirmed(reports, "x64") if s.rule}
    # lld and mold turn the -fPIC `mov foo@GOTPCREL(%rip)` into lea, GNU ld into mov $imm
    assert ("lld", "mov -> lea") in x64 and ("bfd", "mov -> mov $imm") in x64
    assert any(rule.startswith("call ->") for _, rule in x64)
    i386 = {s.rule for _, s in _confirmed(reports, "i386") if s.rule}
    assert {"mov -> lea @GOTOFF", "mov -> mov $imm"} <= i386


LAYOUTS = [("bfd", "-z,ibtplt", ".plt.sec"), ("lld", "-z,force-ibt", ".plt.sec"),
           ("bfd", "-z,now", ".plt"), ("lld", "-z,now", ".plt"), ("mold", "-z,now", ".plt")]


@pytest.mark.parametrize("linker,flag,plt", LAYOUTS, ids=[f"{a}{b}" for a, b, _ in LAYOUTS])
def test_ibt_and_bind_now_plt_layouts(linker: str, flag: str, plt: str,
                                      builds: dict[str, Build], tmp_path: Path) -> None:
    """.plt.sec entries (endbr64; bnd jmp *slot) are decoded like the classic ones."""
    build = builds["x64-O0"]
    output = str(tmp_path / "prog")
    result = link_with_gcc(linker, build.objects, output, extra=[f"-Wl,{flag}"])
    assert result.ok, result.stderr
    assert run_native(output).stdout == EXPECTED_STDOUT[False]
    report = check_fields_report(output, build.objects)
    assert report.mismatches == (), str(report)
    from oracle.relocs.image import read_image

    image = read_image(output)
    plt_section = image.section_named(plt)
    assert plt_section is not None
    calls = [s for s in report.confirmed if s.type_name == "R_X86_64_PLT32"
             and plt_section.contains(_plt_target(s))]
    assert calls, "no call was confirmed through a PLT entry in " + plt


def _plt_target(site: ConfirmedSite) -> int:
    """L, read back from a confirmed "L + A - P = L + a - p = v" formula."""
    return int(site.formula.split("=")[1].split()[0], 16)


def _file_offset(path: str, address: int) -> int:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if sec["sh_type"] != "SHT_NOBITS" and sec["sh_addr"] <= address < \
                    sec["sh_addr"] + sec["sh_size"]:
                return int(address - sec["sh_addr"] + sec["sh_offset"])
    raise AssertionError(f"{address:#x} is not in a section with file contents")


MUTATED = [("x64-O2-noplt", "lld"), ("x64-O0", "bfd"), ("x64-O2-noplt", "mold"),
           ("i386-O0", "mold"), ("i386-O2-noplt", "bfd")]


@pytest.mark.parametrize("key", MUTATED, ids=[f"{b}-{linker}" for b, linker in MUTATED])
def test_each_corrupted_field_is_reported_alone(
        key: tuple[str, str], builds: dict[str, Build], outputs: dict[tuple[str, str], str],
        reports: dict[tuple[str, str], FieldReport], tmp_path: Path) -> None:
    original = Path(outputs[key]).read_bytes()
    objects = builds[key[0]].objects
    sites = [s for s in reports[key].confirmed if s.rule != "dynamic"]
    assert len(sites) >= 45
    mutant = tmp_path / "mutant"
    for site in sites:
        data = bytearray(original)
        at = _file_offset(outputs[key], site.field)
        data[at] ^= 0x5A
        mutant.write_bytes(data)
        found = check_fields(str(mutant), objects)
        where = [(m.file, m.section, m.offset) for m in found]
        assert where == [(site.file, site.section, site.offset)], \
            f"corrupting {site} gave:\n" + "\n".join(map(str, found))
        (m,) = found
        # a field inside a rewritten (relaxed) instruction is reported as a relaxation
        assert m.kind == ("relaxation" if site.rule else "value")
        assert m.type_name == site.type_name
        assert m.formula == site.formula and m.address == site.address
        if site.field == site.address:
            assert m.actual[0] == original[at] ^ 0x5A and m.expected[0] == original[at]
        assert "=>" in str(m) or m.disassembly  # code sites show disassembly


def test_undoing_a_relaxation_is_reported_as_such(
        builds: dict[str, Build], outputs: dict[tuple[str, str], str],
        reports: dict[tuple[str, str], FieldReport], tmp_path: Path) -> None:
    key = ("x64-O2-noplt", "lld")
    site = next(s for s in reports[key].confirmed if s.rule == "mov -> lea")
    data = bytearray(Path(outputs[key]).read_bytes())
    opcode = _file_offset(outputs[key], site.address) - 2
    assert data[opcode] == 0x8D
    data[opcode] = 0x8B  # back to a GOT load, but the field still points at the symbol
    mutant = tmp_path / "unrelaxed"
    mutant.write_bytes(data)
    (m,) = check_fields(str(mutant), builds[key[0]].objects)
    # lld relaxed every load of the symbol, so no GOT slot exists for the restored mov
    assert (m.kind, m.offset, m.symbol) == ("unresolved", site.offset, site.symbol)
    assert f"no GOT slot for {site.symbol}" in m.detail and "the field points at" in m.detail


@pytest.mark.parametrize("name", BUILDS)
def test_linkharness_output_agrees_with_its_inputs(name: str, builds: dict[str, Build],
                                                   tmp_path: Path) -> None:
    """linkharness links the same objects (crt files and libc included) without a mismatch."""
    from linker import link

    build = builds[name]
    if True:
        flags = ["-m32"] if build.m32 else []

        def crt(file_name: str) -> str:
            return subprocess.run(["gcc", *flags, f"-print-file-name={file_name}"],
                                  capture_output=True, text=True, check=True).stdout.strip()

        libdir = str(Path(crt("libc.so")).parent)  # /usr/lib32 or /usr/lib/i386-linux-gnu
        output = tmp_path / f"{name}.lh"
        link_map = tmp_path / f"{name}.map"
        link([crt("crt1.o"), crt("crti.o"), *build.objects, "-lc", crt("crtn.o")], output,
             target="elf32-i386" if build.m32 else "elf64-x86-64", library_paths=[libdir],
             dynamic_linker="/lib/ld-linux.so.2" if build.m32
             else "/lib64/ld-linux-x86-64.so.2", map_file=link_map)
        report = check_fields_report(str(output), build.objects, link_map=str(link_map))
        assert report.mismatches == (), f"{name}: {report}"
        assert run_native(str(output)).stdout == EXPECTED_STDOUT[build.m32]
