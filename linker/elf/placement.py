"""Placement options of GNU ld: `-Ttext`/`-Tdata`/`-Tbss`/`--section-start` and
`--sort-section`.

`--section-start=NAME=ADDR` (and -Ttext, -Tdata, -Tbss for .text, .data, .bss) puts the
output section at ADDR, and the location counter continues from its end: the sections that
follow it come after it, those before it stay where they were, as GNU ld's default script
places them.  Here the section's segment is split there: the section and the rest of its
segment become a segment of their own starting at ADDR (the layout then gives it a file
offset congruent to ADDR modulo the page).  An address below what is already placed, one
that shares a page with a segment of other permissions, or one the section's alignment does
not divide, is refused in one line (GNU ld would write overlapping or unsorted segments).

`--sort-section=name|alignment` sorts the input sections inside each output section by
name, or by decreasing alignment (GNU ld's SORT_BY_NAME / SORT_BY_ALIGNMENT around every
wildcard), stably.  The sections GNU ld's default script keeps in command-line order
(SORT_NONE, KEEP of the crt files, priority-sorted arrays) keep it here too: `.init`,
`.fini`, the init/fini arrays, `.ctors`/`.dtors` and `.eh_frame`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import LinkError
from ..layout import OutputSection, Segment

# -Ttext=ADDR and friends are --section-start for these names.
SHORTHANDS = {"-Ttext": ".text", "-Tdata": ".data", "-Tbss": ".bss"}
_KEEP_ORDER = frozenset({".init", ".fini", ".init_array", ".fini_array", ".preinit_array",
                         ".ctors", ".dtors", ".eh_frame"})


def split_at_section_starts(segments: list[Segment], starts: Mapping[str, int]
                            ) -> tuple[list[Segment], dict[int, int]]:
    """The segments with each started section beginning a segment of its own, and the
    address each such segment must start at (id(segment) -> address)."""
    if not starts:
        return segments, {}
    out: list[Segment] = []
    fixed: dict[int, int] = {}
    for seg in segments:
        current = Segment(seg.flags, [])
        out.append(current)
        for sec in seg.sections:
            address = starts.get(sec.name)
            if address is not None:
                if address % max(1, sec.align):
                    raise LinkError(f"--section-start {sec.name}={address:#x}: the section "
                                    f"needs {sec.align}-byte alignment")
                if current.sections or (out[0] is current and len(out) == 1):
                    current = Segment(seg.flags, [])
                    out.append(current)
                fixed[id(current)] = address
            current.sections.append(sec)
    return [s for s in out if s.sections or s is out[0]], fixed


def sort_inputs(outs: Mapping[str, OutputSection], order: str) -> None:
    """--sort-section=name|alignment within each output section (see the module)."""
    for name, out in outs.items():
        if name in _KEEP_ORDER or len(out.inputs) < 2:
            continue
        inputs = out.inputs
        if order == "name":
            inputs = sorted(inputs, key=lambda s: s.name)
        else:
            inputs = sorted(inputs, key=lambda s: -s.align)
        out.inputs, out.offsets, out.size, out.align = [], [], 0, 1
        for sec in inputs:
            out.add(sec)


def parse_section_start(option: str, value: str) -> tuple[str, int]:
    """(section name, address) of `--section-start=NAME=ADDR` or `-Ttext=ADDR`."""
    if option in SHORTHANDS:
        name, text = SHORTHANDS[option], value
    else:
        name, eq, text = value.partition("=")
        if not eq or not name:
            raise LinkError(f"--section-start {value}: want SECTION=ADDRESS")
    try:
        address = int(text, 16)  # GNU ld reads these addresses as hexadecimal, 0x or not
    except ValueError:
        raise LinkError(f"{option} {value}: want a hexadecimal address") from None
    if address >> 64:
        raise LinkError(f"{option} {value}: the address is past 64 bits")
    return name, address
