"""Decoding PLT code by meaning rather than by byte pattern.

Linkers lay PLTs out differently (GNU ld and gold: push/jmp entries; GNU ld and lld with
IBT: a second `.plt.sec` table; mold: `mov $n, %r11d` or `%ecx` and one shared lazy
stub), so the checker does not compare bytes.  It finds each slot's PLT entry by decoding
the `jmp *slot` that uses it, and it *executes* the lazy path on a tiny abstract machine
(immediates, known registers, a stack of values) until the jump into ld.so's resolver
through GOT[2], then reads off what that path handed the resolver.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import capstone
from capstone import x86_const as x86

from oracle.check import consts as c
from oracle.check.image import ElfImage, per_image
from oracle.check.relocations import jump_slots
from oracle.check.tables import defined_symbols, dyn_value

MAX_STEPS = 64  # a lazy path is a handful of instructions; this bounds garbage loops


@dataclass(frozen=True)
class JumpRef:
    """A `jmp *mem` found in PLT code: where it is, what it jumps through, and where the
    straight-line setup code leading into it (endbr, nop, mov $imm) begins."""

    address: int
    target: int
    entry: int


@dataclass(frozen=True)
class LazyPath:
    """Outcome of running a lazy path: the stack handed to the resolver, or why not."""

    pushed: tuple[tuple[str, int], ...] | None
    failure: str | None


def _disassembler(img: ElfImage, skipdata: bool) -> capstone.Cs:
    """Linear sweeps skip undecodable bytes (padding); the lazy-path walk must not."""
    return _open_disassembler(img.is64, skipdata)


@functools.cache
def _open_disassembler(is64: bool, skipdata: bool) -> capstone.Cs:
    """One capstone handle per mode for the process: opening one costs more than the
    small walks the rules make with it."""
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64 if is64 else capstone.CS_MODE_32)
    cs.detail = True
    cs.skipdata = skipdata
    return cs


class _Mem(NamedTuple):
    base: int
    index_reg: int
    segment: int
    disp: int


class _Op(NamedTuple):
    """One operand: its type and the one field that type has (0 or None for the others)."""

    type: int
    reg: int
    imm: int
    mem: _Mem | None


class _Insn(NamedTuple):
    """What the walks read of a decoded instruction, as plain values: capstone's objects
    answer every attribute (id, operands, each field of an operand) through ctypes, a µs
    or so apiece, and the walks ask several of every PLT instruction."""

    id: int
    address: int
    size: int
    mnemonic: str
    op_str: str
    operands: tuple[_Op, ...]  # none for a byte skipped as data (id 0)


def _plain(insn: capstone.CsInsn) -> _Insn:
    ops: tuple[_Op, ...] = ()
    if insn.id != 0:  # (a skipped byte has no operands to ask for: capstone raises)
        ops = tuple(_Op(op.type, op.reg if op.type == x86.X86_OP_REG else 0,
                        int(op.imm) if op.type == x86.X86_OP_IMM else 0,
                        _Mem(op.mem.base, op.mem.index, op.mem.segment, int(op.mem.disp))
                        if op.type == x86.X86_OP_MEM else None)
                    for op in insn.operands)
    return _Insn(insn.id, insn.address, insn.size, insn.mnemonic, insn.op_str, ops)


@functools.cache
def _canon(cs: capstone.Cs, reg: int) -> str:
    """r11d -> r11, ecx -> cx, rcx -> cx: one name per architectural register."""
    name = cs.reg_name(reg) or ""
    if name.startswith("r") and name[1:2].isdigit():
        return name.rstrip("dwb")
    return name[1:] if len(name) == 3 and name[0] in "er" else name


def _is_setup(insn: _Insn) -> bool:
    if insn.id in (x86.X86_INS_ENDBR64, x86.X86_INS_ENDBR32, x86.X86_INS_NOP):
        return True
    if insn.id != x86.X86_INS_MOV:
        return False  # (and never touch operands of a skipped-data pseudo-instruction)
    ops = insn.operands
    return len(ops) == 2 and ops[0].type == x86.X86_OP_REG \
        and ops[1].type == x86.X86_OP_IMM


def mem_address(img: ElfImage, insn: _Insn, op: _Op, regs: dict[str, int],
                cs: capstone.Cs) -> int | None:
    """The address a memory operand names, when it is knowable without running code."""
    mask = (1 << (8 * img.word)) - 1
    mem = op.mem
    if mem is None:
        return None  # not a memory operand
    if mem.index_reg != 0 or mem.segment != 0:  # %fs/%gs-relative: not a static address
        return None
    if mem.base == x86.X86_REG_RIP:
        return (insn.address + insn.size + mem.disp) & mask
    if mem.base == 0:
        return mem.disp & mask
    base = regs.get(_canon(cs, mem.base))
    return None if base is None else (base + mem.disp) & mask


def plt_code(img: ElfImage) -> list[tuple[int, bytes]]:
    """(address, bytes) of the code that may hold PLT entries: the executable sections named
    *plt*, or every executable PT_LOAD of a file without section headers."""
    if img.sections:
        return [(s.addr, img.section_bytes(s)) for s in img.sections
                if s.flags & c.SHF_EXECINSTR and "plt" in s.name
                and s.type != c.SHT_NOBITS and s.size]
    return [(seg.vaddr, img.bytes_at(seg.offset, seg.filesz, seg.name)) for seg in img.loads
            if seg.flags & c.PF_X]


@dataclass(frozen=True)
class _RawJump:
    """A `jmp *mem` before %ebx is known: its static target, or its base register and
    displacement."""

    address: int
    entry: int
    target: int | None
    base: str | None
    disp: int


@per_image
def _raw_jumps(img: ElfImage) -> tuple[_RawJump, ...]:
    """Every `jmp *mem` in the PLT code (linear decode), with the setup code before it."""
    cs = _disassembler(img, skipdata=True)
    out = []
    for addr, code in plt_code(img):
        insns = _sweep(img.is64, code, addr)
        for i, insn in enumerate(insns):
            if insn.id != x86.X86_INS_JMP or not insn.operands \
                    or insn.operands[0].type != x86.X86_OP_MEM:
                continue
            op = insn.operands[0]
            mem = op.mem
            assert mem is not None  # (an X86_OP_MEM operand)
            target = mem_address(img, insn, op, {}, cs)
            base = None
            if target is None and mem.index_reg == 0 and mem.segment == 0:
                base = _canon(cs, mem.base)
            start = i
            while start > 0 and _is_setup(insns[start - 1]):
                start -= 1
            out.append(_RawJump(insn.address, insns[start].address, target, base, mem.disp))
    return tuple(out)


@per_image
def entry_registers(img: ElfImage) -> dict[str, int]:
    """Registers PLT code may rely on at entry.  An i386 position-independent PLT jumps
    through %ebx, which its caller loaded with the GOT base.  Which address that is differs
    (GNU ld and lld: .got.plt, the _GLOBAL_OFFSET_TABLE_ symbol; mold: .got), and nothing
    in the file records it, so the candidate under which the most %ebx-relative jumps land
    on JUMP_SLOT slots is taken: one corrupted entry cannot move the base for the rest."""
    if img.is64:
        return {}
    relative = [j for j in _raw_jumps(img) if j.base == "bx"]
    if not relative:
        return {}
    candidates = [s.value for s in defined_symbols(img, "_GLOBAL_OFFSET_TABLE_")]
    candidates += [v for v in (dyn_value(img, c.DT_PLTGOT),) if v is not None]
    candidates += [s.addr for s in (img.section(".got.plt"), img.section(".got")) if s]
    if not candidates:
        return {}
    slots = {dr.reloc.offset for dr in jump_slots(img)}
    mask = (1 << (8 * img.word)) - 1

    def landed(base: int) -> int:
        return sum((base + j.disp) & mask in slots for j in relative)

    return {"bx": max(candidates, key=landed)}


@per_image
def indirect_jumps(img: ElfImage) -> tuple[JumpRef, ...]:
    """Every `jmp *mem` in the PLT code whose target is known statically."""
    mask = (1 << (8 * img.word)) - 1
    regs = entry_registers(img)
    out = []
    for j in _raw_jumps(img):
        target = j.target
        if target is None and j.base in regs:
            target = (regs[j.base] + j.disp) & mask
        if target is not None:
            out.append(JumpRef(j.address, target, j.entry))
    return tuple(out)


def _decode_at(img: ElfImage, cs: capstone.Cs, addr: int) -> _Insn | None:
    """The instruction at `addr`, decoded once per image: every slot's lazy path runs
    through the same PLT0 (and the two rules walking paths meet the same entries)."""
    key = ("pltwalk.decode_at", addr)
    if key not in img.memo:
        img.memo[key] = _decode(img, cs, addr)
    found: _Insn | None = img.memo[key]
    return found


def _decode(img: ElfImage, cs: capstone.Cs, addr: int) -> _Insn | None:
    load = img.load_at(addr)
    if load is None or not load.flags & c.PF_X:
        return None
    size = min(15, load.vaddr + load.filesz - addr)
    raw = img.read_vaddr(addr, size) if size > 0 else None
    if raw is None:
        return None
    first = next(iter(cs.disasm_lite(raw, addr, 1)), None)
    return None if first is None else _insn(img.is64, False, addr, bytes(raw[:first[1]]))


def _sweep(is64: bool, code: bytes, addr: int) -> list[_Insn]:
    """A linear decode of `code` at `addr` (undecodable bytes skipped), each instruction's
    details decoded once per process for its bytes and address.  Capstone's details cost
    about 10 us an instruction through its Python binding, against 1 us for the bare
    sweep, and consecutive outputs mostly repeat their PLTs at the same addresses."""
    cs = _open_disassembler(is64, True)
    found = []
    for at, size, _, _ in cs.disasm_lite(code, addr):
        insn = _insn(is64, True, at, bytes(code[at - addr:at - addr + size]))
        if insn is not None:
            found.append(insn)
    return found


@functools.lru_cache(maxsize=4096)
def _insn(is64: bool, skipdata: bool, addr: int, raw: bytes) -> _Insn | None:
    """The one instruction `raw` (its exact bytes) decodes to at `addr`: what a decode of
    a longer run gives for it, since x86 decoding reads only the instruction's own bytes
    (a byte skipped as data alone is skipped alone too).  Shared, never modified."""
    insn = next(iter(_open_disassembler(is64, skipdata).disasm(raw, addr, 1)), None)
    return None if insn is None else _plain(insn)


def run_lazy_path(img: ElfImage, start: int, slot: int, resolver_ptr: int) -> LazyPath:
    """Execute from `start` with every GOT slot holding its file contents until a jump
    through `resolver_ptr` (GOT[2]); `slot` is the one jump allowed through a slot."""
    cs = _disassembler(img, skipdata=False)
    mask = (1 << (8 * img.word)) - 1
    regs = entry_registers(img)
    stack: list[tuple[str, int]] = []
    pc, through_slot = start, False
    for _ in range(MAX_STEPS):
        insn = _decode_at(img, cs, pc)
        if insn is None:
            return LazyPath(None, f"reaches {img.where(pc)}, which is not executable code")
        ops = insn.operands
        at = pc  # `here(...)` names the instruction, only for a failure's message

        def here(insn: _Insn = insn, at: int = at) -> str:
            return f"{insn.mnemonic} {insn.op_str} at {img.where(at)}"

        pc = insn.address + insn.size
        if _is_setup(insn):
            if insn.id == x86.X86_INS_MOV:
                regs[_canon(cs, ops[0].reg)] = ops[1].imm & mask
            continue
        if insn.id == x86.X86_INS_LEA and len(ops) == 2 and ops[0].type == x86.X86_OP_REG:
            addr = mem_address(img, insn, ops[1], regs, cs)
            if addr is None:
                return LazyPath(None, f"computes an unknown address: {here()}")
            regs[_canon(cs, ops[0].reg)] = addr
            continue
        if insn.id == x86.X86_INS_PUSH and len(ops) == 1:
            op = ops[0]
            if op.type == x86.X86_OP_IMM:
                stack.append(("imm", op.imm & mask))
            elif op.type == x86.X86_OP_REG and _canon(cs, op.reg) in regs:
                stack.append(("imm", regs[_canon(cs, op.reg)]))
            elif op.type == x86.X86_OP_MEM and (a := mem_address(img, insn, op, regs, cs)):
                stack.append(("mem", a))
            else:
                return LazyPath(None, f"pushes an unknown value: {here()}")
            continue
        if insn.id != x86.X86_INS_JMP or len(ops) != 1:
            return LazyPath(None, f"unexpected instruction {here()}")
        op = ops[0]
        if op.type == x86.X86_OP_IMM:
            pc = op.imm & mask
            continue
        target = mem_address(img, insn, op, regs, cs) if op.type == x86.X86_OP_MEM else None
        if target == resolver_ptr:
            return LazyPath(tuple(stack), None)
        if target == slot and not through_slot:
            through_slot = True
            value = img.word_at(slot)
            if value is None:
                return LazyPath(None, f"slot {img.where(slot)} is not mapped")
            pc = value
            continue
        shown = "an unknown address" if target is None else img.where(target)
        return LazyPath(None, f"jumps through {shown}, neither its slot nor GOT+{2 * img.word}: "
                              f"{here()}")
    return LazyPath(None, f"no jump to the resolver within {MAX_STEPS} instructions")
