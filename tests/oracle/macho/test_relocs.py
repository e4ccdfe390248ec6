"""The Mach-O relocation-field oracle: every relocation flavour of two assembled objects and
of the C programs, linked by linkharness and ld64.lld-14, is confirmed; each confirmed
field corrupted in turn is reported alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho.image import parse
from oracle.macho_relocs import check_macho_fields
from oracle.macho_relocs_inputs import read_object

LIBSYSTEM_TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"

FIRST = r"""
.text
.globl _main
_main:
    pushq %rbp
    movb $0x12, _bytevar(%rip)          # SIGNED_1
    movw $0x1234, _wordvar(%rip)        # SIGNED_2
    movl $0x12345678, _var+8(%rip)      # SIGNED with a folded immediate
    leaq Lstr(%rip), %rdi               # non-extern SIGNED into __cstring
    movq _var@GOTPCREL(%rip), %rax      # GOT_LOAD of a definition (may become leaq)
    movq _environ@GOTPCREL(%rip), %rax  # GOT_LOAD of an import
    pushq _environ@GOTPCREL(%rip)       # GOT (not a load: never relaxed)
    popq %rax
    addq _var@GOTPCREL(%rip), %rax      # GOT of a definition
    call _helper                        # BRANCH, defined
    call _second                        # BRANCH into the other object
    call _puts                          # BRANCH through a stub
    xorl %eax, %eax
    popq %rbp
    ret
_helper:
    ret
.section __TEXT,__cstring
Lstr: .asciz "hello"
.data
.globl _var
_var: .quad 1, 2, 3
_bytevar: .byte 0
.p2align 1
_wordvar: .short 0
.p2align 3
_ptrs:
    .quad _var + 16                     # UNSIGNED
    .quad _puts                         # UNSIGNED of an import: a bind
    .quad _var - _ptrs                  # SUBTRACTOR + UNSIGNED
    .quad _environ + 8                  # a bind with an addend
    .quad _second                       # UNSIGNED into the other object
"""

SECOND = r"""
.text
.globl _second
_second:
    leaq Lk2(%rip), %rax                # non-extern SIGNED into __DATA,__const
    movb $3, Lk1+1(%rip)                # non-extern, one immediate byte
    movl $0x11223344, Lk1+4(%rip)       # non-extern, four immediate bytes
    movw $0x77, Lk1+2(%rip)             # non-extern, two immediate bytes
    movq _var@GOTPCREL(%rip), %rcx      # GOT_LOAD of the other object's definition
    ret
.section __DATA,__const
.p2align 3
Lk0: .quad 0x1111
Lk2: .quad Lstr2                        # non-extern UNSIGNED into __cstring
     .quad Lk0                          # non-extern UNSIGNED into its own section
     .long Lk2 - _second                # SUBTRACTOR with a non-extern minuend
