"""Stub rules, decoded with capstone: each stub is `jmp *slot(%rip)` (x86-64) or `jmp *slot`
with an absolute 32-bit operand (i386, `ff 25 abs32`, both __stubs and the classic
__symbol_stub1) through the pointer whose indirect symbol is the stub's own, and each lazy
pointer starts at a __stub_helper entry that pushes the lazy-bind offset of that very
pointer and reaches dyld_stub_binder through the common helper (x86-64: `lea
dyld_private(%rip), %r11; push %r11; jmp *binder(%rip)`; i386: `pushl $dyld_private; jmp
*binder`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import capstone

from oracle.check.macho.registry import LD64, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage, Section
from oracle.emulate.macho.opcodes import OpcodeError, decode_binds

TOPIC = "stubs"
_CS = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
_CS32 = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
POINTER_SECTIONS = (mi.S_LAZY_SYMBOL_POINTERS, mi.S_NON_LAZY_SYMBOL_POINTERS)


def _code(img: MachOImage, addr: int, size: int) -> bytes | None:
    """`size` file bytes at `addr` (None when no section's file bytes hold them)."""
    for sect in img.sections():
        if not sect.zerofill and sect.addr <= addr and addr + size <= sect.addr + sect.size:
            start = sect.offset + addr - sect.addr
            return img.data[start : start + size] if start + size <= len(img.data) else None
    return None


def rip_jump(code: bytes, addr: int) -> int | None:
    """The slot of `jmp qword ptr [rip + disp]` at the start of `code`, else None."""
    insn = next(_CS.disasm(code, addr, 1), None)
    if insn is None or insn.mnemonic != "jmp" or bytes(insn.bytes[:2]) != b"\xff\x25":
        return None
    (disp,) = struct.unpack_from("<i", bytes(insn.bytes), 2)
    return int(insn.address + insn.size + disp)


def abs_jump(code: bytes, addr: int) -> int | None:
    """The slot of i386 `jmp dword ptr [abs32]` at the start of `code`, else None."""
    insn = next(_CS32.disasm(code, addr, 1), None)
    if insn is None or insn.mnemonic != "jmp" or bytes(insn.bytes[:2]) != b"\xff\x25":
        return None
    (slot,) = struct.unpack_from("<I", bytes(insn.bytes), 2)
    return int(slot)


def stub_jump(img: MachOImage, code: bytes, addr: int) -> int | None:
    """The slot a stub of this file's width jumps through."""
    return rip_jump(code, addr) if img.is64 else abs_jump(code, addr)


def _slot_entry(img: MachOImage, indirect: list[int], slot: int
                ) -> tuple[Section, int] | None:
    """(pointer section, indirect symbol entry) of the pointer at `slot`."""
    for sect in img.sections():
        if sect.type in POINTER_SECTIONS and sect.addr <= slot < sect.addr + sect.size:
            if (slot - sect.addr) % img.word:
                return None
            k = sect.reserved1 + (slot - sect.addr) // img.word
            return (sect, indirect[k]) if k < len(indirect) else None
    return None


@rule("MACHO-STUB-JMP", TOPIC,
      "each stub decodes to jmp *slot(%rip) (i386: jmp *abs32), at the pointer the indirect "
      "table names for the stub's symbol", LD64)
def stub_jumps(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    indirect = img.indirect_symbols()
    for sect in img.sections():
        if sect.type != mi.S_SYMBOL_STUBS or not sect.reserved2:
            continue
        if sect.offset + sect.size > len(img.data):
            yield sect.name, "its bytes are not in the file"
            continue
        for i in range(sect.size // sect.reserved2):
            addr = sect.addr + i * sect.reserved2
            where = f"{sect.name}[{i}] at {addr:#x}"
            code = _code(img, addr, sect.reserved2)
            slot = stub_jump(img, code, addr) if code else None
            if slot is None:
                form = "jmp *disp(%rip)" if img.is64 else "jmp *abs32 (ff 25)"
                yield where, f"does not decode to {form}"
                continue
            found = _slot_entry(img, indirect, slot)
            if found is None:
                yield where, f"jumps through {slot:#x}, which is not a symbol pointer"
                continue
            k = sect.reserved1 + i
            if k < len(indirect) and found[1] != indirect[k]:
                yield where, (f"jumps through {slot:#x} ({found[0].name}, indirect symbol "
                              f"{found[1]:#x}), but the stub's indirect symbol is "
                              f"{indirect[k]:#x}")


@rule("MACHO-STUB-HELPER", TOPIC,
      "each lazily bound pointer starts at a helper entry pushing the lazy-bind offset that "
      "binds that pointer, then reaching the helper that jumps to dyld_stub_binder", LD64)
def stub_helpers(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    info = img.dyld_info
    if info is None:
        return
    lazy = img.bytes_at(*info.lazy_bind, "lazy bind opcodes")
    try:
        lazily_bound = {img.segments[b.segment].vmaddr + b.offset
                        for b in decode_binds(lazy, "lazy_bind", lazy=True,
                                              pointer_size=img.word, limit=img.fixup_limit)
                        if b.segment < len(img.segments)}
    except OpcodeError:
        lazily_bound = None  # MACHO-LAZY-BIND reports it; judge every pointer
    for sect in img.sections():
        if sect.type != mi.S_LAZY_SYMBOL_POINTERS or sect.offset + sect.size > len(img.data):
            continue  # (MACHO-SECT-IN-SEG and MACHO-SEG-FILE report a section past the file)
        for i in range(sect.size // img.word):
            slot = sect.addr + img.word * i
            where = f"{sect.name}[{i}] at {slot:#x}"
            raw = _code(img, slot, img.word)
            if raw is None:
                continue
            helper = int.from_bytes(raw, "little")
            code = _code(img, helper, 10)
            if code is None or code[0] != 0x68 or code[5] != 0xE9:
                if lazily_bound is not None and slot not in lazily_bound:
                    continue  # bound at load or used as is (lld: a weak definition's own
                    # address, with a weak bind): no helper is ever reached through it
                yield where, f"initial value {helper:#x} is not a push imm32; jmp helper entry"
                continue
            (offset,), (rel,) = struct.unpack_from("<I", code, 1), struct.unpack_from("<i", code, 6)
            try:
                binds = decode_binds(lazy, "lazy_bind", lazy=True, start=offset, single=True,
                                     pointer_size=img.word, limit=img.fixup_limit)
            except OpcodeError as err:
                yield where, f"helper at {helper:#x} pushes lazy-bind offset {offset:#x}: {err}"
                continue
            bound = {img.segments[b.segment].vmaddr + b.offset for b in binds
                     if b.segment < len(img.segments)}
            if bound != {slot}:
                yield where, (f"helper at {helper:#x} pushes lazy-bind offset {offset:#x}, "
                              f"which binds {', '.join(f'{a:#x}' for a in sorted(bound))}")
            problem = _common_helper(img, helper + 10 + rel)
            if problem:
                yield where, problem


def _common_helper(img: MachOImage, addr: int) -> str | None:
    """The shared helper: lea dyld_private(%rip), %r11; push %r11; jmp *binder(%rip)."""
    if not img.is64:
        return _common_helper_i386(img, addr)
    code = _code(img, addr, 16)
    if code is None:
        return f"helper entry jumps to {addr:#x}, outside the file's sections"
    insns = list(_CS.disasm(code, addr, 3))
    if len(insns) < 3 or insns[0].mnemonic != "lea" or insns[1].op_str != "r11" \
            or insns[1].mnemonic != "push":
        return f"the common helper at {addr:#x} is not lea ...,%r11; push %r11; jmp"
    (disp,) = struct.unpack_from("<i", bytes(insns[0].bytes), 3)
    private = insns[0].address + insns[0].size + disp
    seg = img.segment_at(private, img.word)
    if seg is None or not seg.writable:
        return f"the common helper's dyld_private {private:#x} is not in a writable segment"
    slot = rip_jump(bytes(insns[2].bytes), insns[2].address)
    if slot is None:
        return f"the common helper at {addr:#x} does not end in jmp *disp(%rip)"
    return _binder_slot_problem(img, slot)


def _common_helper_i386(img: MachOImage, addr: int) -> str | None:
    """i386's shared helper: pushl $dyld_private; jmp *binder (abs32); (nop)."""
    code = _code(img, addr, 11)
    if code is None:
        return f"helper entry jumps to {addr:#x}, outside the file's sections"
    if code[0] != 0x68:
        return f"the common helper at {addr:#x} is not pushl $dyld_private; jmp *binder"
    (private,) = struct.unpack_from("<I", code, 1)
    seg = img.segment_at(private, img.word)
    if seg is None or not seg.writable:
        return f"the common helper's dyld_private {private:#x} is not in a writable segment"
    slot = abs_jump(code[5:], addr + 5)
    if slot is None:
        return f"the common helper at {addr:#x} does not continue with jmp *abs32"
    return _binder_slot_problem(img, slot)


def _binder_slot_problem(img: MachOImage, slot: int) -> str | None:
    bound = _bound_names(img)
    if bound is not None and bound.get(slot) != "dyld_stub_binder":
        return f"the common helper jumps through {slot:#x}, which is not bound to dyld_stub_binder"
    return None


def _bound_names(img: MachOImage) -> dict[int, str] | None:
    """Address -> symbol of every non-lazy bind (None if the stream does not decode,
    which MACHO-BIND reports)."""
    info = img.dyld_info
    if info is None:
        return {}
    try:
        binds = decode_binds(img.bytes_at(*info.bind, "bind opcodes"), pointer_size=img.word,
                             limit=img.fixup_limit)
    except OpcodeError:
        return None
    return {img.segments[b.segment].vmaddr + b.offset: b.symbol for b in binds
            if b.segment < len(img.segments)}
