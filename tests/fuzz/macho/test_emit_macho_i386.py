"""Our Mach-O i386 MH_OBJECT writer (fuzz.macho.assemble_i386 + emit_macho_i386) against
`llvm-mc-14 -triple i386-apple-macosx10.6` on the same code and data, written by our own
text emitter: identical section contents, relocation entries (plain, scattered, SECTDIFF /
LOCAL_SECTDIFF + PAIR), indirect symbol table and symbols, when our assembler makes
llvm-mc's choices (with `.subsections_via_symbols`, as clang writes: non-extern for a
reference to a non-weak definition at its start, scattered with an offset, pc-relative data
within its item resolved).

The facts these comparisons pin: a pc-relative extern `calll _g` field holds -(P + 4) in the
object's address space; a non-extern call holds target - (P + 4); an absolute field holds
target + addend (non-extern, scattered) or the bare addend (extern); a difference holds
minuend + addend - pic base with the minuend's *symbol* address as r_value; weak
definitions are always reached by extern entries; a non-lazy pointer slot is zero, with no
entry, named by the indirect symbol table; a call through a jump table is a non-extern
pc-relative entry to its 5-byte entry (S_SYMBOL_STUBS, reserved2 5, `hlt`s), which the
indirect table names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz.encode_x86 import Insn, Sym
from fuzz.lower_x86 import AsmObject, AsmSection, Item
from fuzz.macho.assemble_i386 import CALL_FORMS, REF_FORMS, Choices32, assemble_i386
from fuzz.macho.emit_asm_i386 import write_asm_i386
from fuzz.macho.emit_macho_i386 import write_macho_i386
from fuzz.model import Binding, Const, Ref, SectionKind, SelfRel
from oracle.macho_relocs_inputs import read_object

TRIPLE = "i386-apple-macosx10.6"


def _text(name: str, items: tuple[Item, ...]) -> AsmSection:
    return AsmSection(name, SectionKind.TEXT, 16, None, items)


def _fn(name: str, binding: Binding, *code: Insn) -> Item:
    return Item(name, binding, 16, code=(Insn("pic_base"), *code, Insn("ret")),
                is_function=True)


# References to this object's non-weak definitions at offset 0: llvm-mc writes plain entries
PLAIN = AsmObject("plain", (
    _text(".text", (
        _fn("f", Binding.GLOBAL,
            Insn("call", Sym("g")),  # undefined: extern, -(P + 4)
            Insn("call", Sym("h")),  # same section, another atom: non-extern
            Insn("call", Sym("k")),  # another section: non-extern pc-relative
            Insn("lea_eax_picrel", Sym("x")),  # SECTDIFF
            Insn("lea_eax_picrel", Sym("y", 4)),  # LOCAL_SECTDIFF, r_value y
            Insn("lea_eax_picrel", Sym("w", 2)),  # a weak minuend: SECTDIFF too
            Insn("mov_eax_nlp", Sym("u")),  # LOCAL_SECTDIFF to the slot
            Insn("call_nlp", Sym("g")),
            Insn("mov_eax_nlp", Sym("x")),  # a slot for a definition of this object
            Insn("mov_eax_sym", Sym("x")),
            Insn("store_abs", Sym("z")),  # zero-fill: non-extern against __bss
            Insn("load_abs", Sym("y"), width=2),
            Insn("load_abs", Sym("u", 4), width=1),  # undefined: extern, addend in field
            Insn("mov_eax_sym", Sym("w", 4)),  # weak: extern
            Insn("skip_if_even", body=(Insn("lea_eax_picrel", Sym("x", 8)),))),
        _fn("h", Binding.LOCAL),
    )),
    _text(".text.other", (_fn("k", Binding.GLOBAL, Insn("call", Sym("f"))),)),
    AsmSection(".data", SectionKind.DATA, 4, None, (
        Item("x", Binding.GLOBAL, 4, fields=(
            Const(4, 1), Ref(4, "g", 5), Ref(4, "x"), SelfRel(4, 0), SelfRel(2, 6),
            Ref(1, "kk", 1), Ref(2, "kk", 3), Ref(4, "w"))),
        Item("y", Binding.LOCAL, 4, fields=(Const(4, 2), Const(4, 3), Ref(4, "f"))),
        Item("w", Binding.WEAK, 4, fields=(Const(4, 9),)),
    )),
    AsmSection(".bss", SectionKind.BSS, 4, None, (
        Item("z", Binding.LOCAL, 4, fields=(Const(4, 0),)),)),
), (), ())
# References at an offset into this object's definitions: llvm-mc writes scattered entries
SCATTERED = AsmObject("scattered", (
    _text(".text", (
        _fn("f", Binding.GLOBAL,
            Insn("mov_eax_sym", Sym("x", 4)),
            Insn("load_abs", Sym("y", 8), width=4),
            Insn("load_abs", Sym("x", 4), width=8),
            Insn("store_abs", Sym("y", 2))),)),
    AsmSection(".data", SectionKind.DATA, 4, None, (
        Item("x", Binding.GLOBAL, 4, fields=(Const(4, 1), Const(4, 2), Ref(4, "y", 4))),
        Item("y", Binding.LOCAL, 4, fields=(Const(4, 3), Const(4, 4), Const(4, 5),
                                            Ref(4, "x", 2), Ref(4, "f", 1))),
    )),
), (), ())


def _llvm_like(ref_form: str, stubs: frozenset[str] = frozenset()) -> Choices32:
    forms = {"ref": REF_FORMS.index(ref_form), "call": CALL_FORMS.index("plain"), "self": 0}
    return Choices32(form=lambda kind, key: forms[kind], private_extern=lambda n: False,
                     weak_ref=lambda n: False, jump_table=lambda n: n in stubs)


CASES = {"plain": (PLAIN, _llvm_like("plain")), "scattered": (SCATTERED, _llvm_like("scattered")),
         # `calll _g` through old Apple gcc's `L_g$stub` in __IMPORT,__jump_table
         "jump table": (PLAIN, _llvm_like("plain", frozenset({"g"})))}


@pytest.fixture(scope="module", params=sorted(CASES))
def objects(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, Path]:
    obj, choices = CASES[request.param]
    work = tmp_path_factory.mktemp("emit_macho_i386")
    ours = work / "ours.o"
    ours.write_bytes(write_macho_i386(assemble_i386(obj, choices)))
    src = work / "llvm.s"
    src.write_text(write_asm_i386(obj, choices))
    theirs = work / "llvm.o"
    subprocess.run(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(src), "-o",
                    str(theirs)], check=True, capture_output=True)
    return ours, theirs


def _dump(path: Path, *args: str) -> str:
    out = subprocess.run(["llvm-objdump-14", "--macho", *args, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return out.split("\n", 1)[1]  # the first line names the file


def test_section_contents_match_llvm_mc(objects: tuple[Path, Path]) -> None:
    ours, theirs = objects
    assert _dump(ours, "-s") == _dump(theirs, "-s")
    assert _dump(ours, "--section-headers") == _dump(theirs, "--section-headers")


def test_relocation_entries_match_llvm_mc(objects: tuple[Path, Path]) -> None:
    ours, theirs = objects
    body = _dump(ours, "-r")
    assert body == _dump(theirs, "-r")
    assert "VANILLA" in body


def test_indirect_symbols_and_symbols_match_llvm_mc(objects: tuple[Path, Path]) -> None:
    ours, theirs = objects
    assert _dump(ours, "--indirect-symbols") == _dump(theirs, "--indirect-symbols")
    assert sorted(_dump(ours, "-t").splitlines()) == sorted(_dump(theirs, "-t").splitlines())


def test_the_oracle_reads_our_object(objects: tuple[Path, Path]) -> None:
    ours, _ = objects
    obj = read_object(str(ours))
    assert obj.sections and obj.symbols
