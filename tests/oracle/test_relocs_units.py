"""The field oracle's special cases, each on a few lines of assembler linked by GNU ld.

Unsupported (TLS) types, COMDAT losers, merged strings, same-named locals told apart by
STT_FILE order, link-map hints that must be confirmed by the bytes, overflow, and the
shape of a report.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from oracle.reference import link_reference
from oracle.relocs import FieldMismatch, FieldReport, check_fields, check_fields_report
from oracle.relocs.image import read_image
from oracle.relocs.inputs import read_object
from oracle.relocs.placement import place_section

START = """
        .text
        .globl _start
_start: mov $60, %eax
        xor %edi, %edi
        syscall
"""


def _assemble(directory: Path, name: str, text: str) -> str:
    source = directory / f"{name}.s"
    source.write_text(text + '\n        .section .note.GNU-stack, "", @progbits\n')
    obj = directory / f"{name}.o"
    subprocess.run(["as", str(source), "-o", str(obj)], check=True, capture_output=True)
    return str(obj)


def _link(directory: Path, objects: list[str], *extra: str) -> str:
    output = str(directory / "out")
    result = link_reference("bfd", objects, output, extra=extra)
    assert result.ok, result.stderr
    return output


def _patch(path: str, address: int, xor: int) -> None:
    image = read_image(path)
    sec = image.section_at(address)
    assert sec is not None
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        offset = next(s["sh_offset"] for s in ELFFile(f).iter_sections() if s.name == sec.name)
    data = bytearray(Path(path).read_bytes())
    data[offset + address - sec.addr] ^= xor
    Path(path).write_bytes(data)


TLS_S = """
        .text
        .globl get
get:    movq %fs:tv@tpoff, %rax          # R_X86_64_TPOFF32 (local exec)
        movq tv2@gottpoff(%rip), %rcx    # R_X86_64_GOTTPOFF (initial exec: relaxed)
        addq tv2@gottpoff(%rip), %rdx
        leaq get(%rip), %rcx
        ret
        .data
        .long tv@dtpoff                  # R_X86_64_DTPOFF32: the offset in the block
        .section .tbss, "awT", @nobits
tv:     .zero 8
        .section .tdata, "awT", @progbits
tv2:    .quad 5
"""


@pytest.mark.parametrize("linker", ["bfd", "lld", "mold"])
def test_tls_exec_models_and_dtp_offsets_are_checked(linker: str, tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START), _assemble(tmp_path, "tls", TLS_S)]
    output = str(tmp_path / "out")
    result = link_reference(linker, objects, output)
    assert result.ok, result.stderr
    report = check_fields_report(output, objects)
    assert list(report.mismatches) == []
    kinds = sorted((s.type_name, s.rule) for s in report.confirmed)
    assert [t for t, _ in kinds] == ["R_X86_64_DTPOFF32", "R_X86_64_GOTTPOFF",
                                     "R_X86_64_GOTTPOFF", "R_X86_64_PC32", "R_X86_64_TPOFF32"]
    dtpoff = next(s for s in report.confirmed if s.type_name == "R_X86_64_DTPOFF32")
    # lld relaxes every DTPOFF32 of an executable to a TP offset (local dynamic to local
    # exec), data included; GNU ld and mold write the offset in the block
    assert "- TLS" in dtpoff.formula or (linker == "lld" and dtpoff.rule == "LD -> LE")
    # a linker may rewrite the loads into immediates or keep a GOT slot holding S - TP
    rules = {rule for t, rule in kinds if t == "R_X86_64_GOTTPOFF"}
    assert rules <= {"mov -> mov $imm", "add -> add $imm", "add -> lea", ""}
    if linker == "bfd":
        assert "mov -> mov $imm" in rules and any(r.startswith("add -> ") for r in rules)
    tpoff = next(s for s in report.confirmed if s.type_name == "R_X86_64_TPOFF32")
    assert "- TP" in tpoff.formula
    _patch(output, tpoff.field, 0x08)
    found = check_fields(output, objects)
    assert [(m.kind, m.type_name) for m in found if m.kind != "unsupported"] == [
        ("value", "R_X86_64_TPOFF32")]


def test_comdat_losers_are_skipped_and_counted(tmp_path: Path) -> None:
    def member(name: str) -> str:
        return _assemble(tmp_path, name, f"""
        .section .text.inl, "axG", @progbits, inl, comdat
        .globl inl
