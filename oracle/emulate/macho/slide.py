"""ASLR for the emulated dyld: an MH_PIE executable is loaded `SLIDE` bytes above its link
address, as xnu loads it at a random page-aligned offset (the kernel slides MH_PIE main
executables; an executable without MH_PIE stays where it was linked).

Everything the image says about addresses moves with it: segment and section addresses,
the thread state's pc, and the values of N_SECT symbols (N_ABS ones stay).  What does not
move by itself is the pointers stored in the file: those dyld must slide, from the rebase
opcodes (dyld info), or from the local relocations and the INDIRECT_SYMBOL_LOCAL non-lazy
pointers (classic files).  A pointer the linker forgot keeps its link-time value, which
points at nothing mapped: running the program shows it, as on a Mac.

The slide is fixed (the emulation must be deterministic) and large: farther than any image
under test is long, so an unslid pointer never lands inside the slid image by chance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage, Symbol
from oracle.records import replaced

# By pointer size.  i386 images stay at their link address for now: MH_PIE i386 output with
# absolute addresses in its code needs text relocations, which the i386 linker does not write.
SLIDE = {8: 0x7_0000_0000, 4: 0}


@dataclass
class SlidImage(MachOImage):
    """A parsed image as loaded `slide` bytes above its link address."""

    slide: int = 0

    def symbols(self) -> list[Symbol]:
        slide = self.slide  # (built directly: dataclasses.replace was a tenth of a run)
        return [Symbol(s.index, s.name, s.type, s.sect, s.desc, s.value + slide)
                if s.defined_in_section else s for s in super().symbols()]


def slide_of(img: MachOImage) -> int:
    return getattr(img, "slide", 0)


def load_address(img: MachOImage) -> MachOImage:
    """`img` as the kernel loads it: slid when it is an MH_PIE executable."""
    slide = SLIDE.get(img.word, 0)
    if not slide or img.filetype != mi.MH_EXECUTE or not img.flags & mi.MH_PIE:
        return img
    fields = {f.name: getattr(img, f.name) for f in dataclasses.fields(img)}
    fields["segments"] = [
        replaced(seg, vmaddr=seg.vmaddr + slide, sections=tuple(
            replaced(sect, addr=sect.addr + slide) for sect in seg.sections))
        for seg in img.segments]
    if img.thread_rip is not None:
        fields["thread_rip"] = img.thread_rip + slide
    return SlidImage(**fields, slide=slide)
