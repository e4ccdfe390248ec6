"""PLT entries, found by decoding the output's `.plt*` sections with capstone.

An entry "belongs" to a symbol when control entering it reaches an indirect jump through
that symbol's GOT slot after only padding-like instructions (endbr, nop, bnd prefix, mold's
`mov $n, %r11d` or `mov $n, %ecx`).  Every address from which that holds is a valid call target, so the
classic lazy PLT, `.plt.sec` (IBT) and `.plt.got` layouts are all covered without knowing
entry sizes.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import NamedTuple

import capstone
from capstone import x86_const

from .image import OutputImage

_PASS_THROUGH = {"endbr64", "endbr32", "nop"}
_PLT_SLOT_KINDS = ("JUMP_SLOT", "GLOB_DAT", "IRELATIVE")  # what fills a slot a PLT entry reads
_REG_IMM = re.compile(r"^[a-z0-9]+, (0x[0-9a-f]+|[0-9]+)$")


@functools.cache
def _disassembler(machine: str) -> capstone.Cs:
    """One capstone handle per machine for the process (opening one costs more than
    decoding a small PLT)."""
    mode = capstone.CS_MODE_64 if machine == "x86_64" else capstone.CS_MODE_32
    md = capstone.Cs(capstone.CS_ARCH_X86, mode)
    md.detail = True
    return md


class _Insn(NamedTuple):
    """What the PLT walk reads of one decoded instruction, as plain values: capstone's
    objects answer each attribute through ctypes, a µs or so apiece, and the walk asks
    several of every instruction of every PLT."""

    address: int
    size: int
    mnemonic: str
    op_str: str
    # the memory operand of a one-operand `jmp`/`bnd jmp`: (base register, index
    # register, displacement); None for any other instruction
    jump_mem: tuple[int, int, int] | None


def _sweep(machine: str, code: bytes, addr: int) -> list[_Insn]:
    """The instructions of a linear decode of `code` at `addr`, up to the first byte that
    does not decode.  The sweep uses capstone's lite decoder (no details: about 1 us an
    instruction against 10); each instruction's details are decoded once per process for
    its exact bytes and address, which consecutive outputs mostly repeat."""
    found = []
    for at, size, _, _ in _disassembler(machine).disasm_lite(code, addr):
        insn = _insn(machine, at, bytes(code[at - addr:at - addr + size]))
        if insn is None:
            break
        found.append(insn)
    return found


@functools.lru_cache(maxsize=4096)
def _insn(machine: str, addr: int, raw: bytes) -> _Insn | None:
    """The instruction `raw` (exactly its bytes) is at `addr`: x86 decoding reads only an
    instruction's own bytes, so it is what the longer sweep decoded there.  Shared, never
    modified."""
    insn = next(iter(_disassembler(machine).disasm(raw, addr, 1)), None)
    if insn is None:
        return None
    jump_mem = None
    if insn.mnemonic in ("jmp", "bnd jmp") and len(insn.operands) == 1:
        op = insn.operands[0]
        if op.type == x86_const.X86_OP_MEM:
            jump_mem = (op.mem.base, op.mem.index, int(op.mem.disp))
    return _Insn(insn.address, insn.size, insn.mnemonic, insn.op_str, jump_mem)


def indirect_jump_slot(insn: _Insn, got_base: int | None) -> int | None:
    """The memory word `jmp *mem` reads, when it is a fixed address (rip-, abs- or ebx-based)."""
    if insn.jump_mem is None:
        return None
    base, index, disp = insn.jump_mem
    if index != 0:
        return None
    if base == x86_const.X86_REG_RIP:
        return int(insn.address + insn.size + disp)
    if base == 0:
        return int(disp) & 0xFFFFFFFF
    if base == x86_const.X86_REG_EBX and got_base is not None:
        return int(got_base + disp) & 0xFFFFFFFF
    return None


def _slot_under_some_base(insn: _Insn, image: OutputImage,
                          bases: list[int]) -> int | None:
    """The slot of an indirect jump; for `jmp *n(%ebx)` (i386 PIC PLT) under the GOT base
    whose slot a JUMP_SLOT, GLOB_DAT or IRELATIVE fills: GNU ld, gold and lld point %ebx at
    .got.plt, mold at .got."""
    first = indirect_jump_slot(insn, bases[0] if bases else None)
    if first is None or len(bases) < 2 or insn.jump_mem is None \
            or insn.jump_mem[0] != x86_const.X86_REG_EBX:
        return first
    for base in bases:
        slot = indirect_jump_slot(insn, base)
        if slot is not None and any(r.kind in _PLT_SLOT_KINDS for r in image.dynamic_at(slot)):
            return slot
    return first


def _passes_through(insn: _Insn) -> bool:
    if insn.mnemonic in _PASS_THROUGH:
        return True
    # mold's PLT loads the entry's index into a scratch register (%r11d, %ecx) first
    return insn.mnemonic == "mov" and _REG_IMM.match(insn.op_str) is not None


def plt_entries(image: OutputImage) -> dict[int, list[int]]:
    """GOT slot address -> every address in a PLT section that jumps through that slot."""
    result: dict[int, list[int]] = defaultdict(list)
    bases = image.got_base_candidates()
    for sec in image.sections:
        if not sec.executable or "plt" not in sec.name or sec.nobits:
            continue
        pending: list[int] = []  # starts of a pass-through run leading to the next jump
        offset = 0
        while offset < len(sec.data):
            # a linear sweep up to the first byte capstone cannot decode, which is skipped
            for insn in _sweep(image.machine, sec.data[offset:], sec.addr + offset):
                slot = _slot_under_some_base(insn, image, bases)
                if slot is not None:
                    result[slot].extend(pending)
                    result[slot].append(insn.address)
                    pending.clear()
                elif _passes_through(insn):
                    # padding that follows the previous entry's jump does not start an entry
                    if pending or not insn.mnemonic.startswith("nop"):
                        pending.append(insn.address)
                else:
                    pending.clear()
                offset += insn.size
            if offset < len(sec.data):
                pending.clear()
                offset += 1
    return {slot: sorted(addrs) for slot, addrs in result.items()}
