"""Initialisation rules: the code ld.so and libc call before and after main
(DT_INIT, DT_FINI, DT_PREINIT_ARRAY, DT_INIT_ARRAY, DT_FINI_ARRAY) is where it says."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import DL_LOAD, GABI, Finding, rule
from oracle.check.tables import dyn_value

TOPIC = "dynamic"
DT_INIT, DT_FINI = 12, 13
ARRAYS = {25: ("DT_INIT_ARRAY", 27), 26: ("DT_FINI_ARRAY", 28), 32: ("DT_PREINIT_ARRAY", 33)}


def _executable(img: ElfImage, addr: int) -> bool:
    load = img.load_at(addr)
    return load is not None and bool(load.flags & c.PF_X) and load.covers_file(addr)


@rule("ELF-DYN-INIT", TOPIC,
      "DT_INIT/DT_FINI are in executable PT_LOADs; init/fini arrays are mapped, whole words, "
      "and (in an ET_EXEC, where they hold final addresses) each entry is executable code",
      f"{GABI}, {DL_LOAD}")
def init_fini(img: ElfImage) -> Iterator[Finding]:
    for tag, name in ((DT_INIT, "DT_INIT"), (DT_FINI, "DT_FINI")):
        addr = dyn_value(img, tag)
        if addr is not None and not _executable(img, addr):
            yield name, f"{addr:#x} ({img.where(addr)}) is not in an executable PT_LOAD"
    for tag, (name, size_tag) in ARRAYS.items():
        addr, size = dyn_value(img, tag), dyn_value(img, size_tag)
        if addr is None:
            continue
        if size is None or size % img.word:
            yield name, f"size {size} is missing or not a whole number of words"
            continue
        raw = img.read_vaddr(addr, size)
        if raw is None:
            yield name, f"[{addr:#x}, +{size:#x}) is not inside a PT_LOAD"
            continue
        if img.header.type != c.ET_EXEC:
            continue  # entries are filled by RELATIVE relocations
        fmt = f"{img.endian}{size // img.word}{img.fmt_word()}"
        for i, entry in enumerate(struct.unpack(fmt, raw)):
            if entry not in (0, (1 << (8 * img.word)) - 1) and not _executable(img, entry):
                yield f"{name}[{i}]", f"{entry:#x} ({img.where(entry)}) is not executable code"
