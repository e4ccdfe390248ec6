"""Every reference linker's correct output passes every rule, and the rules really ran."""

from __future__ import annotations

import struct
import subprocess
from typing import Any

import pytest

from oracle.check import RULES, check
from oracle.check.image import ElfImage
from oracle.check.pltwalk import indirect_jumps
from oracle.check.relocations import jump_slots
from oracle.check.tables import dynsym


def test_reference_output_is_clean(built: Any, ref_key: str) -> None:
    assert [str(v) for v in check(built[ref_key])] == []


@pytest.mark.parametrize("key", ["x64-bfd-lazy/imports", "x32-mold-lazy/imports"])
def test_reference_binaries_run(built: Any, key: str) -> None:
    # The checker's "clean" means something only if the binaries are really correct.
    assert subprocess.run([str(built[key])], check=False, capture_output=True).returncode == 0


def test_every_jump_slot_has_a_decoded_plt_entry(built: Any, dyn_key: str) -> None:
    # Guards against the PLT rules passing vacuously: slots exist and entries are found.
    img = ElfImage(built.bytes(dyn_key))
    slots = {dr.reloc.offset for dr in jump_slots(img)}
    assert len(slots) >= 4
    assert slots <= {ref.target for ref in indirect_jumps(img)}


def test_registry_has_cited_unique_rules() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) >= 30
    assert all(r.rationale and r.source and r.topic for r in RULES)


def _without_section_headers(data: bytes) -> bytes:
    """What `sstrip` leaves: e_shoff, e_shnum and e_shstrndx cleared."""
    buf = bytearray(data)
    if buf[4] == 2:
        struct.pack_into("<Q", buf, 0x28, 0)
        struct.pack_into("<HH", buf, 0x3C, 0, 0)
    else:
        struct.pack_into("<I", buf, 0x20, 0)
        struct.pack_into("<HH", buf, 0x30, 0, 0)
    return bytes(buf)


@pytest.mark.parametrize("variant", ["x64-bfd-lazy", "x64-mold-lazy", "x64-lld-ibt",
                                     "x32-bfd-lazy", "x32-mold-lazy", "x32-gold-lazy"])
def test_files_without_section_headers(built: Any, variant: str) -> None:
    # Loaders never read section headers; rules fall back to what ld.so reads (PT_DYNAMIC,
    # DT_SYMTAB sized by the hash table, executable PT_LOADs for PLT code).
    data = _without_section_headers(built.bytes(f"{variant}/imports"))
    assert [str(v) for v in check(data)] == []
    img = ElfImage(data)
    assert len(dynsym(img)) >= 5
    assert {dr.reloc.offset for dr in jump_slots(img)} <= {r.target for r in indirect_jumps(img)}


# Distribution binaries: GNU ld output at scale (PIE, static-pie, shared libraries with
# version definitions, i386 libc).  Loaders accept them, so no rule may fire.
SYSTEM_FILES = ["/usr/bin/ls", "/usr/sbin/ldconfig", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib32/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"]


@pytest.mark.parametrize("path", SYSTEM_FILES)
def test_system_binaries_are_clean(path: str) -> None:
    assert [str(v) for v in check(path)] == []
