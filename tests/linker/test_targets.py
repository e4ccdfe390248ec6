"""linker/targets.py: the per-arch records agree with each other and with the ELF/Mach-O facts."""

from __future__ import annotations

import pytest

from linker import LinkError, link
from linker.targets import EMULATION_TO_TARGET, I386, TARGETS, X86_64


def test_emulations_name_targets_of_that_arch() -> None:
    for emulation, name in EMULATION_TO_TARGET.items():
        assert emulation in TARGETS[name].arch.emulations
        assert TARGETS[name].format == "elf"


def test_arch_facts() -> None:
    assert (X86_64.word, X86_64.is_rela, X86_64.elf_machine, X86_64.elf_class) == (8, True, 62, 2)
    assert (I386.word, I386.is_rela, I386.elf_machine, I386.elf_class) == (4, False, 3, 1)
    for arch in (X86_64, I386):
        assert arch.image_base % arch.page_size == 0
        assert arch.plt0_size == arch.plt_entry_size == 16 and arch.got_plt_reserved == 3
    # psABI relocation numbers ld.so understands (the same values on both arches)
    assert (X86_64.dyn.copy, X86_64.dyn.glob_dat, X86_64.dyn.jump_slot) == (5, 6, 7)
    assert X86_64.dynamic_linker == "/lib64/ld-linux-x86-64.so.2"
    assert I386.dynamic_linker == "/lib/ld-linux.so.2"


def test_formats() -> None:
    assert {n: t.format for n, t in TARGETS.items()} == {
        "elf64-x86-64": "elf", "elf32-i386": "elf", "macho-x86_64": "macho",
        "macho-i386": "macho"}


def test_macho_traits_agree_with_the_word_size() -> None:
    """<mach-o/loader.h>: mach_header 28/32 bytes, segment_command 56/72, section 68/80,
    nlist 12/16; thread states x86_THREAD_STATE32 (1, 16 words, eip the 11th) and
    x86_THREAD_STATE64 (4, 42 words, rip the 17th quadword)."""
    import struct
    for arch in (X86_64, I386):
        m = arch.macho
        assert m is not None
        wide = arch.word == 8
        assert (m.header_size, m.segment_size, m.section_size) == (
            (32, 72, 80) if wide else (28, 56, 68))
        assert struct.calcsize(m.nlist) == (16 if wide else 12)
        assert (m.thread_flavor, m.thread_count, m.thread_pc) == (
            (4, 42, 16) if wide else (1, 16, 10))
        assert m.base % arch.page_size == 0


def test_unknown_target_lists_the_supported() -> None:
    with pytest.raises(LinkError, match="unknown target 'elf64-aarch64' .*elf64-x86-64"):
        link([], "/nonexistent/out", target="elf64-aarch64")
