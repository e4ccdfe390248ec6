"""A few instructions (or bytes) around a relocation site in the output, for reports."""

from __future__ import annotations

import capstone

from .image import OutputImage

BEFORE, AFTER = 3, 2


def context(image: OutputImage, site: int, start: int) -> tuple[str, ...]:
    """Disassembly around `site`, decoding from `start` (an instruction boundary before it).

    The instruction holding the site is marked `=>`.  Data sections get a hex line instead.
    """
    sec = image.section_at(site)
    if sec is None:
        return (f"{site:#x}: not inside any output section",)
    if not sec.executable or sec.nobits:
        lo = max(sec.addr, site - 8)
        data = image.read(lo, min(16, sec.addr + sec.size - lo)) or b""
        return (f"{lo:#x}: {data.hex(' ')}",)
    mode = capstone.CS_MODE_64 if image.machine == "x86_64" else capstone.CS_MODE_32
    md = capstone.Cs(capstone.CS_ARCH_X86, mode)
    function = image.function_start(site)
    if function is not None and function >= max(start, sec.addr):
        start = function  # nearer than the section start, and a sure boundary
    start = max(start, sec.addr, site - 4096)
    code = image.read(start, sec.addr + sec.size - start) or b""
    lines: list[str] = []
    hit = -1
    for insn in md.disasm(code, start):
        inside = insn.address <= site < insn.address + insn.size
        mark = "=>" if inside else "  "
        lines.append(f"{mark} {insn.address:#x}: {insn.bytes.hex(' '):<24} "
                     f"{insn.mnemonic} {insn.op_str}".rstrip())
        if inside:
            hit = len(lines) - 1
        if hit >= 0 and len(lines) > hit + AFTER:
            break
    if hit < 0:
        return (f"{site:#x}: no instruction boundary reaches the site from {start:#x}",)
    return tuple(lines[max(0, hit - BEFORE):hit + AFTER + 1])