.section __TEXT,__cstring
Lstr1: .asciz "world"
Lstr2: .asciz "hello"
.section __DATA,__mydata
Lk1: .quad 0
"""


PROGRAM_A = r"""
int printf(const char *, ...);
int common_x;
extern int common_y;
int shared_table[3] = {1, 2, 3};
__attribute__((weak)) int weak_value = 10;
__attribute__((weak)) int weak_fn(void) { return 1; }
extern int b_fn(int);
static char big[100000];
const char *names[] = {"zero", "one", "two"};
int sw(int v) {
    switch (v) { case 0: return 11; case 1: return 22; case 2: return 33; case 3: return 44;
                 case 4: return 55; default: return -1; }
}
int main(int argc, char **argv) {
    big[99999] = 5;
    common_x = 4;
    common_y = 6;
    printf("%d %d %d %d %s %d %d %.2f\n", common_x + common_y, weak_value, weak_fn(), b_fn(3),
           names[argc], sw(argc + 2), big[99999] + shared_table[2], 3.25);
    return 0;
}
"""

PROGRAM_B = r"""
int common_y;
int weak_value = 20;
int weak_fn(void) { return 2; }
extern int shared_table[3];
static int helper(int v) { return v * shared_table[1]; }
int b_fn(int v) { return helper(v) + 1; }
"""


# a weak definition that loses to b.o's strong one, an inline-like weak function in both
# objects (one copy is dropped, so the atoms after it move), and same-named statics
PROGRAM_C = r"""
int printf(const char *, ...);
int d_value(void);
__attribute__((weak)) int hook(void) { return 1; }
__attribute__((weak)) int shared(void) { static int n; return ++n; }
static int count = 5;
int c_value(void) { return count + hook() + shared(); }
int main(void) { printf("%d %d\n", c_value(), d_value()); return 0; }
"""

PROGRAM_D = r"""
int hook(void) { return 2; }
__attribute__((weak)) int shared(void) { static int n; return ++n; }
static int count = 7;
int d_value(void) { return count + hook() + shared(); }
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[Path]]]:
    out = tmp_path_factory.mktemp("macho-relocs")
    built: dict[str, tuple[Path, list[Path]]] = {}
    for program, sources in (("asm", (("first.s", FIRST), ("second.s", SECOND))),
                             ("c", (("a.c", PROGRAM_A), ("b.c", PROGRAM_B))),
                             ("weak", (("c.c", PROGRAM_C), ("d.c", PROGRAM_D)))):
        objects = []
        for name, text in sources:
            src = out / name
            src.write_text(text)
            obj = src.with_suffix(".o")
            if name.endswith(".s"):
                cmd = ["llvm-mc-14", "-triple=x86_64-apple-macosx10.9", "-filetype=obj"]
            else:
                cmd = ["clang-14", "--target=x86_64-apple-macosx10.9", "-O2", "-fcommon", "-w",
                       "-c"]
            subprocess.run([*cmd, str(src), "-o", str(obj)], check=True)
            objects.append(obj)
        lld = out / f"{program}.lld"
        subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                        "11.0", "-o", str(lld), *map(str, objects), str(LIBSYSTEM_TBD)],
                       check=True)
        lh = out / f"{program}.lh"
        link([*map(str, objects), "-lSystem"], lh, target="macho-x86_64")
        built[f"{program}-lld"], built[f"{program}-lh"] = (lld, objects), (lh, objects)
    return built


def test_every_flavour_is_read(linked: dict[str, tuple[Path, list[Path]]]) -> None:
    _, objects = linked["asm-lh"]
    relocs = [r for path in objects for r in read_object(path).relocs]
    names = {r.type_name for r in relocs}
    assert {"X86_64_RELOC_SIGNED", "X86_64_RELOC_SIGNED_1", "X86_64_RELOC_SIGNED_2",
            "X86_64_RELOC_BRANCH", "X86_64_RELOC_GOT_LOAD", "X86_64_RELOC_GOT",
            "X86_64_RELOC_UNSIGNED",
            "X86_64_RELOC_UNSIGNED+SUBTRACTOR"} <= names
    assert any(not r.target.extern for r in relocs)
    assert any(not r.target.extern and r.subtrahend is not None for r in relocs)


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_assembled_objects_confirmed(linked: dict[str, tuple[Path, list[Path]]],
                                     flavour: str) -> None:
    exe, objects = linked[f"asm-{flavour}"]
    report = check_macho_fields(exe, objects)
    assert report.mismatches == ()
    total = sum(len(read_object(p).relocs) for p in objects)
    assert report.checked == total == 24
    assert any(c.rule == "dynamic" for c in report.confirmed)  # binds


@pytest.mark.parametrize(("source", "flavour"), [("hello.c", "lh"), ("hello.c", "lld"),
                                                 ("classic.c", "classic"),
                                                 ("kitchen.c", "lh"), ("kitchen.c", "lld"),
                                                 ("libtrace.c", "lh"), ("libtrace.c", "lld")])
