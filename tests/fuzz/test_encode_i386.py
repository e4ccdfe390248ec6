"""The i386 encoder against GNU as: every instruction form, encoded by fuzz.encode_i386 and
assembled by `as --32` from its own spelling, disassembles to the same instructions
(capstone, 32-bit) and carries the same relocations with the same implicit addends."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import capstone
import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from fuzz.emit_elf32 import RELOC_TYPES_386
from fuzz.encode_i386 import EBX, FIELD_WIDTH, FIXED, MIX, PC_THUNK_AX, assembly, encode
from fuzz.encode_x86 import Insn, Sym

SAMPLES: list[Insn] = [
    *(Insn(op) for op in FIXED),
    Insn("mov_esi_imm", imm=0xDEADBEEF),
    Insn("push_imm", imm=0x12345678),
    Insn("sub_esp", imm=12), Insn("add_esp", imm=28),
    *(Insn("load_eax", imm=d, width=w) for w in (1, 2, 4, 8) for d in (0, 12, 200)),
    Insn("store_eax", imm=8), Insn("store_eax", imm=300),
    Insn("add_ebx_got_base"),
    Insn("call", Sym("f"), reloc="R_386_PLT32"),
    Insn("call", Sym("f", 8), reloc="R_386_PC32"),
    Insn("call", Sym(PC_THUNK_AX), reloc="R_386_PC32"),
    Insn("call_got", Sym("f"), reg=EBX), Insn("call_got", Sym("f")),
    Insn("mov_eax_got", Sym("g"), reg=EBX, reloc="R_386_GOT32X"),
    Insn("mov_eax_got", Sym("g"), reloc="R_386_GOT32X"),
    Insn("mov_eax_got", Sym("g"), reg=EBX, reloc="R_386_GOT32"),
    Insn("lea_eax_gotoff", Sym("d", 12)),
    Insn("add_eax_pcrel", Sym("d", 20)),
    Insn("mov_eax_sym", Sym("d", 3)),
    Insn("store_abs", Sym("d", 16)),
    *(Insn("load_abs", Sym("d", 4), width=w) for w in (1, 2, 4, 8)),
    Insn("skip_if_even", body=(Insn("push_esi"), Insn("call", Sym("f"), reloc="R_386_PLT32"),
                               *MIX)),
]
TYPE_NAMES = {n: name for name, n in RELOC_TYPES_386.items()}


def _disassemble(code: bytes) -> list[str]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    out = [f"{i.mnemonic} {i.op_str}" for i in md.disasm(code, 0)]
    # jump targets depend on encoding length (as picks disp8 forms); keep the mnemonic only
    return [s.split()[0] if s.startswith("je ") else s for s in out]


def _sec(elf: ELFFile, name: str) -> Any:
    found = elf.get_section_by_name(name)
    assert found is not None, name
    return found


def _assemble(insn: Insn, tmp: Path) -> tuple[bytes, list[tuple[str, str, int]]]:
    src = tmp / "one.s"
    lines = assembly(insn)
    undefined = {i.sym.name for i in (insn, *insn.body) if i.sym is not None}
    src.write_text(".text\n" + "".join(f".globl {n}\n" for n in sorted(undefined))
                   + "\n".join(lines) + "\n")
    obj = tmp / "one.o"
    subprocess.run(["as", "--32", "-o", str(obj), str(src)], check=True, capture_output=True)
    with obj.open("rb") as f:
        elf = ELFFile(f)
        code = _sec(elf, ".text").data()
        relocs = []
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection):
                for r in sec.iter_relocations():
                    name = _sec(elf, ".symtab").get_symbol(r["r_info_sym"]).name
                    type_ = TYPE_NAMES[r["r_info_type"]]
                    width = FIELD_WIDTH[type_]
                    addend = int.from_bytes(code[r["r_offset"]:r["r_offset"] + width], "little",
                                            signed=True)
                    relocs.append((type_, name, addend))
    return code, relocs


@pytest.mark.parametrize("insn", SAMPLES, ids=lambda i: f"{i.op}-{i.width}-{i.reg}-{i.imm}")
def test_encoding_matches_gnu_as(insn: Insn, tmp_path: Path) -> None:
    code, fixups = encode(insn)
    ours = bytearray(code)
    for f in fixups:  # the implicit addends, as fuzz.emit_elf32 writes them
        width = FIELD_WIDTH[f.type]
        assert ours[f.offset:f.offset + width] == bytes(width)
        ours[f.offset:f.offset + width] = (f.addend % (1 << 8 * width)).to_bytes(width, "little")
    theirs, relocs = _assemble(insn, tmp_path)
    assert _disassemble(bytes(ours)) == _disassemble(theirs)
    assert [(f.type, f.name, f.addend) for f in fixups] == relocs


def test_no_base_got_forms_use_the_bare_disp32_modrm() -> None:
    """`call *f@GOT` and `movl g@GOT, %eax`: ModRM mod 00 r/m 101, which is how a linker
    tells the G + A form from the base-relative G + A - GOT one."""
    call, _ = encode(Insn("call_got", Sym("f")))
    load, _ = encode(Insn("mov_eax_got", Sym("g"), reloc="R_386_GOT32X"))
    assert call[1] & 0xC7 == 0x05 and load[1] & 0xC7 == 0x05
    based, _ = encode(Insn("call_got", Sym("f"), reg=EBX))
    assert based[1] & 0xC7 == 0x83


def test_a_skipped_body_is_jumped_over_exactly() -> None:
    body = (Insn("push_esi"), Insn("pop_esi"))
    code, _ = encode(Insn("skip_if_even", body=body))
    assert code[6] == 0x74 and code[7] == len(code) - 8