inl:    movl ${name}_data, %eax
        ret
        .data
        .globl {name}_data
{name}_data: .long 1
""")

    objects = [_assemble(tmp_path, "start", START), member("a"), member("b")]
    report = check_fields_report(_link(tmp_path, objects), objects)
    assert report.mismatches == ()
    assert report.skipped["in discarded COMDAT sections"] == 1
    assert [(Path(s.file).name, s.symbol) for s in report.confirmed] == [("a.o", "a_data")]


MERGED = """
        .text
        .globl {name}
{name}: leaq .L{name}0(%rip), %rdi        # PC32 against a kept local .L symbol
        movl $.L{name}1, %esi            # R_X86_64_32
        ret
        .data
        .quad .rodata.str1.1 + {offset}  # a section symbol with an addend into the strings
        .section .rodata.str1.1, "aMS", @progbits, 1
.L{name}0: .asciz "{first}"
.L{name}1: .asciz "{second}"
"""


def test_merged_strings_are_found_wherever_the_linker_put_them(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START),
               _assemble(tmp_path, "m1", MERGED.format(name="m1", offset=2, first="hello",
                                                       second="shared")),
               _assemble(tmp_path, "m2", MERGED.format(name="m2", offset=8, first="shared",
                                                       second="llo"))]
    output = _link(tmp_path, objects)
    report = check_fields_report(output, objects)
    assert report.mismatches == (), str(report)
    assert report.checked == 6
    # GNU ld keeps one copy of "shared", and "llo" may live inside "hello"
    rodata = read_image(output).section_named(".rodata")
    assert rodata is not None and rodata.data.count(b"shared\0") == 1
    site = next(s for s in report.confirmed
                if Path(s.file).name == "m2.o" and s.type_name == "R_X86_64_32")
    _patch(output, site.field, 0x01)
    (m,) = check_fields(output, objects)
    assert (Path(m.file).name, m.type_name, m.kind) == ("m2.o", "R_X86_64_32", "value")


def _dup(directory: Path, name: str, value: int) -> str:
    sub = directory / name
    sub.mkdir()
    return _assemble(sub, "dup", f"""
        .file "dup.c"
        .section .text.helper, "ax"
helper: movl ${value}, %eax
        ret
        .text
        .globl {name}
{name}: call helper
        ret
""")


def test_same_named_locals_are_told_apart_by_file_order(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START), _dup(tmp_path, "first", 1),
               _dup(tmp_path, "second", 2)]
    output = _link(tmp_path, objects)
    report = check_fields_report(output, objects)
    assert report.mismatches == ()
    image = read_image(output)
    helpers = sorted(s.value for s in image.locals["helper"])
    first, second = sorted(report.confirmed, key=lambda s: s.file)
    # each call lands on its own file's helper: S is the helper of that file
    assert f"{helpers[0]:#x}" in first.formula and f"{helpers[1]:#x}" in second.formula


def test_link_map_is_a_hint_that_the_bytes_must_confirm(tmp_path: Path) -> None:
    obj_path = _assemble(tmp_path, "k", """
        .section .rodata.k, "a"
        .quad 0x1122334455667788
        .text
        .globl get
get:    movq .rodata.k(%rip), %rax
        ret
