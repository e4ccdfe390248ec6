"""i386 R_386_GOT32/GOT32X with and without a base register (issue 19 item 1).

The psABI gives `foo@GOT(%ebx)` the value G + A - GOT and `foo@GOT` with no base register
(ModRM mod 00, r/m 101; what gcc -m32 -fno-pie -fno-plt emits for `call *foo@GOT`) the
value G + A.  One hand-written program uses both, with both relocation types; every
reference linker's output (mold 1.10.1 excepted: it has the bug) and linkharness's must
run to the right status, and the field oracle must confirm them.  An output patched back
to the old, GOT-relative value must be reported, field by field.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from linker import link
from oracle.reference import link_reference
from oracle.relocs import check_fields, check_fields_report

# exit status 5 + 30 + 5 + 30 + 5 = 75; fields at .text+2, +0xa, +0x12 have no base register
PROGRAM = """
        .text
        .globl _start
_start: call *foo@GOT                   # ff 15: R_386_GOT32X, no base
        movl %eax, %esi
        movl val@GOT, %eax              # 8b 05: R_386_GOT32X, no base
        addl (%eax), %esi
        .byte 0xff, 0x15                # call *foo@GOT with the older R_386_GOT32
        .reloc ., R_386_GOT32, foo
        .long 0
        addl %eax, %esi
        call 1f
1:      popl %ebx
        addl $_GLOBAL_OFFSET_TABLE_+[.-1b], %ebx
        movl val@GOT(%ebx), %eax        # 8b 83: base register %ebx
        addl (%eax), %esi
        call *foo@GOT(%ebx)             # ff 93: base register %ebx
        addl %eax, %esi
        movl %esi, %ebx
        movl $1, %eax
        int $0x80
foo:    movl $5, %eax
        ret
        .data
val:    .long 30
        .section .note.GNU-stack, "", @progbits
