"""Our MH_OBJECT writer against llvm-mc-14 on the same code and data: identical section
bytes and relocation entries (the SIGNED_n choice aside, which llvm-mc makes from the
final field value rather than from the instruction), and readable by the oracle's reader."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz.encode_x86 import Insn, Sym
from fuzz.lower_x86 import AsmObject, AsmSection, Item
from fuzz.macho.assemble import Choices, assemble
from fuzz.macho.emit_macho import write_macho
from fuzz.model import Binding, Const, Ref, SectionKind, SelfRel
from oracle.macho_relocs_inputs import read_object

TRIPLE = "x86_64-apple-macosx10.9"
CODE = (
    Insn("call", Sym("g"), reloc="R_X86_64_PLT32"),
    Insn("store_imm_rip", Sym("x"), width=1),
    Insn("store_imm_rip", Sym("x", 2), width=2),
    Insn("store_imm_rip", Sym("x"), width=4),
    Insn("add_rip_ebx", Sym("x", 4)),
    Insn("load_rip", Sym("x", 8), width=8),
    Insn("mov_rax_got", Sym("g"), reloc="R_X86_64_REX_GOTPCRELX"),
    Insn("call_got", Sym("g")),
    Insn("skip_if_even", body=(Insn("load_rip", Sym("w", 4), width=4),)),
    Insn("load_rip", Sym("w"), width=1),
    Insn("ret"),
)
OURS = AsmObject("t", (
    AsmSection(".text", SectionKind.TEXT, 16, None,
               (Item("f", Binding.GLOBAL, 16, code=CODE, is_function=True),)),
    AsmSection(".data", SectionKind.DATA, 8, None, (
        Item("x", Binding.GLOBAL, 8, fields=(Ref(8, "g", 5), Const(8, 7))),)),
    # llvm-mc writes non-extern entries for a label with no symbol before it in its section
    AsmSection("lh_data", SectionKind.DATA, 8, None, (
        Item("w", Binding.LOCAL, 8, fields=(Const(4, 1), SelfRel(4, 3), SelfRel(8, -2),
                                            Ref(8, "w", 4))),
    )),
), (), ())
LLVM_TEXT = """
.text
.globl _f
.p2align 4
_f:
    call _g
    movb $0, _x(%rip)
    movw $0, _x+2(%rip)
    movl $0, _x(%rip)
    addl %ebx, _x+4(%rip)
    movq _x+8(%rip), %rax
    movq _g@GOTPCREL(%rip), %rax
    call *_g@GOTPCREL(%rip)
    testb $1, %bl
    jz 1f
    movl Lw+4(%rip), %eax
1:
    movzbl Lw(%rip), %eax
    ret
.data
.p2align 3
.globl _x
_x: .quad _g + 5
    .quad 7
.section __DATA,lh_data
.p2align 3
Lw: .long 1
"_lh.self.w.1": .long Lw + 3 - "_lh.self.w.1"
"_lh.self.w.2": .quad Lw - 2 - "_lh.self.w.2"
    .quad Lw + 4
"""
NON_EXTERN = Choices(non_extern=lambda n: True, private_extern=lambda n: False,
                     weak_ref=lambda n: False)
SIGNED_FAMILY = {"SIGNED", "SIGNED1", "SIGNED2", "SIGNED4"}


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("emit_macho")
    ours = work / "ours.o"
    ours.write_bytes(write_macho(assemble(OURS, NON_EXTERN)))
    src = work / "llvm.s"
    src.write_text(LLVM_TEXT)
    theirs = work / "llvm.o"
    subprocess.run(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(src), "-o",
                    str(theirs)], check=True, capture_output=True)
    return ours, theirs


def _dump(path: Path, *args: str) -> str:
    return subprocess.run(["llvm-objdump-14", "--macho", *args, str(path)], check=True,
                          capture_output=True, text=True).stdout


def _relocs(path: Path) -> set[tuple[str, ...]]:
    """(section, address, pcrel, length, extern, type, target) of every entry, SIGNED_n
    folded into SIGNED for extern entries (equivalent there: the field says the rest)."""
    out: set[tuple[str, ...]] = set()
    section = ""
    for line in _dump(path, "-r").splitlines():
        if line.startswith("Relocation information"):
            section = line.split()[2]
        parts = line.split()
        if len(parts) >= 7 and parts[0].isalnum() and len(parts[0]) == 8:
            kind = parts[4]
            if parts[3] == "True" and kind in SIGNED_FAMILY:
                kind = "SIGNED"
            out.add((section, parts[0], parts[1], parts[2], parts[3], kind,
                     " ".join(parts[6:])))
    return out


def test_section_bytes_match_llvm_mc(objects: tuple[Path, Path]) -> None:
    ours, theirs = objects
    body = _dump(ours, "-s")
    assert body == _dump(theirs, "-s")
    assert "Contents of section __DATA,lh_data" in body


def test_relocation_entries_match_llvm_mc(objects: tuple[Path, Path]) -> None:
    ours, theirs = objects
    mine = _relocs(ours)
    assert mine == _relocs(theirs)
    kinds = {r[5] for r in mine}
    assert {"BRANCH", "SIGNED", "GOT_LD", "GOT", "SUB", "UNSIGND"} <= kinds, kinds


def test_oracle_reader_sees_symbols_in_nlist_order(objects: tuple[Path, Path]) -> None:
    obj = read_object(objects[0])
    names = [s.name for s in obj.symbols]
    # locals first, then external definitions (sorted), then undefined
    assert names[-3:] == ["_f", "_x", "_g"]
    assert set(names[:-3]) == {"_w", "_lh.self.w.1", "_lh.self.w.2"}
    assert sum(r.subtrahend is not None for r in obj.relocs) == 2  # two SUBTRACTOR pairs
