"""`-z relro`: PT_GNU_RELRO, the part of the writable segment ld.so seals read-only once it
has relocated it.

The sections that only the dynamic linker writes (the TLS template, the init/fini arrays,
`.data.rel.ro`, `.dynamic`, `.got`) lead the writable segment already (sections.py's
order); with `-z relro` the first section after them starts on a new page, so that the
region ends on a page boundary, as GNU ld lays it out (its DATA_SEGMENT_RELRO_END): glibc
rounds the end *down*, and a region ending mid-page would leave that page writable.  The
lazily bound `.got.plt` (and the IFUNC slots) stay outside it.
"""

from __future__ import annotations

from ..layout import OutputSection, Segment
from ..model import SectionFlags
from ..records import dataclass

RELRO_SECTIONS = frozenset({".tdata", ".tbss", ".preinit_array", ".init_array", ".fini_array",
                            ".ctors", ".dtors", ".data.rel.ro", ".dynamic", ".got"})


@dataclass(frozen=True)
class RelroRegion:
    """What PT_GNU_RELRO covers, once addresses are known."""

    file_offset: int
    addr: int
    size: int


def reserve_relro(segments: list[Segment], page: int) -> list[OutputSection]:
    """The leading RELRO sections of the writable segment (empty when there are none);
    the section after them is made to start on a page."""
    writable = next((s for s in segments if SectionFlags.WRITE in s.flags), None)
    if writable is None:
        return []
    relro: list[OutputSection] = []
    for out in writable.sections:
        if out.name not in RELRO_SECTIONS and SectionFlags.TLS not in out.flags:
            break  # (a TLS orphan, `.tdata1`, belongs to the template, which leads too)
        relro.append(out)
    if relro and len(relro) < len(writable.sections):
        after = writable.sections[len(relro)]
        after.align = max(after.align, page)
    return relro


def relro_region(relro: list[OutputSection], segments: list[Segment],
                 page: int) -> RelroRegion | None:
    """The region after layout: from the first RELRO section to the page boundary where the
    next section starts (or to the end of the last one when nothing follows)."""
    if not relro:
        return None
    writable = next(s for s in segments if SectionFlags.WRITE in s.flags)
    first = relro[0]
    rest = writable.sections[len(relro):]
    end = rest[0].addr if rest else max(o.end for o in relro if not _is_tbss(o))
    return RelroRegion(first.file_offset, first.addr, end - first.addr)


def _is_tbss(out: OutputSection) -> bool:
    return out.nobits and SectionFlags.TLS in out.flags