"""
EXIT = 75
NO_BASE_FIELDS = (0x2, 0xA, 0x12)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("got32")
    (directory / "p.s").write_text(PROGRAM)
    subprocess.run(["as", "--32", "p.s", "-o", "p.o"], cwd=directory, check=True,
                   capture_output=True)
    return directory / "p.o"


def _status(path: Path) -> int:
    return subprocess.run([str(path)], capture_output=True, timeout=30, check=False).returncode


def _linkharness(obj: Path) -> Path:
    out = obj.with_name("p.linkharness")
    # --no-relax: the GOT forms are under test, not the GOT32X rewrites (lea, direct call)
    link([str(obj)], str(out), target="elf32-i386", static=True, relax=False)
    return out


def test_linkharness_writes_the_slot_address_without_a_base_register(program: Path) -> None:
    out = _linkharness(program)
    assert _status(out) == EXIT
    report = check_fields_report(str(out), [str(program)])
    assert not report.mismatches, report.mismatches
    formulas = {site.offset: site.formula.split(" = ")[0] for site in report.confirmed}
    for offset in NO_BASE_FIELDS:
        assert formulas[offset] == "G + A"
    # with a base register: the slot's offset from the GOT, or (linkharness relaxes GOT
    # loads of symbols it defines, since issue 14) `lea foo@GOTOFF(%ebx)` and a direct call
    assert formulas[0x26] in ("G + A - GOT", "S + A - GOT")
    assert formulas[0x2E] in ("G + A - GOT", "S - P + 4")


@pytest.mark.parametrize("linker", ["bfd", "gold", "lld"])
def test_reference_outputs_agree_with_the_oracle(program: Path, linker: str) -> None:
    out = program.with_name(f"p.{linker}")
    result = link_reference(linker, [str(program)], str(out), m32=True)
    assert result.ok, result.stderr
    assert _status(out) == EXIT
    assert check_fields(str(out), [str(program)]) == []


def test_mold_is_judged_by_what_it_does(program: Path) -> None:
    """mold 1.10.1 writes G + A - GOT here (and crashes); whatever mold does, the oracle's
    verdict must match the native run."""
    assert shutil.which("mold")
    out = program.with_name("p.mold")
    assert link_reference("mold", [str(program)], str(out), m32=True).ok
    mismatches = check_fields(str(out), [str(program)])
    if _status(out) == EXIT:
        assert mismatches == []
    else:
        assert {m.offset for m in mismatches} <= set(NO_BASE_FIELDS) and mismatches


def _got_base(path: Path) -> int:
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        found = symtab.get_symbol_by_name("_GLOBAL_OFFSET_TABLE_")
        assert found
        return int(found[0]["st_value"])


def _text_offset(path: Path) -> int:
    with open(path, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        assert text is not None
        return int(text["sh_offset"])


def test_the_got_relative_value_is_reported_at_each_no_base_field(program: Path) -> None:
    """The bug of issue 19: G + A - GOT where the instruction has no base register."""
    good = _linkharness(program)
    got, text = _got_base(good), _text_offset(good)
    for offset in NO_BASE_FIELDS:
        bad = program.with_name(f"bad{offset:x}")
        data = bytearray(good.read_bytes())
        at = text + offset
        slot = int.from_bytes(data[at:at + 4], "little")
        data[at:at + 4] = ((slot - got) & 0xFFFFFFFF).to_bytes(4, "little")
        bad.write_bytes(bytes(data))
        bad.chmod(0o755)
        mismatches = check_fields(str(bad), [str(program)])
        assert [(m.offset, m.formula.split(" = ")[0]) for m in mismatches] == \
            [(offset, "G + A")]


ISSUE_PROGRAM = ('#include <stdio.h>\n#include <stdlib.h>\n'
                 'int main(void){printf("abs %d\\n",abs(-5));puts("done");return 0;}\n')


def test_issue_program_runs_and_its_fields_agree(tmp_path: Path) -> None:
    """The issue's reproduction: gcc -m32 -O1 -fno-pie -fno-plt, linked through the shim."""
    from linker import shim_dir

    (tmp_path / "g.c").write_text(ISSUE_PROGRAM)
    subprocess.run(["gcc", "-m32", "-O1", "-fno-pie", "-fno-plt", "-c", "g.c"], cwd=tmp_path,
                   check=True, capture_output=True)
    subprocess.run(["gcc", "-m32", "-no-pie", f"-B{shim_dir()}", "g.o", "-o", "g"],
                   cwd=tmp_path, check=True, capture_output=True)
    run = subprocess.run([str(tmp_path / "g")], capture_output=True, text=True, timeout=30,
                         check=False)
    assert (run.returncode, run.stdout) == (0, "abs 5\ndone\n")
    report = check_fields_report(str(tmp_path / "g"), [str(tmp_path / "g.o")])
    assert not report.mismatches
    assert sum(s.formula.startswith("G + A =") for s in report.confirmed) == 2


def test_a_no_base_field_in_a_pie_needs_a_relative_relocation(tmp_path: Path) -> None:
    """GNU ld, gold and lld refuse `call *f@GOT` (no base) in a PIE; mold 1.10.1 links it,
    with a TEXTREL but no relocation on the field, and the program crashes.  The oracle
    must say so whenever the output does not run."""
    from oracle.reference import _gcc_shim_dir

    (tmp_path / "g.c").write_text(ISSUE_PROGRAM)
    subprocess.run(["gcc", "-m32", "-O1", "-fno-pie", "-fno-plt", "-c", "g.c"], cwd=tmp_path,
                   check=True, capture_output=True)
    refused = subprocess.run(["gcc", "-m32", "-pie", "-fuse-ld=bfd", "g.o", "-o", "bfd"],
                             cwd=tmp_path, capture_output=True, check=False)
    assert refused.returncode != 0
    made = subprocess.run(["gcc", "-m32", "-pie", f"-B{_gcc_shim_dir()}/", "-fuse-ld=mold",
                           "g.o", "-o", "mold"], cwd=tmp_path, capture_output=True, check=False)
    if made.returncode != 0:  # a mold that refuses it too
        return
    run = subprocess.run([str(tmp_path / "mold")], capture_output=True, text=True, timeout=30,
                         check=False)
    mismatches = check_fields(str(tmp_path / "mold"), [str(tmp_path / "g.o")])
    if (run.returncode, run.stdout) == (0, "abs 5\ndone\n"):
        assert not mismatches
    else:
        assert mismatches and all(m.type_name == "R_386_GOT32X" for m in mismatches)
