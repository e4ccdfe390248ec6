"""A few instructions (or bytes) around a relocation site in the output, for reports."""

from __future__ import annotations

import functools

import capstone

from .image import OutputImage

BEFORE, AFTER = 3, 2
MAX_INSN = 15  # bytes: the longest x86 instruction


@functools.lru_cache(maxsize=2)
def _decoder(machine: str) -> capstone.Cs:
    mode = capstone.CS_MODE_64 if machine == "x86_64" else capstone.CS_MODE_32
    return capstone.Cs(capstone.CS_ARCH_X86, mode)


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
    md = _decoder(image.machine)
    function = image.function_start(site)
    if function is not None and function >= max(start, sec.addr):
        start = function  # nearer than the section start, and a sure boundary
    start = max(start, sec.addr, site - 4096)
    # up to the instructions after the site (15 bytes at most each): capstone decodes the
    # whole buffer it is given before yielding the first, and a section of megabytes per
    # mismatch made a report of a few hundred take minutes
    end = min(sec.addr + sec.size, site + MAX_INSN * (AFTER + 2))
    code = image.read(start, end - start) or b""
    lines: list[str] = []
    hit = -1
    # disasm_lite: tuples, not an instruction object each (capstone's objects cost ~0.2
    # ms apiece, and a report decodes up to a function's worth per mismatch)
    for address, size, mnemonic, op_str in md.disasm_lite(code, start):
        inside = address <= site < address + size
        mark = "=>" if inside else "  "
        raw = code[address - start:address - start + size]
        lines.append(f"{mark} {address:#x}: {raw.hex(' '):<24} {mnemonic} {op_str}".rstrip())
        if inside:
            hit = len(lines) - 1
        if hit >= 0 and len(lines) > hit + AFTER:
            break
    if hit < 0:
        return (f"{site:#x}: no instruction boundary reaches the site from {start:#x}",)
    return tuple(lines[max(0, hit - BEFORE):hit + AFTER + 1])