""")
    objects = [_assemble(tmp_path, "start", START), obj_path]
    output = _link(tmp_path, objects)
    image = read_image(output)
    obj = read_object(obj_path)
    index = next(i for i, s in obj.sections.items() if s.name == ".rodata.k")
    rodata = image.section_named(".rodata")
    assert rodata is not None
    right = rodata.addr + rodata.data.index(bytes.fromhex("8877665544332211"))
    assert place_section(image, obj, obj.sections[index], 0, right).how == "map"
    wrong = place_section(image, obj, obj.sections[index], 0, right + 8)
    assert (wrong.how, wrong.candidates) == ("content", (right,))
    link_map = tmp_path / "map.json"
    link_map.write_text(json.dumps({"sections": [
        {"file": obj_path, "section": ".rodata.k", "index": index, "address": right + 8}]}))
    assert check_fields(output, objects, link_map=str(link_map)) == []


def test_a_value_that_does_not_fit_is_an_overflow(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START),
               _assemble(tmp_path, "big", ".globl big\n        big = 0x1ff"),
               _assemble(tmp_path, "use", ".data\n        .byte big")]
    # --noinhibit-exec: GNU ld reports the truncation but still writes the output
    output = str(tmp_path / "out")
    link_reference("bfd", objects, output, extra=["--noinhibit-exec"])
    (m,) = check_fields(output, objects)
    assert (m.kind, m.type_name, m.expected, m.actual) == ("overflow", "R_X86_64_8",
                                                           b"\xff", b"\xff")
    assert "0x1ff does not fit" in m.detail


def test_non_relocatable_inputs_are_counted_not_read(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START)]
    report = check_fields_report(_link(tmp_path, objects), [*objects, "-lc", "/nonexistent"])
    assert report.skipped["non-relocatable inputs"] == 2 and report.mismatches == ()


def test_a_report_reads_as_one_block_per_site() -> None:
    m = FieldMismatch("value", "a.o", ".text", 0x11, "R_X86_64_PC32", "foo",
                      "S + A - P = 0x401020 + -0x4 - 0x401005 = 0x17", b"\x17\0\0\0",
                      b"\x18\0\0\0", 0x401005, ("=> 0x401004: e8 18 00 00 00  call 0x401021",))
    text = str(m).splitlines()
    assert text[0] == "value: a.o(.text+0x11) R_X86_64_PC32 foo at 0x401005"
    assert text[1] == "  formula:  S + A - P = 0x401020 + -0x4 - 0x401005 = 0x17"
    assert text[2:4] == ["  expected: 17 00 00 00", "  actual:   18 00 00 00"]
    assert text[4].startswith("  => 0x401004")
    summary = str(FieldReport((m,), (), {"in .eh_frame": 3})).splitlines()
    assert summary[0] == "0 relocation fields confirmed, 1 mismatches; skipped: in .eh_frame: 3"


@pytest.mark.parametrize("linker", ["lld", "mold"])
def test_import_calls_go_through_decoded_plt_entries(linker: str, tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "calls", """
        .text
        .globl _start
_start: call puts@PLT
        call *getpid@GOTPCREL(%rip)
        mov $60, %eax
        syscall
