"""linker.macho.read: every X86_64_RELOC form, extern and non-extern, and the refusals."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from linker.errors import LinkError
from linker.kinds import RelocKind
from linker.macho.read import read_macho_object
from linker.model import COMMON, UNDEF, Binding

SOURCE = """
    .section __TEXT,__text,regular,pure_instructions
    .globl _main
_main:
    movb $0x12, _x(%rip)
    movw $0x1234, _x+2(%rip)
    movl $7, _x+8(%rip)
    call _ext
    call _helper
    movq _ext_data@GOTPCREL(%rip), %rax
    pushq _ext_data@GOTPCREL(%rip)
    ret
_helper:
    ret
    .section __DATA,__data
    .globl _x
_x: .quad 0, 0
    .quad _x + 4
    .quad _x - _helper
    .long _x - _helper + 3
    .quad _ext + 16
    .comm _cbuf, 64, 5
    .weak_definition _wdef
    .globl _wdef
_wdef: .quad 1
"""


def _read(path: Path):
    return read_macho_object(memoryview(path.read_bytes()), str(path))


def _rows(obj, section: str):
    sec = next(s for s in obj.sections if s is not None and s.name == section)
    sub = sec.relocs.subtrahend
    out = []
    for n, (offset, howto, symbol, addend) in enumerate(sec.relocs.rows.tolist()):
        t = int(sub[n]) if sub is not None else -1
        out.append((offset, obj.howtos[howto].name, obj.symbols.names[symbol], addend,
                    obj.symbols.names[t] if t >= 0 else None))
    return sorted(out)


def test_extern_relocations(macho_asm) -> None:
    obj = _read(macho_asm(SOURCE, "ext"))
    text = _rows(obj, "__TEXT,__text")
    # SIGNED_N addends: the assembler folded N in; A = stored - 4 (P is the field).
    assert text[0] == (2, "X86_64_RELOC_SIGNED_1", "_x", -5, None)
    assert text[1] == (10, "X86_64_RELOC_SIGNED", "_x", -4, None)  # movw: 2 folded into 0
    assert text[2][1:4] == ("X86_64_RELOC_SIGNED", "_x", 0)  # movl _x+8: stored 4
    names = [r[1] for r in text]
    assert names.count("X86_64_RELOC_BRANCH") == 2
    assert {"X86_64_RELOC_GOT_LOAD", "X86_64_RELOC_GOT"} <= set(names)
    data = _rows(obj, "__DATA,__data")
    assert (16, "X86_64_RELOC_UNSIGNED", "_x", 4, None) in data
    assert (24, "X86_64_RELOC_SUBTRACTOR", "_x", 0, "_helper") in data
    assert (32, "X86_64_RELOC_SUBTRACTOR(32)", "_x", 3, "_helper") in data
    assert (36, "X86_64_RELOC_UNSIGNED", "_ext", 16, None) in data


def test_symbols(macho_asm) -> None:
    t = _read(macho_asm(SOURCE, "syms")).symbols
    index = {n: i for i, n in enumerate(t.names)}
    assert t.section[index["_ext"]] == UNDEF
    assert t.section[index["_cbuf"]] == COMMON
    assert (int(t.size[index["_cbuf"]]), int(t.value[index["_cbuf"]])) == (64, 32)
    assert t.binding[index["_helper"]] == Binding.LOCAL
    assert t.binding[index["_wdef"]] == Binding.WEAK
    # Values are section offsets, not object addresses (__data follows __text).
    assert int(t.value[index["_x"]]) == 0


def test_non_extern_relocations(macho_cc) -> None:
    """clang addresses string literals by section (non-extern); the reader re-expresses the
    encoded target as the section's symbol plus the offset of the literal."""
    obj = read_macho_object(memoryview(macho_cc(
        'int puts(const char*); int main(void){ puts("first"); puts("second"); return 0; }',
        "nonext", "-O1").read_bytes()), "nonext.o")
    text = _rows(obj, "__TEXT,__text")
    literal = [r for r in text if r[2] == "<section __TEXT,__cstring>"]
    assert sorted(r[3] + 4 for r in literal) == [0, 6]  # "first\0" then "second"
    assert {r[1] for r in literal} == {"X86_64_RELOC_SIGNED"}
    assert all(h.kind is RelocKind.PC for h in obj.howtos if h.name == "X86_64_RELOC_SIGNED")


def test_refusals(macho_asm, tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="truncated Mach-O header"):
        read_macho_object(memoryview(b"\xcf\xfa\xed\xfe"), "short.o")
    good = macho_asm(SOURCE, "refuse").read_bytes()
    wrong_cpu = bytearray(good)
    struct.pack_into("<i", wrong_cpu, 4, 0x0100000C)  # arm64
    with pytest.raises(LinkError, match="not CPU_TYPE_X86_64"):
        read_macho_object(memoryview(bytes(wrong_cpu)), "arm.o")
    tlv_pointers = macho_asm("""
        .section __DATA,__thread_ptrs,thread_local_variable_pointers
        .quad 0
    """, "tlv")  # a dylib's thread-local variable: refused (our own TLVs are read)
    with pytest.raises(LinkError, match="S_THREAD_LOCAL_VARIABLE_POINTERS"):
        _read(tlv_pointers)
