"""Loading counts against a run's budget: a linked executable whose PT_LOAD (ELF) or
segment (Mach-O) claims a huge memory size is refused by the loader, in about the time a
normal load takes, instead of being mapped page by page (issue 13: a mutated p_memsz made
oracle.run(..., timeout=3.0) spend more than 10 s before its limits applied)."""

from __future__ import annotations

import resource
import struct
import time
from pathlib import Path

import pytest

from fuzz.hostile.seeds import Targets
from oracle.emulate import run

TIMEOUT = 3.0
SLACK = 1.0


def _elf_last_load(data: bytes) -> tuple[int, bool]:
    """File offset of the last PT_LOAD's program header, and whether the file is ELF64."""
    is64 = data[4] == 2
    phoff, phentsize, phnum = ((struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from(
        "<HH", data, 54)) if is64 else (struct.unpack_from("<I", data, 28)[0],
                                         *struct.unpack_from("<HH", data, 42)))
    loads = [phoff + i * phentsize for i in range(phnum)
             if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 1]
    return loads[-1], is64


def _with_elf_memsz(data: bytes, memsz: int) -> bytes:
    at, is64 = _elf_last_load(data)
    out = bytearray(data)
    if is64:
        struct.pack_into("<Q", out, at + 40, memsz)
    else:
        struct.pack_into("<I", out, at + 20, memsz & 0xFFFFFFFF)
    return bytes(out)


def _with_macho_vmsize(data: bytes, vmsize: int) -> bytes:
    """The last segment's vmsize (LC_SEGMENT_64 or LC_SEGMENT) set to `vmsize`."""
    is64 = struct.unpack_from("<I", data, 0)[0] == 0xFEEDFACF
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at, last = (32 if is64 else 28), None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd in (0x19, 0x1) and not data[at + 8:at + 24].startswith(b"__LINKEDIT"):
            last = at
        at += size
    assert last is not None
    out = bytearray(data)
    if is64:
        struct.pack_into("<Q", out, last + 32, vmsize)
    else:
        struct.pack_into("<I", out, last + 28, vmsize & 0xFFFFFFFF)
    return bytes(out)


@pytest.mark.parametrize("name", ["elf64-exe", "elf32-exe", "macho64-exe", "macho32-exe"])
@pytest.mark.parametrize("size", [0x4000_0000, 0xFFFF_F000, 0x7FFF_0000_0000])
def test_huge_segment_is_refused_within_the_budget(name: str, size: int, targets: Targets,
                                                    tmp_path: Path) -> None:
    target = targets.exes[name]
    data = target.exe.read_bytes()
    hostile = (_with_elf_memsz(data, size) if name.startswith("elf")
               else _with_macho_vmsize(data, size))
    path = tmp_path / name
    path.write_bytes(hostile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = run(path, timeout=TIMEOUT, library_path=target.library_path)
    elapsed = time.monotonic() - start
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) >> 10
    assert elapsed < TIMEOUT + SLACK, f"{elapsed:.1f}s"
    assert grown_mib < 128, f"peak resident size grew {grown_mib} MiB"
    assert result.faults, "a segment past the memory cap must not load"