""")]
    output = str(tmp_path / "out")
    libdir = str(Path(subprocess.run(["gcc", "-print-file-name=libc.so"], capture_output=True,
                                     text=True, check=True).stdout.strip()).parent)
    result = link_reference(linker, objects, output, libs=["c"], lib_paths=[libdir])
    assert result.ok, result.stderr
    report = check_fields_report(output, objects)
    assert report.mismatches == ()
    got, plt = sorted(report.confirmed, key=lambda s: s.type_name)
    assert plt.formula.startswith("L + A - P") and got.formula.startswith("G + A - P")
    _patch(output, plt.field, 0x10)  # call the neighbouring PLT entry instead
    (m,) = check_fields(output, objects)
    assert (m.symbol, m.kind) == ("puts", "value")


def test_an_unreadable_output_is_a_finding_not_an_exception(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START)]
    output = Path(_link(tmp_path, objects))
    output.write_bytes(output.read_bytes()[:100])  # headers promise sections that are gone
    (finding,) = check_fields(str(output), objects)
    assert (finding.kind, finding.file) == ("unreadable", str(output))
    assert finding.offset > 0 and "runs past the end" in finding.detail  # the headers' offset
    assert "not readable as ELF" in finding.detail and "\n" not in finding.detail


def test_an_unreadable_input_is_a_finding_naming_it(tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "start", START)]
    output = _link(tmp_path, objects)
    broken = tmp_path / "broken.o"
    data = bytearray(Path(objects[0]).read_bytes())
    data[0x28:0x30] = (len(data) + 0x1000).to_bytes(8, "little")  # e_shoff past the end
    broken.write_bytes(bytes(data))
    (finding,) = check_fields(output, [str(broken)])
    assert (finding.kind, finding.file, finding.offset) == ("unreadable", str(broken),
                                                            len(data) + 0x1000)


WEAK_MAIN_C = r"""
#include <stdio.h>
int common_a;
__attribute__((weak)) int weak_val = 1;
__attribute__((weak)) int weak_fn(void) { return 1; }
extern __attribute__((weak)) int missing_fn(void);
__attribute__((visibility("hidden"))) int hidden_counter = 5;
extern int common_b;
int main(void) {
    common_a = 2; common_b = 3;
    printf("%d %d %d %d %d\n", weak_val, weak_fn(), missing_fn ? 1 : 0, hidden_counter,
           common_a + common_b);
    return 0;
}
"""
WEAK_OTHER_C = "int common_b;\nint weak_val = 10;\nint weak_fn(void) { return 20; }\n"


@pytest.mark.parametrize("pic", [False, True], ids=["nopic", "pic"])
@pytest.mark.parametrize("linker", ["bfd", "gold", "lld", "mold"])
def test_weak_common_hidden_and_undefined_weak(linker: str, pic: bool, tmp_path: Path) -> None:
    """Overridden weak definitions, -fcommon, hidden globals and an undefined weak (= 0);
    mold turns every global of an executable into a local, which must not matter."""
    from oracle.native import run_native
    from oracle.reference import link_with_gcc

    objects = []
    for name, text in (("main", WEAK_MAIN_C), ("other", WEAK_OTHER_C)):
        (tmp_path / f"{name}.c").write_text(text)
        obj = str(tmp_path / f"{name}.o")
        subprocess.run(["gcc", "-c", "-O1", "-fcommon", "-fPIC" if pic else "-fno-pie",
                        str(tmp_path / f"{name}.c"), "-o", obj], check=True,
                       capture_output=True)
        objects.append(obj)
    output = str(tmp_path / "prog")
    result = link_with_gcc(linker, objects, output)
    assert result.ok, result.stderr
    assert run_native(output).stdout == b"10 20 0 5 5\n"
    report = check_fields_report(output, objects)
    assert report.mismatches == (), str(report)
    assert {"weak_val", "weak_fn", "missing_fn", "hidden_counter", "common_b"} <= {
        s.symbol for s in report.confirmed}


LARGE_MODEL = """
        .text
        .globl _start
_start:
1:      leaq 1b(%rip), %rax
        movabsq $_GLOBAL_OFFSET_TABLE_-1b, %r11   # R_X86_64_GOTPC64
        movabsq $gv@GOTOFF, %rcx                  # R_X86_64_GOTOFF64
        movabsq $gv@GOT, %rdx                     # R_X86_64_GOT64
        movabsq $_start@PLTOFF, %rsi              # R_X86_64_PLTOFF64
        mov $60, %eax
        xor %edi, %edi
        syscall
        .data
gv:     .quad 1
        .quad gv@GOTPCREL                         # R_X86_64_GOTPCREL64
"""


@pytest.mark.parametrize("linker", ["bfd", "mold"])  # lld 14 rejects GOTPCREL64
def test_large_model_got_relocations(linker: str, tmp_path: Path) -> None:
    objects = [_assemble(tmp_path, "large", LARGE_MODEL)]
    output = str(tmp_path / "out")
    result = link_reference(linker, objects, output)
    assert result.ok, result.stderr
    report = check_fields_report(output, objects)
    assert report.mismatches == ()
    assert sorted(s.type_name for s in report.confirmed) == sorted(
        ["R_X86_64_GOTPC64", "R_X86_64_GOTOFF64", "R_X86_64_GOT64", "R_X86_64_PLTOFF64",
         "R_X86_64_GOTPCREL64"])
    got64 = next(s for s in report.confirmed if s.type_name == "R_X86_64_GOT64")
    _patch(output, got64.field, 0x08)  # one GOT slot further
    (m,) = check_fields(output, objects)
    assert (m.type_name, m.kind) == ("R_X86_64_GOT64", "value")


def test_command_line_exit_codes_and_report(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from oracle.relocs.cli import main

    objects = [_assemble(tmp_path, "start", START), _assemble(tmp_path, "ref", """
        .data
        .quad _start + 3
