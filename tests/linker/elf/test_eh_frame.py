"""linker/elf/eh_frame.py: .eh_frame_hdr's sorted table, on hand-made frames and on a real
link whose FDEs `readelf --debug-dump=frames` lists independently."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir
from linker.elf.eh_frame import (
    DW_EH_PE_datarel,
    DW_EH_PE_pcrel,
    DW_EH_PE_sdata4,
    DW_EH_PE_udata4,
    build_eh_frame_hdr,
    count_fdes,
)
from linker.errors import LinkError

FRAME, HDR = 0x402000, 0x403000


def record(body: bytes) -> bytes:
    body = body.ljust((len(body) + 3) & ~3, b"\0")  # DW_CFA_nop padding
    return struct.pack("<I", len(body)) + body


def cie(augmentation: bytes, aug_data: bytes = b"") -> bytes:
    body = struct.pack("<IB", 0, 1) + augmentation + b"\0" + bytes([1, 0x78, 0x10])
    if augmentation.startswith(b"z"):
        body += bytes([len(aug_data)]) + aug_data
    return record(body)


def fde(at: int, cie_at: int, begin: bytes, rng: bytes, z: bool = True) -> bytes:
    return record(struct.pack("<I", at + 4 - cie_at) + begin + rng + (b"\0" if z else b""))


def parse_hdr(data: bytes) -> tuple[tuple[int, ...], int, int, list[tuple[int, int]]]:
    encodings = tuple(data[:4])
    frame_ptr, count = struct.unpack_from("<iI", data, 4)
    table = [struct.unpack_from("<ii", data, 12 + 8 * i) for i in range(count)]
    return encodings, frame_ptr, count, table


def test_pcrel_fdes_sorted_by_initial_location() -> None:
    frame = cie(b"zR", bytes([DW_EH_PE_pcrel | DW_EH_PE_sdata4]))
    first = len(frame)
    frame += fde(first, 0, struct.pack("<i", 0x401100 - (FRAME + first + 8)),
                 struct.pack("<i", 0x20))
    second = len(frame)
    frame += fde(second, 0, struct.pack("<i", 0x401000 - (FRAME + second + 8)),
                 struct.pack("<i", 0x40))
    frame += b"\0" * 4  # terminator
    assert count_fdes(frame, "x") == 2
    data = build_eh_frame_hdr(frame, FRAME, HDR, 8, "x")
    encodings, frame_ptr, count, table = parse_hdr(data)
    assert encodings == (1, DW_EH_PE_pcrel | DW_EH_PE_sdata4, DW_EH_PE_udata4,
                         DW_EH_PE_datarel | DW_EH_PE_sdata4)
    assert HDR + 4 + frame_ptr == FRAME and count == 2
    assert table == [(0x401000 - HDR, FRAME + second - HDR),
                     (0x401100 - HDR, FRAME + first - HDR)]
    assert len(data) == 12 + 8 * 2


def test_absptr_fdes_of_a_cie_without_augmentation() -> None:
    for word, fmt in ((8, "<Q"), (4, "<I")):
        frame = cie(b"")
        at = len(frame)
        frame += fde(at, 0, struct.pack(fmt, 0x400500), struct.pack(fmt, 8), z=False)
        _, _, count, table = parse_hdr(build_eh_frame_hdr(frame, FRAME, HDR, word, "x"))
        assert count == 1 and table == [(0x400500 - HDR, FRAME + at - HDR)]


def test_fdes_of_two_cies_with_different_encodings() -> None:
    frame = cie(b"zR", bytes([DW_EH_PE_udata4]))
    second_cie = len(frame)
    frame += cie(b"zPLR", bytes([DW_EH_PE_udata4]) + struct.pack("<I", 0x1234)
                 + bytes([0x1b, DW_EH_PE_pcrel | DW_EH_PE_sdata4]))
    a = len(frame)
    frame += fde(a, 0, struct.pack("<I", 0x401200), struct.pack("<I", 4))
    b = len(frame)
    frame += fde(b, second_cie, struct.pack("<i", 0x401010 - (FRAME + b + 8)),
                 struct.pack("<i", 4)[:4] + b"\0")
    _, _, _, table = parse_hdr(build_eh_frame_hdr(frame, FRAME, HDR, 8, "x"))
    assert table == [(0x401010 - HDR, FRAME + b - HDR), (0x401200 - HDR, FRAME + a - HDR)]


def test_64_bit_dwarf_and_truncation_refused() -> None:
    with pytest.raises(LinkError, match=r"a.o: section .eh_frame\+0x0: 64-bit DWARF"):
        count_fdes(b"\xff\xff\xff\xff" + bytes(20), "a.o")
    with pytest.raises(LinkError, match=r"section .eh_frame\+0x0: truncated .eh_frame record"):
        count_fdes(struct.pack("<I", 100) + bytes(8), "a.o")


PROGRAM = r"""
#include <execinfo.h>
#include <stdio.h>
static int __attribute__((noinline)) depth(void) { void *b[32]; return backtrace(b, 32); }
int __attribute__((noinline)) three(int x) { return depth() + x; }
int __attribute__((noinline)) two(int x) { return three(x) + 0; }
int __attribute__((noinline)) one(int x) { return two(x) * 1; }
int main(void) { printf("%d\n", one(0)); return 0; }
"""


@pytest.fixture(scope="module")
def exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("eh")
    (d / "p.c").write_text(PROGRAM)
    out = d / "p"
    subprocess.run(["gcc", "-O1", "-fno-pie", "-no-pie", "-fasynchronous-unwind-tables",
                    "-B", shim_dir(), "-o", str(out), str(d / "p.c")], check=True,
                   capture_output=True)
    return out


def test_real_hdr_table_points_at_every_fde(exe: Path) -> None:
    with open(exe, "rb") as f:
        elf = ELFFile(f)
        hdr, frame = elf.get_section_by_name(".eh_frame_hdr"), elf.get_section_by_name(
            ".eh_frame")
        assert hdr is not None and frame is not None
        hdr_addr, frame_addr = hdr["sh_addr"], frame["sh_addr"]
        data = hdr.data()
        seg = [s for s in elf.iter_segments() if s["p_type"] == "PT_GNU_EH_FRAME"]
        assert len(seg) == 1 and seg[0]["p_vaddr"] == hdr_addr
        assert seg[0]["p_memsz"] == len(data)
    _, frame_ptr, count, table = parse_hdr(data)
    assert hdr_addr + 4 + frame_ptr == frame_addr
    dump = subprocess.run(["readelf", "--debug-dump=frames", str(exe)], check=True,
                          capture_output=True, text=True).stdout
    fde_line = r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\."
    fdes = sorted((int(pc, 16), frame_addr + int(off, 16))
                  for off, pc in re.findall(fde_line, dump, re.MULTILINE))
    assert count == len(fdes) >= 5  # main, one, two, three, depth, plus the C runtime's
    assert [(hdr_addr + i, hdr_addr + a) for i, a in table] == fdes  # sorted, same FDEs


def test_unwinder_walks_the_executables_frames(exe: Path) -> None:
    done = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    # backtrace() reaches depth, three, two, one and main only through .eh_frame_hdr
    assert int(done.stdout) >= 6
