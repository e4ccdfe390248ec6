"""The encoder against GNU as: every instruction form, encoded by fuzz.encode_x86 and
assembled by `as` from its own AT&T spelling, disassembles to the same instructions (capstone)
and carries the same relocations."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import capstone
import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from fuzz.encode_x86 import FIXED, Insn, Sym, assembly, encode

SAMPLES: list[Insn] = [
    *(Insn(op) for op in FIXED),
    Insn("mov_ebx_imm", imm=0xDEADBEEF),
    *(Insn("mov_arg_imm", imm=0x1234, reg=r) for r in range(1, 6)),
    *(Insn("load_rax", imm=d, width=w) for w in (1, 2, 4, 8) for d in (0, 12)),
    Insn("store_rax", imm=8),
    Insn("call", Sym("f", 0), reloc="R_X86_64_PLT32"),
    Insn("call", Sym("f", 8), reloc="R_X86_64_PC32"),
    Insn("call_got", Sym("f")),
    Insn("call_got_jump", Sym("f")),
    Insn("mov_rax_got", Sym("g"), reloc="R_X86_64_REX_GOTPCRELX"),
    Insn("mov_rax_got", Sym("g"), reloc="R_X86_64_GOTPCREL"),
    *(Insn("load_rip", Sym("d", 4), width=w) for w in (1, 2, 4, 8)),
    *(Insn("load_abs", Sym("d", 12), width=w) for w in (1, 2, 4, 8)),
    Insn("mov_eax_sym", Sym("d", 3)),
    Insn("store_rip", Sym("d", 8)),
    Insn("store_abs", Sym("d", 16)),
    Insn("lea_r11_got_base"),
    Insn("movabs_rax_gotoff", Sym("d", 8)),
    Insn("mov_rax_got_r11", Sym("d")),
    Insn("skip_if_even", body=(Insn("mov_edi_ebx"), Insn("call", Sym("f"),
                                                        reloc="R_X86_64_PLT32"))),
]


def _disassemble(code: bytes) -> list[str]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    out = [f"{i.mnemonic} {i.op_str}" for i in md.disasm(code, 0)]
    # jump targets depend on encoding length; keep the mnemonic only
    return [s.split()[0] if s.startswith("je ") else s for s in out]


def _sec(elf: ELFFile, name: str) -> Any:
    found = elf.get_section_by_name(name)
    assert found is not None, name
    return found


def _assemble(insn: Insn, tmp: Path) -> tuple[bytes, list[tuple[str, str, int]]]:
    src = tmp / "one.s"
    src.write_text(".text\n" + "\n".join(assembly(insn)) + "\n")
    obj = tmp / "one.o"
    subprocess.run(["as", "--64", "-o", str(obj), str(src)], check=True, capture_output=True)
    with obj.open("rb") as f:
        elf = ELFFile(f)
        code = _sec(elf, ".text").data()
        relocs = []
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection):
                for r in sec.iter_relocations():
                    name = _sec(elf, ".symtab").get_symbol(r["r_info_sym"]).name
                    relocs.append((r["r_info_type"], name, r["r_addend"]))
    return code, relocs


TYPE_NUMBERS = {"R_X86_64_GOT32": 3, "R_X86_64_GOTOFF64": 25, "R_X86_64_GOTPC32": 26,
                "R_X86_64_GOTPCREL": 9, "R_X86_64_PC32": 2, "R_X86_64_PLT32": 4, "R_X86_64_32": 10, "R_X86_64_32S": 11,
                "R_X86_64_GOTPCRELX": 41, "R_X86_64_REX_GOTPCRELX": 42}


@pytest.mark.parametrize("insn", SAMPLES, ids=lambda i: f"{i.op}-{i.width}-{i.reg}-{i.imm}")
def test_encoding_matches_gnu_as(insn: Insn, tmp_path: Path) -> None:
    ours, fixups = encode(insn)
    theirs, relocs = _assemble(insn, tmp_path)
    assert _disassemble(ours) == _disassemble(theirs)
    assert [(TYPE_NUMBERS[f.type], f.name, f.addend) for f in fixups] == relocs
    for f in fixups:  # every site is a 4- (or movabs's 8-) byte hole ending the instruction
        width = 8 if f.type == "R_X86_64_GOTOFF64" else 4
        assert 0 < f.offset == len(ours) - width and ours[f.offset:] == bytes(width)


def test_strict_got_load_uses_the_non_relaxable_relocation() -> None:
    code, fixups = encode(Insn("mov_rax_got", Sym("g"), reloc="R_X86_64_GOTPCREL"))
    assert code == b"\x48\x8b\x05" + bytes(4)
    assert [(f.offset, f.type, f.addend) for f in fixups] == [(3, "R_X86_64_GOTPCREL", -4)]


def test_a_skipped_body_is_jumped_over_exactly() -> None:
    body = (Insn("mov_ebx_imm", imm=1), Insn("add_rbx_rax"))
    code, _ = encode(Insn("skip_if_even", body=body))
    assert code[3] == 0x74 and code[4] == len(code) - 5