""")]
    output = _link(tmp_path, objects)
    assert main(["-v", output, *objects]) == 0
    out = capsys.readouterr().out
    assert "ok: " in out and "R_X86_64_64 _start: S + A = " in out
    assert "1 relocation fields confirmed, 0 mismatches" in out
    site = check_fields_report(output, objects).confirmed[0]
    _patch(output, site.field, 0xFF)
    assert main([output, *objects]) == 1
    assert "value: " in capsys.readouterr().out
    assert main([str(tmp_path / "missing"), *objects]) == 2
    Path(output).write_bytes(Path(output).read_bytes()[:100])
    assert main([output, *objects]) == 2  # unreadable: no verdict, one line naming it
    (line,) = capsys.readouterr().err.splitlines()[-1:]
    assert line.startswith(f"linkharness fields: {output}: offset 0x") and "runs past" in line


@pytest.mark.parametrize("thin", [False, True], ids=["ar", "thin"])
@pytest.mark.parametrize("linker", ["bfd", "lld", "mold"])
def test_archive_members_that_were_linked_are_checked(linker: str, thin: bool,
                                                      tmp_path: Path) -> None:
    start = _assemble(tmp_path, "start", START.replace("_start: mov $60, %eax",
                                                       "_start: call used\n        mov $60, %eax"))
    used = _assemble(tmp_path, "used", """
        .text
        .globl used
used:   movl $used_data, %eax
        ret
        .data
used_data: .quad used_data
""")
    unused = _assemble(tmp_path, "unused", """
        .text
        .globl unused
unused: movl $unused_data, %eax
        call used
        ret
        .data
unused_data: .quad unused
""")
    archive = str(tmp_path / "lib.a")
    subprocess.run(["ar", "rcT" if thin else "rc", archive, used, unused], check=True)
    output = str(tmp_path / "out")
    result = link_reference(linker, [start, archive], output)
    assert result.ok, result.stderr
    report = check_fields_report(output, [start, archive])
    assert report.mismatches == ()
    assert report.skipped["in archive members not linked"] == 3
    assert {Path(s.file).name for s in report.confirmed} == {"start.o", "lib.a(used.o)"}
    site = next(s for s in report.confirmed if s.file.endswith("(used.o)"))
    _patch(output, site.field, 0x01)
    (m,) = check_fields(output, [start, archive])
    assert m.file.endswith("lib.a(used.o)") and m.offset == site.offset


@pytest.mark.parametrize("linker", ["bfd", "lld", "mold"])
def test_a_losing_weak_definition_is_not_anchored_at_the_winner(linker: str,
                                                                tmp_path: Path) -> None:
    """Same bytes but for the call field: the output's `f4` is o1's, so o0's weak section
    must be found elsewhere (by its bytes), and its call checked there."""
    o0 = _assemble(tmp_path, "o0", """
        .text
        .globl _start
_start: call f4
        mov $60, %eax
        xor %edi, %edi
        syscall
        .globl f5
f5:     ret
        .section .text.hot, "ax"
        .weak f4
f4:     call f5
        ret
""")
    o1 = _assemble(tmp_path, "o1", """
        .text
        .globl f4
f4:     call f6
        ret
        .section .text.f6, "ax"
        .globl f6
f6:     ret
""")
    output = str(tmp_path / "out")
    result = link_reference(linker, [o0, o1], output)
    assert result.ok, result.stderr
    report = check_fields_report(output, [o0, o1])
    assert report.mismatches == (), str(report)
    assert any(s.section == ".text.hot" for s in report.confirmed)
