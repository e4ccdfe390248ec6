"""Bad input never crashes the checker: garbage, truncation, random corruption and hostile
sizes all come back as violations (ELF-PARSE and friends), never as exceptions."""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from oracle.check import Violation, check


def _rules(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


@pytest.mark.parametrize("data", [b"", b"\x7f", b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(9),
                                  b"hello world, not an executable" * 3, bytes(4096)])
def test_garbage_is_a_parse_violation(data: bytes) -> None:
    found = check(data)
    assert found and _rules(found) == {"ELF-PARSE"}


def test_wrong_class_byte_is_a_parse_violation() -> None:
    found = check(b"\x7fELF\x07\x01\x01" + bytes(80))
    assert [v.where for v in found] == ["e_ident[EI_CLASS]"]


def test_macho_goes_to_the_macho_checker() -> None:
    found = check(struct.pack("<III", 0xFEEDFACF, 0x01000007, 3) + bytes(64))
    assert found and all(not v.rule.startswith("ELF-") for v in found)


@pytest.mark.parametrize("variant", ["x64-bfd-lazy", "x32-mold-lazy", "x64-lld-ibt"])
def test_truncations_never_crash(built: Any, variant: str) -> None:
    data = built.bytes(f"{variant}/imports")
    cuts = sorted({*range(0, 256, 17), *range(0, len(data), max(1, len(data) // 40))})
    for cut in cuts:
        found = check(data[:cut])
        assert found, f"truncated at {cut:#x} but no violation"
        assert "CHECK-INTERNAL" not in _rules(found), (cut, [str(v) for v in found])


@pytest.mark.parametrize("variant", ["x64-gold-lazy", "x32-bfd-lazy", "x64-mold-now"])
def test_random_corruption_never_crashes(built: Any, variant: str) -> None:
    data = built.bytes(f"{variant}/tls_copy")
    rng = random.Random(variant)
    for _ in range(120):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(0, min(len(buf), 0x1000) if rng.random() < 0.7 else len(buf))
            buf[pos] = rng.randrange(256)
        found = check(bytes(buf))
        assert "CHECK-INTERNAL" not in _rules(found), [str(v) for v in found]


def test_hostile_sizes_are_bounded(built: Any) -> None:
    data = bytearray(built.bytes("x64-bfd-lazy/imports"))
    # every section's size and every segment's sizes become enormous
    shoff, shnum = struct.unpack_from("<QxxxxxxxxxxH", data, 0x28)[0], data[0x3C]
    for i in range(shnum):
        struct.pack_into("<Q", data, shoff + 64 * i + 32, 0x7FFF_FFFF_FFFF)
    phoff, phnum = struct.unpack_from("<Q", data, 0x20)[0], data[0x38]
    for i in range(phnum):
        struct.pack_into("<QQ", data, phoff + 56 * i + 32, 0x7FFF_FFFF_FFFF, 0x7FFF_FFFF_FFFF)
    found = check(bytes(data))
    assert {"ELF-PARSE", "ELF-SEG-FILE"} <= _rules(found)
    assert "CHECK-INTERNAL" not in _rules(found)


def test_hostile_hash_counts_are_bounded(built: Any) -> None:
    data = bytearray(built.bytes("x64-bfd-lazy/imports"))
    elf = ELFFile(io.BytesIO(bytes(data)))
    for name in (".hash", ".gnu.hash"):
        sec = elf.get_section_by_name(name)
        assert sec is not None
        off = sec["sh_offset"]
        struct.pack_into("<II", data, off, 0xFFFF_FFFF, 0xFFFF_FFF0)
    found = check(bytes(data))
    assert {"ELF-HASH-SYSV", "ELF-HASH-GNU"} <= _rules(found)


def test_violation_prints_rule_where_what() -> None:
    assert str(Violation("ELF-SEG-ALIGN", "PT_LOAD[2]", "p_offset differs")) == \
        "ELF-SEG-ALIGN PT_LOAD[2]: p_offset differs"


def _append_section_headers(data: bytes, index: int, copies: int) -> bytes:
    """A 64-bit file whose section header table is replaced by `copies` of header `index`."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    header = data[shoff + 64 * index:shoff + 64 * index + 64]
    buf = bytearray(data)
    struct.pack_into("<Q", buf, 0x28, len(buf))
    struct.pack_into("<HH", buf, 0x3C, copies, 0)
    return bytes(buf + header * copies)


def test_many_headers_over_one_table_stop_at_the_read_budget(built: Any) -> None:
    # Thousands of section headers all naming the same symbol table must not make the
    # checker decode it thousands of times.
    data = built.bytes("x64-static/imports")
    elf = ELFFile(io.BytesIO(data))
    symtab = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".symtab")
    found = check(_append_section_headers(data, symtab, 4000))
    parse = [v for v in found if v.rule == "ELF-PARSE"]
    assert parse and "too many times" in parse[0].what
    assert "CHECK-INTERNAL" not in _rules(found)
