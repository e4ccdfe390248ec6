"""LC_DYSYMTAB's classic relocations (what dyld applied before LC_DYLD_INFO): every entry
is one dyld accepts, lies in a writable segment, and says something true: an external one
names an undefined symbol, a local one a section, and the pointer it slides points into
the image."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho import relocations as rel

TOPIC = "relocations"
DYLD_CLASSIC = ("dyld ImageLoaderMachOClassic::doBindExternalRelocations/rebase; "
                "getRelocBase (x86_64: first writable segment; i386: segment 0)")


def _placed(img: mi.MachOImage, e: rel.RelocationEntry) -> Iterator[str]:
    problem = rel.dyld_problem(img, e)
    if problem is not None:
        yield problem
        return
    seg = img.segment_at(e.address, img.word)
    if seg is not None and not seg.writable:
        yield f"its place {e.address:#x} is in {seg.name}, which is not writable"


@rule("MACHO-EXTREL", TOPIC,
      "each external relocation is a pointer-sized UNSIGNED/VANILLA entry in a writable "
      "segment whose r_symbolnum is an undefined external symbol", DYLD_CLASSIC)
def external_relocations(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    symbols = img.symbols()
    for e in rel.entries(img, "external"):
        for problem in _placed(img, e):
            yield e.where, problem
        if e.symbolnum >= len(symbols):
            yield e.where, f"r_symbolnum {e.symbolnum} is past the symbol table ({len(symbols)})"
            continue
        sym = symbols[e.symbolnum]
        if not (sym.undefined and sym.type & mi.N_EXT):
            yield e.where, (f"r_symbolnum {e.symbolnum} is {sym.name}, which is not an "
                            "undefined external symbol")


@rule("MACHO-LOCREL", TOPIC,
      "each local relocation is a pointer-sized UNSIGNED/VANILLA entry in a writable segment, "
      "r_symbolnum a section ordinal, sliding a pointer that points into the image",
      DYLD_CLASSIC)
def local_relocations(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    nsects = len(img.sections())
    for e in rel.entries(img, "local"):
        problems = list(_placed(img, e))
        for problem in problems:
            yield e.where, problem
        if not 1 <= e.symbolnum <= nsects:
            yield e.where, f"r_symbolnum {e.symbolnum} is not a section ordinal (1..{nsects})"
        if problems:
            continue
        seg = img.segment_at(e.address, img.word)
        assert seg is not None
        start = e.address - seg.vmaddr
        raw = img.data[seg.fileoff + start : seg.fileoff + start + img.word] \
            if start + img.word <= seg.filesize else bytes(img.word)
        value = int.from_bytes(raw, "little")
        if not any(s.initprot and s.vmaddr <= value <= s.vmaddr + s.vmsize
                   for s in img.segments):
            yield e.where, f"slides the pointer {value:#x}, which points into no segment"


@rule("MACHO-CLASSIC-RELOCS-ONLY", TOPIC,
      "an image with LC_DYLD_INFO has no LC_DYSYMTAB relocations: the dyld that reads dyld "
      "info ignores them, so what they describe would never be done",
      "dyld ImageLoaderMachOCompressed (rebase/bind from LC_DYLD_INFO only)")
def classic_relocs_only(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None or img.dysymtab is None:
        return
    if img.dysymtab[15] or img.dysymtab[17]:
        yield "LC_DYSYMTAB", (f"{img.dysymtab[15]} external and {img.dysymtab[17]} local "
                              "relocations beside LC_DYLD_INFO")
