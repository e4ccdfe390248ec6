"""Unwind table rule: `.eh_frame` is one list of records up to its terminator.

A static executable (no PT_GNU_EH_FRAME) finds its unwind tables through crtbegin's
__EH_FRAME_BEGIN__, registered with __register_frame_info: libgcc walks the records from
there until a zero length word.  A zero word between records (alignment padding between two
input sections) ends the walk early, the FDEs after it are never seen, and every C++
exception aborts in uw_init_context.  GNU ld widens the previous record over such padding.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import GABI, Finding, rule

TOPIC = "ehframe"
LSB_EH_FRAME = "LSB 5.0 Exception Frames"


@rule("ELF-EHFRAME-TERMINATOR", TOPIC,
      ".eh_frame holds no zero length word (a terminator) before its last record: unwinders "
      "walking it from crtbegin's __EH_FRAME_BEGIN__ stop there", f"{GABI}, {LSB_EH_FRAME}")
def no_early_terminator(img: ElfImage) -> Iterator[Finding]:
    sec = img.section(".eh_frame")
    if sec is None or sec.type == c.SHT_NOBITS or not sec.size:
        return
    data = img.section_bytes(sec)
    pos = 0
    while pos + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        if length == 0xFFFFFFFF:
            return  # 64-bit DWARF records: not produced for x86; nothing to judge
        if length == 0:
            rest = data[pos + 4:]
            if any(rest):
                yield img.where(sec.addr + pos), (
                    f"a zero terminator at .eh_frame+{pos:#x} hides the "
                    f"{len(rest)} bytes of records after it from unwinders walking the list")
            return
        pos += 4 + length
