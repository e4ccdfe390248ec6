"""One corruption at a time, in a good executable: the checker names the rule that breaks,
and the emulated dyld faults where the real one would misbehave."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.check.macho import check_macho
from oracle.emulate import RunResult, run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage, Section
from oracle.emulate.macho.opcodes import decode_binds

Mutation = Callable[[bytearray, MachOImage], None]


def mutated(path: Path, name: str, mutation: Mutation) -> Path:
    data = bytearray(path.read_bytes())
    mutation(data, mi.parse(bytes(data)))
    out = path.with_suffix(f".{name}")
    out.write_bytes(bytes(data))
    return out


def rules(path: Path) -> set[str]:
    return {v.rule for v in check_macho(path.read_bytes())}


def section(img: MachOImage, name: str) -> tuple[Section, int]:
    """The section and the file offset of its section_64 header."""
    for seg in img.segments:
        for k, sect in enumerate(seg.sections):
            if sect.sectname == name:
                return sect, img.commands[seg.command].offset + 72 + 80 * k
    raise AssertionError(f"no section {name}")


def command(img: MachOImage, cmd: int) -> int:
    return next(lc.offset for lc in img.commands if lc.cmd == cmd)


def put32(data: bytearray, offset: int, value: int) -> None:
    data[offset : offset + 4] = struct.pack("<I", value & 0xFFFFFFFF)


def file_offset(img: MachOImage, addr: int) -> int:
    seg = img.segment_at(addr)
    assert seg is not None
    return seg.fileoff + addr - seg.vmaddr


def faulted(result: RunResult, kind: str) -> str:
    assert result.exit_code is None, result
    [fault] = result.faults
    assert fault.kind == kind, fault
    return fault.message


# -- stubs --

@pytest.mark.parametrize(("flavour", "stubs"), [("lh", "__stubs"), ("lld", "__stubs"),
                                                ("classic", "__symbol_stub1")])
def test_stub_displacement(macho, flavour: str, stubs: str) -> None:
    """The first stub jumps through itself instead of its slot: MACHO-STUB-JMP; running it
    jumps to whatever its code bytes say."""
    source = "classic.c" if flavour == "classic" else "hello.c"

    def mutation(data: bytearray, img: MachOImage) -> None:
        sect, _ = section(img, stubs)
        put32(data, sect.offset + 2, -6)

    bad = mutated(macho(source, flavour), "stubjmp", mutation)
    assert rules(bad) == {"MACHO-STUB-JMP"}
    result = run(bad)
    assert result.exit_code is None and result.faults


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_helper_pushes_wrong_lazy_bind_offset(macho, flavour: str) -> None:
    """The helper entry of the first lazy pointer pushes an offset past the lazy-bind
    opcodes: MACHO-STUB-HELPER; dyld_stub_binder faults lazily, and bind=now never uses it."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        sect, _ = section(img, "__la_symbol_ptr")
        (helper,) = struct.unpack_from("<Q", data, sect.offset)
        at = file_offset(img, helper)
        assert data[at] == 0x68  # push imm32
        put32(data, at + 1, 0x7FFF)

    bad = mutated(macho("hello.c", flavour), "lazyoff", mutation)
    assert rules(bad) == {"MACHO-STUB-HELPER"}
    assert "dyld_stub_binder" in faulted(run(bad, bind="lazy"), "bad-resolver")
    assert run(bad, bind="now").exit_code == 7


def test_helper_pushes_another_pointers_offset(macho) -> None:
    """The helper entries of fprintf and printf swap offsets: calling printf would bind and
    jump to fprintf; dyld_stub_binder sees the pushed offset binds another pointer than the
    one the caller's stub jumped through."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        sect, _ = section(img, "__la_symbol_ptr")
        helpers = [file_offset(img, h) for h in struct.unpack_from("<2Q", data, sect.offset)]
        a, b = (bytes(data[h + 1 : h + 5]) for h in helpers)
        data[helpers[0] + 1 : helpers[0] + 5], data[helpers[1] + 1 : helpers[1] + 5] = b, a

    good = macho("hello.c", "lh")
    assert [t.symbol for t in run(good).trace][2] == "printf"
    bad = mutated(good, "swapoff", mutation)
    assert rules(bad) == {"MACHO-STUB-HELPER"}
    message = faulted(run(bad, bind="lazy"), "bad-resolver")
    assert "went through the stub of lazy pointer" in message
    assert run(bad, bind="now").exit_code == 7


# -- bind and rebase opcodes --

@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_bad_bind_opcode(macho, flavour: str) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.bind
        first = decode_binds(bytes(data[off : off + size]))[0]
        assert data[off + first.opcode_offset] == 0x90  # DO_BIND
        data[off + first.opcode_offset] = 0xE0  # no such opcode

    bad = mutated(macho("hello.c", flavour), "bindop", mutation)
    assert rules(bad) == {"MACHO-BIND"}
    assert "bind+" in faulted(run(bad), "bad-relocation")


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_rebase_into_text(macho, flavour: str) -> None:
    """SET_SEGMENT_AND_OFFSET names __TEXT (segment 1): dyld would write into read-only
    code."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off = img.dyld_info.rebase[0]
        assert data[off] == 0x11 and data[off + 1] & 0xF0 == 0x20
        data[off + 1] = 0x21

    bad = mutated(macho("hello.c", flavour), "rebase", mutation)
    assert rules(bad) == {"MACHO-REBASE"}
    assert "not writable" in faulted(run(bad), "bad-relocation")


