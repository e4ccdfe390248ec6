"""linker/elf/headers.py: ELF header and section header validation, on a real object whose
bytes are corrupted one field at a time."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from linker.elf.headers import SHT_NOBITS, Strings, read_headers
from linker.errors import LinkError

SOURCE = """
    .text
    .globl f
f:  ret
    .data
x:  .long 1
    .bss
y:  .zero 16
"""


@pytest.fixture(scope="module")
def obj64(assemble: Callable[..., Path]) -> bytes:
    return assemble(SOURCE, "headers64").read_bytes()


@pytest.fixture(scope="module")
def obj32(assemble: Callable[..., Path]) -> bytes:
    return assemble(SOURCE, "headers32", m32=True).read_bytes()


def test_reads_both_classes(obj64: bytes, obj32: bytes) -> None:
    h64 = read_headers(memoryview(obj64), "a.o")
    h32 = read_headers(memoryview(obj32), "b.o")
    assert (h64.arch, h64.is64, h64.e_type) == ("x86_64", True, 1)
    assert (h32.arch, h32.is64, h32.e_type) == ("i386", False, 1)
    for h in (h64, h32):
        assert h.names[0] == "" and {".text", ".data", ".bss", ".shstrtab"} <= set(h.names)
        assert len(h.names) == len(h.shdrs)
        text = h.names.index(".text")
        assert bytes(h.section_bytes(text)) == b"\xc3"
        bss = h.names.index(".bss")
        assert int(h.shdrs[bss]["type"]) == SHT_NOBITS and bytes(h.section_bytes(bss)) == b""


def test_error_names_the_section(obj64: bytes) -> None:
    h = read_headers(memoryview(obj64), "a.o")
    text = h.names.index(".text")
    assert str(h.error("bad", text, 4, "f")) == "a.o: section .text+0x4: symbol f: bad"
    assert str(h.error("bad", 999)) == "a.o: section [999]: bad"


def corrupt(data: bytes, offset: int, fmt: str, value: int) -> memoryview:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return memoryview(bytes(b))


def shoff64(data: bytes) -> int:
    value: int = struct.unpack_from("<Q", data, 0x28)[0]
    return value


def test_truncated(obj64: bytes) -> None:
    with pytest.raises(LinkError, match=r"^a.o: offset 0x0: truncated ELF header \(20 bytes\)"):
        read_headers(memoryview(obj64[:20]), "a.o")
    with pytest.raises(LinkError, match="truncated ELF64 header"):
        read_headers(memoryview(obj64[:60]), "a.o")


def test_big_endian(obj64: bytes) -> None:
    with pytest.raises(LinkError, match=r"offset 0x5: not a little-endian ELF file"):
        read_headers(corrupt(obj64, 5, "<B", 2), "a.o")


def test_bad_class(obj64: bytes) -> None:
    with pytest.raises(LinkError, match=r"offset 0x4: bad ELF class 3"):
        read_headers(corrupt(obj64, 4, "<B", 3), "a.o")


def test_unsupported_machine(obj64: bytes) -> None:
    with pytest.raises(LinkError, match="unsupported ELF machine 183 for class 2"):
        read_headers(corrupt(obj64, 18, "<H", 183), "a.o")  # EM_AARCH64


def test_class_machine_mismatch(obj32: bytes) -> None:
    # EM_X86_64 in an ELF32 file (x32) is not a supported pairing
    with pytest.raises(LinkError, match="unsupported ELF machine 62 for class 1"):
        read_headers(corrupt(obj32, 18, "<H", 62), "a.o")


def test_wrong_shentsize(obj64: bytes) -> None:
    with pytest.raises(LinkError, match=r"offset 0x3a: e_shentsize 40, expected 64"):
        read_headers(corrupt(obj64, 0x3A, "<H", 40), "a.o")


def test_section_table_past_end(obj64: bytes) -> None:
    with pytest.raises(LinkError, match="section header table .* past end of file"):
        read_headers(corrupt(obj64, 0x3C, "<H", 500), "a.o")


def test_section_data_past_end(obj64: bytes) -> None:
    h = read_headers(memoryview(obj64), "a.o")
    text = h.names.index(".text")
    at = shoff64(obj64) + 64 * text + 0x20  # sh_size
    with pytest.raises(LinkError, match=rf"section \[{text}\] data .* runs past end of file"):
        read_headers(corrupt(obj64, at, "<Q", len(obj64)), "a.o")
    # a wrapping offset + size is caught too
    with pytest.raises(LinkError, match="runs past end of file"):
        read_headers(corrupt(obj64, at, "<Q", 2**64 - 1), "a.o")


def test_nobits_size_is_not_file_data(obj64: bytes) -> None:
    h = read_headers(memoryview(obj64), "a.o")
    bss = h.names.index(".bss")
    at = shoff64(obj64) + 64 * bss + 0x20
    h2 = read_headers(corrupt(obj64, at, "<Q", 1 << 40), "a.o")
    assert int(h2.shdrs[bss]["size"]) == 1 << 40


def test_alignment_not_a_power_of_two(obj64: bytes) -> None:
    h = read_headers(memoryview(obj64), "a.o")
    data = h.names.index(".data")
    at = shoff64(obj64) + 64 * data + 0x30  # sh_addralign
    with pytest.raises(LinkError, match=rf"section \[{data}\] alignment 12 is not a power"):
        read_headers(corrupt(obj64, at, "<Q", 12), "a.o")


def test_shstrndx_out_of_range(obj64: bytes) -> None:
    with pytest.raises(LinkError, match="e_shstrndx 200 out of range"):
        read_headers(corrupt(obj64, 0x3E, "<H", 200), "a.o")


def test_section_name_outside_shstrtab(obj64: bytes) -> None:
    at = shoff64(obj64) + 64 * 1  # section 1's sh_name
    with pytest.raises(LinkError, match=r"section \[1\]: section \[1\] name offset 0xffff"):
        read_headers(corrupt(obj64, at, "<I", 0xFFFF), "a.o")


def test_no_section_headers(obj64: bytes) -> None:
    h = read_headers(corrupt(obj64, 0x28, "<Q", 0), "a.o")
    assert h.names == [] and len(h.shdrs) == 0


def test_strings() -> None:
    s = Strings(b"\0main\0caf\xc3\xa9\0\xff\0tail")
    assert s.get(0) == "" and s.get(1) == "main" and s.get(3) == "in"
    assert s.get(6) == "caf\u00e9"
    assert s.get(12).encode("utf-8", "surrogateescape") == b"\xff"  # type: ignore[union-attr]
    assert s.get(14) is None  # no terminator
    assert s.get(100) is None
