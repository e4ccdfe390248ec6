"""linker/macho/write.py: the header and load commands, read back with macholib."""

from __future__ import annotations

import struct
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from macholib.MachO import MachO

from linker import link
from linker.macho import write as w

PROGRAM = r"""
int printf(const char *, ...);
int puts(const char *);
int table[4] = {1, 2, 3, 4};
int *ptr = &table[2];
int main(int argc, char **argv) { printf("%d\n", *ptr + argc); puts("x"); return 0; }
void start(void) { }
"""
CLASSIC = r"""
int printf(const char *, ...); void exit(int);
int main(void) { printf("c\n"); return 3; }
void start(void) { exit(main()); }
"""


@pytest.fixture(scope="module")
def outputs(macho_cc: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("write")
    modern = macho_cc(PROGRAM, "write_modern", "-O1")
    classic = macho_cc(CLASSIC, "write_classic", "-O1")
    out = {"modern": d / "modern", "again": d / "again", "classic": d / "classic",
           "two": d / "two"}
    link([modern, "-lSystem"], out["modern"], target="macho-x86_64")
    link([modern, "-lSystem"], out["again"], target="macho-x86_64")
    link([classic, "-lSystem"], out["classic"], target="macho-x86_64", macho_classic=True)
    link([modern, "-lSystem"], out["two"], target="macho-x86_64",
         imports=["_extra@/opt/lib/libextra.dylib"], platform_version=(0x000A0F00, 0x000D0100))
    return out


def commands(path: Path) -> tuple[Any, list[tuple[Any, Any, Any]]]:
    h = MachO(str(path)).headers[0]
    return h.header, h.commands


def of(cmds: list[tuple[Any, Any, Any]], cmd: int) -> list[tuple[Any, Any, Any]]:
    return [c for c in cmds if c[0].cmd == cmd]


@pytest.mark.parametrize("kind", ["modern", "classic", "two"])
def test_load_commands_size_matches_the_bytes_written(outputs: dict[str, Path],
                                                      kind: str) -> None:
    header, cmds = commands(outputs[kind])
    segments = [c for c in of(cmds, w.LC_SEGMENT_64)
                if c[1].segname.rstrip(b"\0") in (b"__TEXT", b"__DATA")]
    dylibs = [bytes(c[2]).rstrip(b"\0").decode() for c in of(cmds, w.LC_LOAD_DYLIB)]
    count, size = w.load_commands_size([c[1].nsects for c in segments], dylibs,
                                       kind == "classic")
    assert (header.ncmds, header.sizeofcmds) == (count, size) == (
        len(cmds), sum(c[0].cmdsize for c in cmds))
    assert all(c[0].cmdsize % 8 == 0 for c in cmds)
    first = min(s.offset for c in segments for s in c[2] if s.offset)
    assert w.HEADER_SIZE + header.sizeofcmds <= first


def test_header_fields(outputs: dict[str, Path]) -> None:
    header, _ = commands(outputs["modern"])
    assert header.magic == w.MH_MAGIC_64 and header.filetype == w.MH_EXECUTE
    assert header.cputype == w.CPU_TYPE_X86_64
    assert header.flags == w.MH_NOUNDEFS | w.MH_DYLDLINK | w.MH_TWOLEVEL | w.MH_PIE
    classic, _ = commands(outputs["classic"])
    # classic slides too: its pointers into the image carry local relocations
    assert classic.flags == header.flags


def test_command_order_modern(outputs: dict[str, Path]) -> None:
    _, cmds = commands(outputs["two"])
    names = [c[1].segname.rstrip(b"\0").decode() if c[0].cmd == w.LC_SEGMENT_64 else c[0].cmd
             for c in cmds]
    assert names == ["__PAGEZERO", "__TEXT", "__DATA", "__LINKEDIT", w.LC_DYLD_INFO_ONLY,
                     w.LC_SYMTAB, w.LC_DYSYMTAB, w.LC_LOAD_DYLINKER, w.LC_UUID,
                     w.LC_BUILD_VERSION, w.LC_MAIN, w.LC_LOAD_DYLIB, w.LC_LOAD_DYLIB]
    dylibs = [bytes(c[2]).rstrip(b"\0").decode() for c in of(cmds, w.LC_LOAD_DYLIB)]
    assert dylibs == ["/usr/lib/libSystem.B.dylib", "/opt/lib/libextra.dylib"]


def test_segments_page_aligned_and_pagezero_first(outputs: dict[str, Path]) -> None:
    _, cmds = commands(outputs["modern"])
    segs = [c[1] for c in of(cmds, w.LC_SEGMENT_64)]
    zero, text = segs[0], segs[1]
    assert (zero.vmaddr, zero.vmsize, zero.filesize) == (0, text.vmaddr, 0)
    assert text.fileoff == 0  # __TEXT maps the header
    for s in segs[1:]:
        assert s.vmaddr % 0x1000 == 0 and s.fileoff % 0x1000 == 0
    for a, b in pairwise(segs[1:]):
        assert a.vmaddr + a.vmsize <= b.vmaddr and a.fileoff + a.filesize <= b.fileoff
    size = outputs["modern"].stat().st_size
    assert segs[-1].fileoff + segs[-1].filesize == size  # __LINKEDIT ends the file


def test_entry_build_version_and_uuid(outputs: dict[str, Path]) -> None:
    _, cmds = commands(outputs["modern"])
    text = next(c[1] for c in of(cmds, w.LC_SEGMENT_64) if c[1].segname.startswith(b"__TEXT"))
    main = of(cmds, w.LC_MAIN)[0][1]
    symbols = _symbols(outputs["modern"], cmds)
    assert text.vmaddr + main.entryoff == symbols["_main"]
    bv = of(cmds, w.LC_BUILD_VERSION)[0][1]
    assert (bv.platform, bv.minos, bv.sdk) == (w.PLATFORM_MACOS, 0x000A0900, 0x000B0000)
    _, two = commands(outputs["two"])
    bv2 = of(two, w.LC_BUILD_VERSION)[0][1]
    assert (bv2.minos, bv2.sdk) == (0x000A0F00, 0x000D0100)
    uuid = bytes(of(cmds, w.LC_UUID)[0][1].uuid)
    assert uuid != bytes(16)
    # deterministic: the same link gives the same bytes, UUID included
    assert outputs["modern"].read_bytes() == outputs["again"].read_bytes()
    assert bytes(of(two, w.LC_UUID)[0][1].uuid) != uuid


def test_classic_unixthread_rip_is_the_entry(outputs: dict[str, Path]) -> None:
    _, cmds = commands(outputs["classic"])
    assert not of(cmds, w.LC_MAIN) and not of(cmds, w.LC_DYLD_INFO_ONLY)
    thread = of(cmds, w.LC_UNIXTHREAD)
    assert len(thread) == 1 and thread[0][0].cmdsize == 16 + 4 * w.X86_THREAD_STATE64_COUNT
    data = outputs["classic"].read_bytes()
    at = _command_offset(data, w.LC_UNIXTHREAD)
    flavor, count = struct.unpack_from("<II", data, at + 8)
    assert (flavor, count) == (w.X86_THREAD_STATE64, w.X86_THREAD_STATE64_COUNT)
    rip = struct.unpack_from("<21Q", data, at + 16)[16]
    # no assembly-level `start` (the C function is _start), so the entry is _main
    assert rip == _symbols(outputs["classic"], cmds)["_main"]


def _command_offset(data: bytes, cmd: int) -> int:
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at = w.HEADER_SIZE
    for _ in range(ncmds):
        c, size = struct.unpack_from("<II", data, at)
        if c == cmd:
            return at
        at += size
    raise AssertionError(f"no command {cmd:#x}")


def _symbols(path: Path, cmds: list[tuple[Any, Any, Any]]) -> dict[str, int]:
    st = of(cmds, w.LC_SYMTAB)[0][1]
    data = path.read_bytes()
    out = {}
    for i in range(st.nsyms):
        strx, _, _, _, value = struct.unpack_from("<IBBHQ", data, st.symoff + 16 * i)
        name = data[st.stroff + strx:].split(b"\0")[0].decode()
        out[name] = value
    return out