def test_c_programs_confirmed(macho, source: str, flavour: str) -> None:
    exe = macho(source, flavour)
    report = check_macho_fields(exe, [exe.parent / Path(source).with_suffix(".o").name])
    assert report.mismatches == ()
    assert report.checked >= 4


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_weak_common_and_multi_object_c(linked: dict[str, tuple[Path, list[Path]]],
                                        flavour: str) -> None:
    """The strong definition beats the weak one (fields point at b.o's), commons merge,
    and the program runs the same under the emulated dyld."""
    exe, objects = linked[f"c-{flavour}"]
    report = check_macho_fields(exe, objects)
    assert report.mismatches == ()
    assert report.checked >= 12
    result = run(exe)
    assert (result.stdout, result.exit_code) == (b"10 20 2 7 one 44 8 3.25\n", 0)


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_weak_definitions_that_lose(linked: dict[str, tuple[Path, list[Path]]],
                                    flavour: str) -> None:
    """Fields in the dropped copy of `shared` and in the losing `hook` are skipped, the
    atoms after them are found where they moved, and both `count`s are told apart."""
    exe, objects = linked[f"weak-{flavour}"]
    report = check_macho_fields(exe, objects)
    assert report.mismatches == ()
    assert report.checked >= 8
    assert report.skipped.get("in a weak definition that lost") == 2
    assert check(exe) == []
    result = run(exe)
    assert (result.stdout, result.exit_code) == (b"8 11\n", 0)


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_each_corrupted_field_is_reported_alone(linked: dict[str, tuple[Path, list[Path]]],
                                                flavour: str, tmp_path: Path) -> None:
    exe, objects = linked[f"asm-{flavour}"]
    data = exe.read_bytes()
    img = parse(data)
    report = check_macho_fields(exe, objects)
    for site in report.confirmed:
        if site.rule == "dynamic":
            continue
        seg = img.segment_at(site.field)
        assert seg is not None
        at = seg.fileoff + site.field - seg.vmaddr
        bad = bytearray(data)
        bad[at] ^= 0x40
        path = tmp_path / "bad"
        path.write_bytes(bytes(bad))
        [mismatch] = check_macho_fields(path, objects).mismatches
        assert (mismatch.kind, mismatch.address, mismatch.offset) == (
            "value", site.address, site.offset), site


def test_wrong_bind_addend_is_reported(linked: dict[str, tuple[Path, list[Path]]],
                                       tmp_path: Path) -> None:
    exe, objects = linked["asm-lld"]
    img = parse(exe.read_bytes())
    assert img.dyld_info is not None
    off, size = img.dyld_info.bind
    data = bytearray(exe.read_bytes())
    stream = bytes(data[off : off + size])
    at = stream.index(bytes([0x60, 0x08]))  # SET_ADDEND_SLEB 8 (_environ + 8)
    data[off + at + 1] = 0x10
    bad = tmp_path / "addend"
    bad.write_bytes(bytes(data))
    [mismatch] = check_macho_fields(bad, objects).mismatches
    assert mismatch.kind == "unresolved" and "_environ+8" in mismatch.detail


def test_unreadable_output_is_a_finding(linked: dict[str, tuple[Path, list[Path]]],
                                       tmp_path: Path) -> None:
    exe, objects = linked["asm-lh"]
    bad = tmp_path / "truncated"
    bad.write_bytes(exe.read_bytes()[:200])
    (finding,) = check_macho_fields(bad, objects).mismatches
    assert (finding.kind, finding.file) == ("unreadable", str(bad))
    assert "not readable as Mach-O" in finding.detail and "\n" not in finding.detail
    truncated_input = tmp_path / "input.o"
    truncated_input.write_bytes(Path(objects[0]).read_bytes()[:40])
    (finding,) = check_macho_fields(exe, [truncated_input, *objects[1:]]).mismatches
    assert (finding.kind, finding.file) == ("unreadable", str(truncated_input))
