"""linker/macho/relocs_x86_64.py: every x86-64 Mach-O relocation type llvm-mc emits, applied
in a real link and checked by decoding the output with capstone."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone.x86 import X86_OP_MEM, X86_REG_RIP
from macholib.MachO import MachO

from linker import link
from linker.macho.relocs_x86_64 import HOWTOS, SIGNED, SIGNED_1, SIGNED_2, SIGNED_4, TRAILING

SOURCE = """
    .globl _main
    .text
_main:
    movl $5, _x(%rip)           # X86_64_RELOC_SIGNED_4: 4 immediate bytes follow
    movb $1, _y(%rip)           # SIGNED_1
    movw $1, _z(%rip)           # SIGNED_2
    leaq _x+8(%rip), %rax       # SIGNED with an addend
    movq _x@GOTPCREL(%rip), %rcx  # GOT_LOAD
    callq _f                    # BRANCH
    retq
    .globl _f
_f:
    retq
    .data
    .globl _x, _y, _z, _d64, _d32, _abs
_x: .quad 0, 0
_y: .byte 0
_z: .short 0
    .p2align 3
_d64: .quad _f - _x             # SUBTRACTOR + UNSIGNED (64)
_d32: .long _f - _x             # SUBTRACTOR (32)
    .p2align 3
_abs: .quad _f + 3              # UNSIGNED with an addend
"""


def test_table_keys_are_consistent() -> None:
    for (r_type, pcrel, length), howto in HOWTOS.items():
        assert howto.width == 1 << length
        if pcrel:
            assert r_type in TRAILING
    assert [TRAILING[t] for t in (SIGNED, SIGNED_1, SIGNED_2, SIGNED_4)] == [0, 1, 2, 4]


@pytest.fixture(scope="module")
def output(macho_asm: Callable[[str, str], Path],
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    obj = macho_asm(SOURCE, "relocs_all")
    out = tmp_path_factory.mktemp("relocs") / "out"
    link([obj, "-lSystem"], out, target="macho-x86_64")
    return out


def _read(path: Path) -> tuple[bytes, dict[str, tuple[int, int]], dict[str, int]]:
    """(file bytes, section -> (addr, file offset), symbol -> address)."""
    data = path.read_bytes()
    h = MachO(str(path)).headers[0]
    sections, symbols = {}, {}
    for lc, cmd, sects in h.commands:
        if hasattr(cmd, "nsects") and sects:
            for s in sects:
                sections[bytes(s.sectname).rstrip(b"\0").decode()] = (s.addr, s.offset)
        if lc.cmd == 0x2:  # LC_SYMTAB
            for i in range(cmd.nsyms):
                strx, _, _, _, value = struct.unpack_from("<IBBHQ", data, cmd.symoff + 16 * i)
                symbols[data[cmd.stroff + strx:].split(b"\0")[0].decode()] = value
    return data, sections, symbols


def test_pc_relative_kinds_reach_their_targets(output: Path) -> None:
    data, sections, sym = _read(output)
    text_addr, text_off = sections["__text"]
    md = Cs(CS_ARCH_X86, CS_MODE_64)
    md.detail = True
    targets = []
    calls = []
    for insn in md.disasm(data[text_off:text_off + 64], text_addr):
        for op in insn.operands:
            if op.type == X86_OP_MEM and op.mem.base == X86_REG_RIP:
                targets.append(insn.address + insn.size + op.mem.disp)
        if insn.mnemonic == "call":
            calls.append(int(insn.op_str, 16))
        if insn.mnemonic == "ret":
            break
    got_addr, got_off = sections["__got"]
    assert targets[:4] == [sym["_x"], sym["_y"], sym["_z"], sym["_x"] + 8]
    slot = targets[4]
    assert got_addr <= slot < got_addr + 8 * 4
    assert struct.unpack_from("<Q", data, got_off + slot - got_addr)[0] == sym["_x"]
    assert calls == [sym["_f"]]  # defined here: no stub


def test_subtractor_and_unsigned(output: Path) -> None:
    data, sections, sym = _read(output)
    data_addr, data_off = sections["__data"]

    def at(name: str, fmt: str) -> int:
        value: int = struct.unpack_from(fmt, data, data_off + sym[name] - data_addr)[0]
        return value

    assert at("_d64", "<q") == sym["_f"] - sym["_x"]
    assert at("_d32", "<i") == sym["_f"] - sym["_x"]
    assert at("_abs", "<Q") == sym["_f"] + 3
