"""ELF-SEG-SECALIGN is about images the loader places (PIEs, shared objects): an ET_EXEC
is mapped at its own addresses, so a section whose sh_addr is aligned stays aligned even
in a PT_LOAD whose p_align is smaller.

Found by the outside hostile campaign (the checker over every ELF file on the host):
/usr/bin/node, GNU ld's ET_EXEC with a 2 MiB-aligned `lpstub` section in a 4 KiB-aligned
PT_LOAD, was called invalid; it runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from oracle.check import check

SOURCE = """\
        .text
        .globl main
main:   xorl %eax, %eax
        ret
        .section lpstub,"ax",@progbits
        .p2align 21
        ret
        .section .note.GNU-stack,"",@progbits
"""


def _linked_with_small_p_align(tmp_path: Path, pie: str) -> Path:
    """GNU ld's link, then its 2 MiB p_align lowered to 4 KiB (still congruent), the shape
    of node's lpstub segment."""
    (tmp_path / "big.s").write_text(SOURCE)
    exe = tmp_path / f"big{pie}"
    subprocess.run(["gcc", pie, "-o", str(exe), str(tmp_path / "big.s")], check=True)
    data = bytearray(exe.read_bytes())
    phoff, phentsize, phnum = (int.from_bytes(data[0x20:0x28], "little"),
                               int.from_bytes(data[0x36:0x38], "little"),
                               int.from_bytes(data[0x38:0x3A], "little"))
    lowered = 0
    for n in range(phnum):
        at = phoff + n * phentsize
        if int.from_bytes(data[at + 48:at + 56], "little") == 0x200000:
            data[at + 48:at + 56] = (0x1000).to_bytes(8, "little")
            lowered += 1
    assert lowered == 1
    exe.write_bytes(bytes(data))
    return exe


def test_an_exec_section_aligned_past_its_segment_is_valid(tmp_path: Path) -> None:
    exe = _linked_with_small_p_align(tmp_path, "-no-pie")
    assert subprocess.run([str(exe)], check=False).returncode == 0
    assert "ELF-SEG-SECALIGN" not in {v.rule for v in check(exe)}


def test_a_pie_section_aligned_past_its_segment_is_still_a_violation(tmp_path: Path) -> None:
    exe = _linked_with_small_p_align(tmp_path, "-pie")
    assert "ELF-SEG-SECALIGN" in {v.rule for v in check(exe)}
