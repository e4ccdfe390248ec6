"""linker/arch (plt.py, x86_64.py, i386.py): the PLT templates, filled in as the relocation
pass fills them and decoded with capstone: every entry must do what the psABI says."""

from __future__ import annotations

import pytest
from capstone import CS_ARCH_X86, CS_MODE_32, CS_MODE_64, Cs

from linker.arch import PLT_TEMPLATES, PltTemplate

PLT, GOT_PLT = 0x401020, 0x404000


def filled(template: PltTemplate, word: int, count: int) -> bytes:
    """PLT0 and `count` entries with every field computed (S + A, or S + A - P)."""
    code = bytearray(template.plt0)
    fields = [(0, f) for f in template.plt0_fields]
    for n in range(count):
        entry = len(template.plt0) + n * len(template.entry)
        body = bytearray(template.entry)
        imm = template.push_imm_offset
        body[imm:imm + 4] = template.push_value(n).to_bytes(4, "little")
        code += body
        slot = (3 + n) * word
        fields += [(entry, f) for f in template.entry_fields(slot, entry)]
    for base, f in fields:
        target = (GOT_PLT if f.target == "got.plt" else PLT) + f.addend
        at = base + f.offset
        value = target - (PLT + at) if f.pc_relative else target
        code[at:at + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(code)


def decode(code: bytes, mode: int) -> list[tuple[int, str, str]]:
    return [(i.address, i.mnemonic, i.op_str) for i in Cs(CS_ARCH_X86, mode).disasm(code, PLT)]


def test_x86_64_plt() -> None:
    t = PLT_TEMPLATES["x86_64"]
    assert len(t.plt0) == len(t.entry) == 16
    insns = decode(filled(t, 8, 2), CS_MODE_64)
    # capstone prints rip-relative operands as [rip + disp]; check the targets by hand
    code = filled(t, 8, 2)

    def rip_target(at: int, length: int) -> int:
        disp = int.from_bytes(code[at + length - 4:at + length], "little", signed=True)
        return PLT + at + length + disp

    assert insns[0][1] == "push" and rip_target(0, 6) == GOT_PLT + 8  # GOT[1]
    assert insns[1][1] == "jmp" and rip_target(6, 6) == GOT_PLT + 16  # GOT[2]
    for n in range(2):
        e = 16 + 16 * n
        at = [i for i in insns if i[0] >= PLT + e][:3]
        assert [i[1] for i in at] == ["jmp", "push", "jmp"]
        assert rip_target(e, 6) == GOT_PLT + 8 * (3 + n)  # its own .got.plt slot
        assert int(at[1][2], 0) == n  # push the relocation index
        assert int(at[2][2], 0) == PLT  # back to PLT0
        assert PLT + e + t.push_offset == at[1][0]  # a lazy slot points at the push


def test_i386_plt() -> None:
    t = PLT_TEMPLATES["i386"]
    insns = decode(filled(t, 4, 2), CS_MODE_32)
    assert insns[0][1:] == ("push", f"dword ptr [{hex(GOT_PLT + 4)}]")
    assert insns[1][1:] == ("jmp", f"dword ptr [{hex(GOT_PLT + 8)}]")
    for n in range(2):
        e = PLT + 16 + 16 * n
        at = [i for i in insns if i[0] >= e][:3]
        assert at[0][1:] == ("jmp", f"dword ptr [{hex(GOT_PLT + 4 * (3 + n))}]")
        assert at[1][1] == "push" and int(at[1][2], 0) == 8 * n  # byte offset in .rel.plt
        assert at[2][1] == "jmp" and int(at[2][2], 0) == PLT
        assert e + t.push_offset == at[1][0]


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_fields_lie_inside_their_entry(arch: str) -> None:
    t = PLT_TEMPLATES[arch]
    for f in t.plt0_fields:
        assert 0 <= f.offset and f.offset + 4 <= len(t.plt0)
    for f in t.entry_fields(24, 16):
        assert 0 <= f.offset and f.offset + 4 <= len(t.entry)
    assert t.push_imm_offset + 4 <= len(t.entry)
