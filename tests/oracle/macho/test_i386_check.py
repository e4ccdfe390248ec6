"""The Mach-O checker on i386 executables (the hand-built image of macho_i386_image): a
good file is clean in both modes, and each corruption breaks the rule that names it."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from macho_i386_image import LA_PTR, NL_PTR, STUBS, Options, build_i386

from oracle.check.macho import check_macho
from oracle.emulate import run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage

Mutation = Callable[[bytearray, MachOImage], None]
SECTION_32 = 68


def rules(data: bytes) -> set[str]:
    return {v.rule for v in check_macho(data)}


def mutated(mutation: Mutation, classic: bool = False) -> bytes:
    data = bytearray(build_i386(Options(classic=classic)))
    mutation(data, mi.parse(bytes(data)))
    return bytes(data)


def section_header(img: MachOImage, name: str) -> int:
    """File offset of the 68-byte section header of section `name`."""
    for seg in img.segments:
        for k, sect in enumerate(seg.sections):
            if sect.sectname == name:
                return img.commands[seg.command].offset + 56 + SECTION_32 * k
    raise AssertionError(name)


@pytest.mark.parametrize("classic", [False, True])
def test_good_files_are_clean(classic: bool) -> None:
    assert check_macho(build_i386(Options(classic=classic))) == []


def test_i386_needs_no_pagezero_but_x86_64_does() -> None:
    """Renaming __PAGEZERO leaves an i386 file without one: still clean (xnu demands a hard
    page zero of 64-bit processes only).  A misshapen one is still reported."""

    def pagezero(img: MachOImage) -> int:
        seg = img.segment_named("__PAGEZERO")
        assert seg is not None
        return img.commands[seg.command].offset

    def rename(data: bytearray, img: MachOImage) -> None:
        at = pagezero(img) + 8
        data[at : at + 16] = b"__RESERVED".ljust(16, b"\0")

    assert rules(mutated(rename)) == set()

    def writable(data: bytearray, img: MachOImage) -> None:
        at = pagezero(img)
        struct.pack_into("<ii", data, at + 40, 3, 3)  # maxprot, initprot

    assert "MACHO-PAGEZERO" in rules(mutated(writable))


def test_cpu_must_fit_the_magic() -> None:
    def x86_64_cpu(data: bytearray, img: MachOImage) -> None:
        struct.pack_into("<i", data, 4, mi.CPU_TYPE_X86_64)

    assert "MACHO-HEADER" in rules(mutated(x86_64_cpu))


def test_segment_cmdsize_is_56_plus_68_per_section() -> None:
    def grow(data: bytearray, img: MachOImage) -> None:
        seg = img.segment_named("__TEXT")
        assert seg is not None
        text = img.commands[seg.command]
        struct.pack_into("<I", data, text.offset + 4, text.size + 4)

    assert "MACHO-LC-SIZE" in rules(mutated(grow))


@pytest.mark.parametrize("classic", [False, True])
def test_stub_through_the_wrong_slot(classic: bool) -> None:
    """The first stub jumps through the second's pointer (an absolute operand)."""
    base = LA_PTR if not classic else NL_PTR

    def retarget(data: bytearray, img: MachOImage) -> None:
        text = img.segment_named("__TEXT")
        assert text is not None
        struct.pack_into("<I", data, STUBS - text.vmaddr + 2, base + 4)

    assert rules(mutated(retarget, classic)) == {"MACHO-STUB-JMP"}


def test_stub_that_is_not_an_absolute_jump() -> None:
    def call(data: bytearray, img: MachOImage) -> None:
        data[STUBS - 0x1000 + 1] = 0x15  # ff 15: call *abs32

    assert rules(mutated(call, classic=True)) == {"MACHO-STUB-JMP"}


def test_helper_pushing_another_offset() -> None:
    assert rules(build_i386(Options(swap_helper_offsets=True))) == {"MACHO-STUB-HELPER"}


def test_common_helper_binder_slot() -> None:
    """The common helper jumps through a lazy pointer instead of dyld_stub_binder's slot."""

    def retarget(data: bytearray, img: MachOImage) -> None:
        helper = next(s for s in img.sections() if s.sectname == "__stub_helper")
        struct.pack_into("<I", data, helper.offset + 7, LA_PTR)

    assert rules(mutated(retarget)) == {"MACHO-STUB-HELPER"}


def test_thread_state_of_the_wrong_flavour() -> None:
    def flavour(data: bytearray, img: MachOImage) -> None:
        thread = next(lc for lc in img.commands if lc.cmd == mi.LC_UNIXTHREAD)
        struct.pack_into("<I", data, thread.offset + 8, mi.X86_THREAD_STATE64)

    assert "MACHO-ENTRY" in rules(mutated(flavour, classic=True))


def test_indirect_pointer_section_counts_four_byte_entries() -> None:
    def shrink(data: bytearray, img: MachOImage) -> None:
        at = section_header(img, "__nl_symbol_ptr")
        struct.pack_into("<I", data, at + 36, 6)  # size: not a multiple of 4

    assert "MACHO-INDIRECT-SECT" in rules(mutated(shrink, classic=True))


def test_rebase_outside_a_writable_segment() -> None:
    """The rebase stream's second SET_SEGMENT names __TEXT (segment 1) instead of __DATA."""

    def move(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        offset, size = img.dyld_info.rebase
        stream = bytes(data[offset : offset + size])
        second = stream.index(0x22, stream.index(0x22) + 1)
        data[offset + second] = 0x21

    assert rules(mutated(move)) == {"MACHO-REBASE"}


@pytest.mark.parametrize("classic", [False, True])
def test_random_corruption_never_crashes(tmp_path: Path, classic: bool) -> None:
    data = build_i386(Options(classic=classic))
    rng = random.Random(f"i386{classic}")
    for trial in range(12):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            bad[rng.choice([rng.randrange(0, 1000), rng.randrange(len(data) - 200,
                                                                  len(data))])] = rng.randrange(256)
        found = check_macho(bytes(bad))
        assert all(v.rule != "CHECK-INTERNAL" for v in found), (trial, found)
        path = tmp_path / f"fuzz{trial}"
        path.write_bytes(bytes(bad))
        result = run(path, max_instructions=200_000)
        assert result.exit_code is not None or result.faults


def test_a_64_bit_segment_command_in_a_32_bit_file() -> None:
    def widen(data: bytearray, img: MachOImage) -> None:
        seg = img.segment_named("__LINKEDIT")
        assert seg is not None
        struct.pack_into("<I", data, img.commands[seg.command].offset, mi.LC_SEGMENT_64)

    assert "MACHO-SEGMENT-WIDTH" in rules(mutated(widen))
