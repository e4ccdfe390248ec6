"""IFUNC rule: code never reaches an STT_GNU_IFUNC symbol's own value, its resolver.

An IFUNC's value is the function that *chooses* the implementation; a call to the IFUNC
must go through a PLT entry whose slot an IRELATIVE relocation filled with the resolver's
choice.  A linker that resolves the reference to the symbol's value calls the resolver
instead: the program runs on with a pointer for a result and prints nothing.  The rule
finds direct `call rel32` / `jmp rel32` instructions landing on a resolver, by a bulk
scan of the executable sections (a false hit needs random bytes to form a 32-bit
displacement onto one of a few addresses).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import GABI, PSABI_X86_64, Finding, rule
from oracle.check.tables import symbols

TOPIC = "ifunc"
STT_GNU_IFUNC = 10
CALL_REL32, JMP_REL32 = 0xE8, 0xE9


def _resolvers(img: ElfImage) -> dict[int, str]:
    """Value -> name of every defined STT_GNU_IFUNC symbol of .symtab and .dynsym."""
    found: dict[int, str] = {}
    for table in img.sections:
        if table.type not in (c.SHT_SYMTAB, c.SHT_DYNSYM):
            continue
        for sym in symbols(img, table)[1:]:
            if sym.type == STT_GNU_IFUNC and sym.shndx != c.SHN_UNDEF and sym.value:
                found.setdefault(sym.value, sym.name)
    return found


@rule("ELF-IFUNC-DIRECT", TOPIC,
      "no call/jmp rel32 lands on an STT_GNU_IFUNC symbol's value (its resolver): a reference "
      "to an IFUNC goes through a PLT entry bound by IRELATIVE", f"{GABI}, {PSABI_X86_64}")
def no_direct_resolver_calls(img: ElfImage) -> Iterator[Finding]:
    resolvers = _resolvers(img)
    if not resolvers:
        return
    wanted = np.array(sorted(resolvers), dtype=np.int64)
    for sec in img.sections:
        if not sec.flags & c.SHF_EXECINSTR or not sec.flags & c.SHF_ALLOC:
            continue
        if sec.type == c.SHT_NOBITS or sec.size < 5:
            continue
        data = np.frombuffer(img.section_bytes(sec), dtype=np.uint8)
        at = np.nonzero((data[:-4] == CALL_REL32) | (data[:-4] == JMP_REL32))[0]
        if not len(at):
            continue
        disp = (data[at + 1].astype(np.int64) | data[at + 2].astype(np.int64) << 8
                | data[at + 3].astype(np.int64) << 16 | data[at + 4].astype(np.int64) << 24)
        disp = np.where(disp >= 1 << 31, disp - (1 << 32), disp)
        target = sec.addr + at + 5 + disp
        for i in np.nonzero(np.isin(target, wanted))[0].tolist():
            site = sec.addr + int(at[i])
            name = resolvers[int(target[i])]
            kind = "call" if data[at[i]] == CALL_REL32 else "jmp"
            yield img.where(site), (f"{kind} at {site:#x} goes straight to the resolver of the "
                                    f"IFUNC {name} ({int(target[i]):#x}), not through its "
                                    "PLT entry")


STT_FUNC = 2


@rule("ELF-IFUNC-EXPORT", TOPIC,
      "a .dynsym definition at an STT_GNU_IFUNC's resolver is itself STT_GNU_IFUNC: ld.so "
      "calls the resolver only for that type, so a plain STT_FUNC there hands every caller "
      "in other objects the resolver instead of the function it chooses",
      f"{GABI}, glibc elf/dl-lookup.c (STT_GNU_IFUNC handling in _dl_lookup_symbol_x)")
def exported_ifunc_keeps_its_type(img: ElfImage) -> Iterator[Finding]:
    resolvers: dict[int, str] = {}
    for table in img.sections:
        if table.type != c.SHT_SYMTAB:
            continue
        for sym in symbols(img, table)[1:]:
            if sym.type == STT_GNU_IFUNC and sym.shndx != c.SHN_UNDEF and sym.value:
                resolvers.setdefault(sym.value, sym.name)
    if not resolvers:
        return
    for table in img.sections:
        if table.type != c.SHT_DYNSYM:
            continue
        for sym in symbols(img, table)[1:]:
            if sym.type == STT_FUNC and sym.shndx != c.SHN_UNDEF and sym.value in resolvers:
                yield img.where(sym.value), (
                    f".dynsym exports {sym.name} as STT_FUNC at {sym.value:#x}, the resolver "
                    f"of the IFUNC {resolvers[sym.value]}: other objects would call the "
                    "resolver itself")
