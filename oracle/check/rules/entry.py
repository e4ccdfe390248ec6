"""Entry point rule: execution starts in mapped, executable bytes."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import BINFMT, Finding, rule
from oracle.check.rules.pic import is_shared_library

TOPIC = "entry"


@rule("ELF-ENTRY", TOPIC,
      "e_entry lies in the file image of a PT_LOAD with PF_X (and in an executable section)",
      BINFMT)
def entry(img: ElfImage) -> Iterator[Finding]:
    addr = img.header.entry
    if addr == 0 and img.header.type == c.ET_DYN:
        return  # gABI: zero means no entry point (a shared library)
    if is_shared_library(img):
        return  # ld.so never jumps to a library's e_entry (mold leaves a stale one there)
    load = img.load_at(addr)
    if load is None:
        yield "e_entry", f"{addr:#x} is not inside any PT_LOAD"
        return
    if not load.flags & c.PF_X:
        yield "e_entry", f"{addr:#x} is in {load.name}, which lacks PF_X"
    if not load.covers_file(addr):
        yield "e_entry", f"{addr:#x} is in {load.name}'s zero-filled tail"
    sec = img.section_at(addr)
    if img.sections and (sec is None or not sec.flags & c.SHF_EXECINSTR):
        name = sec.name if sec else "no section"
        yield "e_entry", f"{addr:#x} is in {name}, not an SHF_EXECINSTR section"