def test_lazy_bind_stream_corrupted_faults_only_when_used(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.lazy_bind
        data[off : off + size] = bytes([0xF0]) * size

    bad = mutated(macho("hello.c", "lld"), "lazybind", mutation)
    assert {"MACHO-LAZY-BIND", "MACHO-STUB-HELPER"} <= rules(bad)
    faulted(run(bad, bind="now"), "bad-relocation")
    faulted(run(bad, bind="lazy"), "bad-resolver")


# -- segments, entry, load commands --

def test_pagezero_vmsize(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        zero = img.segment_named("__PAGEZERO")
        assert zero is not None
        lc = img.commands[zero.command].offset
        data[lc + 32 : lc + 40] = bytes(8)  # vmsize

    bad = mutated(macho("hello.c", "lh"), "pagezero", mutation)
    assert rules(bad) == {"MACHO-PAGEZERO"}


def test_pagezero_mapped(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        zero = img.segment_named("__PAGEZERO")
        assert zero is not None
        lc = img.commands[zero.command].offset
        data[lc + 32 : lc + 40] = struct.pack("<Q", 0x1000)  # vmsize: one page
        put32(data, lc + 56, 3)  # maxprot rw-
        put32(data, lc + 60, 3)  # initprot rw-
        # not MH_PIE, so the kernel maps it where it says, page 0 (a PIE would be slid)
        put32(data, 24, img.flags & ~mi.MH_PIE)

    bad = mutated(macho("null.c", "lh"), "pagezero-rw", mutation)
    assert rules(bad) == {"MACHO-PAGEZERO"}
    result = run(bad)
    assert result.faults == [] and result.stdout == b"before\n"  # null is readable now


@pytest.mark.parametrize(("flavour", "pointers"), [("lh", "__la_symbol_ptr"), ("lh", "__stubs"),
                                                  ("classic", "__nl_symbol_ptr")])
def test_reserved1_past_indirect_table(macho, flavour: str, pointers: str) -> None:
    source = "classic.c" if flavour == "classic" else "hello.c"

    def mutation(data: bytearray, img: MachOImage) -> None:
        _, header = section(img, pointers)
        put32(data, header + 68, 1000)  # reserved1

    bad = mutated(macho(source, flavour), "reserved1", mutation)
    assert "MACHO-INDIRECT-SECT" in rules(bad)
    if flavour == "classic":  # bound through the indirect table: dyld cannot bind
        faulted(run(bad), "bad-relocation")


def test_indirect_symbol_index_out_of_range(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dysymtab is not None
        pointers, _ = section(img, "__nl_symbol_ptr")
        put32(data, img.dysymtab[12] + 4 * pointers.reserved1, 0x7FFF)

    bad = mutated(macho("classic.c", "classic"), "indirect", mutation)
    assert "MACHO-INDIRECT-INDEX" in rules(bad)
    faulted(run(bad), "bad-relocation")


def test_entry_outside_text(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        cstring, _ = section(img, "__cstring")
        lc = command(img, mi.LC_MAIN)
        data[lc + 8 : lc + 16] = struct.pack("<Q", cstring.offset)

    bad = mutated(macho("hello.c", "lld"), "entry", mutation)
    assert rules(bad) == {"MACHO-ENTRY"}


def test_load_command_size(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        last = img.commands[-1]
        put32(data, last.offset + 4, last.size - 4)

    bad = mutated(macho("hello.c", "lh"), "cmdsize", mutation)
    assert {"MACHO-LC-SIZE", "MACHO-LC-ALIGN"} <= rules(bad)


def test_section_outside_segment(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        text, header = section(img, "__text")
        data[header + 32 : header + 40] = struct.pack("<Q", text.addr + 0x100000)

    bad = mutated(macho("hello.c", "lh"), "sectaddr", mutation)
    assert "MACHO-SECT-IN-SEG" in rules(bad)


def test_dysymtab_ranges(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        lc = command(img, mi.LC_DYSYMTAB)
        (nextdef,) = struct.unpack_from("<I", data, lc + 20)
        put32(data, lc + 20, nextdef + 1)

    bad = mutated(macho("hello.c", "lld"), "dysymtab", mutation)
    assert rules(bad) == {"MACHO-DYSYMTAB"}


def test_symbol_table_outside_linkedit(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        put32(data, command(img, mi.LC_SYMTAB) + 8, 0x10)  # symoff inside the header

    bad = mutated(macho("hello.c", "lh"), "symoff", mutation)
    assert "MACHO-LINKEDIT" in rules(bad)


def test_export_trie_child_outside(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off = img.dyld_info.export[0]
        assert data[off : off + 4] == b"\x00\x01_\x00"  # root: no export, one edge "_"
        data[off + 4] = 0x7F  # the edge's child offset

    bad = mutated(macho("hello.c", "lld"), "trie", mutation)
    assert rules(bad) == {"MACHO-EXPORT-TRIE"}


def test_unknown_command_required_by_dyld(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        put32(data, command(img, 0x1B), 0x8000007F)  # LC_UUID -> an unknown LC_REQ_DYLD

    bad = mutated(macho("hello.c", "lh"), "lcreq", mutation)
    assert rules(bad) == {"MACHO-LC-KNOWN"}


def test_helper_jumps_through_a_slot_not_bound_to_the_binder(macho) -> None:
    """The common helper's jmp *disp(%rip) is moved to the previous __got slot (an
    import, not dyld_stub_binder): the first lazy call would jump into that import."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        helper, _ = section(img, "__stub_helper")
        at = helper.offset + 7 + 2 + 2  # lea (7), push %r11 (2), then ff 25 and disp32
        assert data[at - 2 : at] == b"\xff\x25"
        (disp,) = struct.unpack_from("<i", data, at)
        put32(data, at, disp - 8)

    bad = mutated(macho("hello.c", "lld"), "binderslot", mutation)
    assert rules(bad) == {"MACHO-STUB-HELPER"}
    assert run(bad).exit_code is None


def test_missing_dylinker(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        put32(data, command(img, mi.LC_LOAD_DYLINKER), 0x24)  # -> LC_VERSION_MIN_MACOSX-ish

    bad = mutated(macho("hello.c", "lh"), "dylinker", mutation)
    assert "MACHO-DYLINKER" in rules(bad)


def test_library_ordinal_past_the_dylibs(macho) -> None:
    """Classic binding goes through n_desc's library ordinal: ordinal 5 names nothing."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.symtab is not None
        sym = next(s for s in img.symbols() if s.undefined and s.name == "_puts")
        at = img.symtab[0] + 16 * sym.index + 6  # n_desc
        data[at : at + 2] = struct.pack("<H", (sym.desc & 0xFF) | 5 << 8)

    bad = mutated(macho("classic.c", "classic"), "ordinal", mutation)
    assert rules(bad) == {"MACHO-LIB-ORDINAL"}
    assert "ordinal 5" in faulted(run(bad), "unresolved")


def test_symbol_outside_its_section(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.symtab is not None
        sym = next(s for s in img.symbols() if s.name == "_main")
        at = img.symtab[0] + 16 * sym.index + 8  # n_value
        data[at : at + 8] = struct.pack("<Q", 0x7000_0000_0000)

    bad = mutated(macho("hello.c", "lh"), "symvalue", mutation)
    # _main is exported too: the trie and the moved symbol now disagree
    assert rules(bad) == {"MACHO-SYMBOL-SECT", "MACHO-EXPORT-SYMTAB"}


def test_huge_segment_is_refused_not_mapped(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        text = img.segment_named("__TEXT")
        assert text is not None
        lc = img.commands[text.command].offset
        data[lc + 32 : lc + 40] = struct.pack("<Q", 1 << 46)  # vmsize

    bad = mutated(macho("hello.c", "lh"), "hugeseg", mutation)
    assert "MACHO-SEG-OVERLAP" in rules(bad)
    assert "would map more than" in faulted(run(bad), "load")


def test_huge_stub_section_is_reported_not_walked(macho) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        _, header = section(img, "__stubs")
        data[header + 40 : header + 48] = struct.pack("<Q", 1 << 60)  # size
        put32(data, header + 72, 1)  # reserved2: one-byte stubs

    bad = mutated(macho("hello.c", "lh"), "hugestubs", mutation)
    found = rules(bad)
    assert {"MACHO-STUB-JMP", "MACHO-INDIRECT-SECT", "MACHO-SECT-IN-SEG"} <= found


def test_findings_are_capped_per_rule(macho) -> None:
    """A repeat count of 100000 rebases past __DATA: one rule, at most 51 lines."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.rebase
        stream = bytes([0x11, 0x22, 0x00, 0x60, 0xA0, 0x8D, 0x06, 0x00])  # 100000 times
        assert size >= len(stream)
        data[off : off + len(stream)] = stream

    bad = mutated(macho("hello.c", "lh"), "manyrebases", mutation)
    found = check_macho(bad.read_bytes())
    assert {v.rule for v in found} == {"MACHO-REBASE"}
    assert len(found) == 51 and found[-1].where == "..."
    assert "outside __DATA" in faulted(run(bad), "bad-relocation")
