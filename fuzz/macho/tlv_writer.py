"""fuzz/macho/tlv.py's x86-64 objects written by our own MH_OBJECT writer (emit_macho.py)
instead of llvm-mc-14: the same instructions, encoded here, and the thread-local sections
typed by name (emit_macho.TLV_SECTION_TYPES).  Where llvm-mc has a free choice we take the
other one, so the linker meets both: a descriptor's third word is an extern UNSIGNED
against the local `_v$tlv$init` (llvm-mc: non-extern, against its section), and every call
or address of a block is an extern relocation even within the object.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .emit_macho import MachoImage, MachoReloc, MachoSection, MachoSymbol, align_up, write_macho
from .tlv import KEPT_ECX, KEPT_EDX, TRACE_FUNCTION, TlvCase, TlvStep, TlvVar

TEXT, DATA, VARS, BSS = "__TEXT,__text", "__DATA,__thread_data", "__DATA,__thread_vars", \
    "__DATA,__thread_bss"
DARWIN_EXIT = 0x2000001


@dataclass
class _Code:
    """A growing __text with its relocations and the symbols it defines and references."""

    data: bytearray = field(default_factory=bytearray)
    relocs: list[MachoReloc] = field(default_factory=list)
    defined: dict[str, int] = field(default_factory=dict)
    referenced: set[str] = field(default_factory=set)

    def emit(self, raw: bytes) -> None:
        self.data += raw

    def fixup(self, opcode: bytes, kind: str, symbol: str, tail: bytes = b"") -> None:
        """`opcode`, a 4-byte pc-relative field (addend 0) against `symbol`, then `tail`."""
        self.data += opcode
        self.relocs.append(MachoReloc(len(self.data), kind, 4, symbol=symbol))
        self.referenced.add(symbol)
        self.data += bytes(4) + tail

    def label(self, name: str) -> None:
        self.data += b"\x90" * (-len(self.data) % 16)  # .p2align 4 (nops: never run)
        self.defined[name] = len(self.data)


def _imm(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def _step(code: _Code, v: TlvVar, s: TlvStep) -> None:
    if s.store is None:
        code.emit(b"\xb9" + _imm(KEPT_ECX) + b"\xba" + _imm(KEPT_EDX))  # movl $K, %ecx/%edx
    code.fixup(b"\x48\x8b\x3d", "TLV", f"_{v.name}")  # movq _v@TLVP(%rip), %rdi
    code.emit(b"\xff\x17")  # callq *(%rdi)
    if s.store is not None:
        code.emit(b"\xc7\x40" + bytes([4 * s.word]) + _imm(s.store))  # movl $x, d(%rax)
        return
    code.emit(b"\x81\xe9" + _imm(KEPT_ECX) + b"\x81\xea" + _imm(KEPT_EDX)  # subl ...
              + b"\x01\xca\x89\xc1\x83\xe1" + bytes([v.align - 1])  # addl; movl; andl
              + b"\x01\xca\x8b\x78" + bytes([4 * s.word]) + b"\x01\xd7")  # addl; movl; addl
    code.fixup(b"\xe8", "BRANCH", f"_{TRACE_FUNCTION}")


def _start(code: _Code, case: TlvCase) -> None:
    code.label("_start")
    code.emit(b"\x48\x83\xe4\xf0\x48\x83\xec\x10")  # andq $-16, %rsp; subq $16, %rsp
    for n, block in enumerate(case.blocks):
        if not block.thread:
            code.fixup(b"\xe8", "BRANCH", f"_lh_tlv_block{n}")
            continue
        code.emit(b"\x48\x89\xe7\x31\xf6")  # movq %rsp, %rdi; xorl %esi, %esi
        code.fixup(b"\x48\x8d\x15", "SIGNED", f"_lh_tlv_block{n}", b"\x31\xc9")  # leaq; xorl
        code.fixup(b"\xe8", "BRANCH", "_pthread_create", b"\x48\x8b\x3c\x24\x31\xf6")
        code.fixup(b"\xe8", "BRANCH", "_pthread_join")
    code.emit(b"\xb8" + _imm(DARWIN_EXIT) + b"\x31\xff\x0f\x05")  # exit(0) system call


def object_image(case: TlvCase, owner: int) -> MachoImage:
    """Object `owner` (0 holds `_start`) of `case` as our writer's input."""
    assert case.arch == "x86_64", "our TLV writer is x86-64's"
    code = _Code()
    if owner == 0:
        _start(code, case)
    for n, block in enumerate(case.blocks):
        if block.owner != owner:
            continue
        code.label(f"_lh_tlv_block{n}")
        code.emit(b"\x53")  # pushq %rbx
        for s in block.steps:
            _step(code, case.variables[s.var], s)
        code.emit(b"\x31\xc0\x5b\xc3")  # xorl %eax, %eax; popq %rbx; retq
    mine = [v for v in case.variables if v.owner == owner]
    # the object's address space: __text, __thread_data, __thread_vars, then __thread_bss
    data, bss, inits = bytearray(), 0, {}
    for v in mine:
        if not v.zero:
            data += bytes(-len(data) % v.align)
            inits[v.name] = (DATA, len(data))
            data += b"".join(_imm(w) for w in v.words)
    for v in mine:
        if v.zero:
            bss = align_up(bss, v.align)
            inits[v.name] = (BSS, bss)
            bss += 4 * len(v.words)
    data_align = max((v.align for v in mine if not v.zero), default=1)
    bss_align = max((v.align for v in mine if v.zero), default=1)
    text_at = 0
    data_at = align_up(text_at + len(code.data), data_align)
    vars_at = align_up(data_at + len(data), 8)
    bss_at = align_up(vars_at + 24 * len(mine), bss_align)
    base = {TEXT: text_at, DATA: data_at, VARS: vars_at, BSS: bss_at}
    descriptors, vars_relocs = bytearray(), []
    for k, v in enumerate(mine):
        vars_relocs += [MachoReloc(24 * k, "UNSIGNED", 8, symbol="__tlv_bootstrap"),
                        MachoReloc(24 * k + 16, "UNSIGNED", 8, symbol=f"_{v.name}$tlv$init")]
        descriptors += bytes(24)  # the addends: 0
    sections = [MachoSection("__TEXT", "__text", 16, text_at, bytes(code.data),
                             len(code.data), True, False, tuple(code.relocs))]
    if data:
        sections.append(MachoSection("__DATA", "__thread_data", data_align, data_at,
                                     bytes(data), len(data), False, False, ()))
    if mine:
        sections.append(MachoSection("__DATA", "__thread_vars", 8, vars_at, bytes(descriptors),
                                     len(descriptors), False, False, tuple(vars_relocs)))
    if bss:
        sections.append(MachoSection("__DATA", "__thread_bss", bss_align, bss_at, b"", bss,
                                     False, True, ()))
    symbols = [MachoSymbol(name, "sect", True, text_at + at, TEXT)
               for name, at in code.defined.items()]
    symbols += [MachoSymbol(f"_{v.name}", "sect", True, vars_at + 24 * k, VARS)
                for k, v in enumerate(mine)]
    symbols += [MachoSymbol(f"_{name}$tlv$init", "sect", False, base[sect] + at, sect)
                for name, (sect, at) in inits.items()]
    known = {s.name for s in symbols}
    symbols += [MachoSymbol(name, "undef", True)
                for name in sorted((code.referenced | {"__tlv_bootstrap"} if mine
                                    else code.referenced) - known)]
    return MachoImage(tuple(sections), tuple(symbols))


def object_bytes(case: TlvCase, owner: int) -> bytes:
    return write_macho(object_image(case, owner))
