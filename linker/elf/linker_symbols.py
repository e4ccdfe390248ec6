"""The symbols the linker itself defines (`_end`, `_GLOBAL_OFFSET_TABLE_`, `__start_X`, ...):
their addresses, and the output section each is relative to.

Each is defined only when an input refers to it (PROVIDE semantics, resolve.py).  Its
address comes from the finished layout.  Its `.symtab` row names a section rather than
SHN_ABS: by the gABI an absolute symbol does not move with the load base of a PIE or a
shared object (`nm` lists it `A`; gdb happens to relocate it anyway).  GNU ld
ties each to the section its default script defines it beside (`__bss_start` to .bss,
`_edata` to the last section with file data, `_etext` to the last section of text), and
so do we; a symbol with no such section takes the one that holds its address.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import OutputSection, Segment
from ..model import SectionFlags
from . import sections as policy


@dataclass(frozen=True)
class LinkerSymbols:
    """Address and anchoring section of every symbol the linker can define (by name)."""
    address: dict[str, int]
    anchor: dict[str, OutputSection]


def linker_symbols(named: dict[str, OutputSection], segments: list[Segment],
                   base: int) -> LinkerSymbols:
    v: dict[str, int] = {}
    at: dict[str, OutputSection | None] = {}

    def define(names: tuple[str, ...], value: int, anchor: OutputSection | None) -> None:
        for name in names:
            v[name], at[name] = value, anchor

    first = next((s for seg in segments for s in seg.sections), None)
    define(("__ehdr_start", "__executable_start"), base, first)
    got = named.get(".got.plt") or named.get(".got")
    if got is not None:
        define(("_GLOBAL_OFFSET_TABLE_",), got.addr, got)
    if ".dynamic" in named:
        define(("_DYNAMIC",), named[".dynamic"].addr, named[".dynamic"])
    text = [s for s in segments if SectionFlags.EXEC in s.flags]
    data = [s for s in segments if SectionFlags.WRITE in s.flags]
    last = segments[-1]
    if text:
        define(("_etext", "etext", "__etext"), text[0].addr + text[0].memsz,
               _last(text[0].sections))
    rw = data[0] if data else last
    with_data = [s for s in rw.sections if not s.nobits]
    define(("_edata", "edata"), rw.addr + rw.filesz, _last(with_data))
    bss = named.get(".bss")
    define(("__bss_start",), bss.addr if bss else rw.addr + rw.filesz,
           bss or _last(with_data))
    define(("_end", "end"), rw.addr + rw.memsz, _last(rw.sections))
    for name in ("init_array", "fini_array", "preinit_array"):
        out = named.get("." + name)
        start = out.addr if out else rw.addr
        anchor = out or (rw.sections[0] if rw.sections else None)
        define((f"__{name}_start",), start, anchor)
        define((f"__{name}_end",), start + (out.size if out else 0), anchor)
    # Static IFUNC relocations, which the C library applies itself at start-up.
    iplt = named.get(".rela.iplt")
    ro_end = segments[0].addr + segments[0].memsz
    ro_last = _last(segments[0].sections)
    define(("__rela_iplt_start",), iplt.addr if iplt else ro_end, iplt or ro_last)
    define(("__rela_iplt_end",), iplt.end if iplt else ro_end, iplt or ro_last)
    for name, out in named.items():
        if policy.is_identifier(name):
            define((f"__start_{name}",), out.addr, out)
            define((f"__stop_{name}",), out.end, out)
    allocated = [s for seg in segments for s in seg.sections]
    anchors = {name: a if a is not None else _holding(allocated, v[name])
               for name, a in at.items()}
    return LinkerSymbols(v, {name: a for name, a in anchors.items() if a is not None})


def _last(sections: list[OutputSection]) -> OutputSection | None:
    return sections[-1] if sections else None


def _holding(allocated: list[OutputSection], address: int) -> OutputSection | None:
    """The last section starting at or below `address` (the first when none does)."""
    below = [s for s in allocated if s.addr <= address]
    return below[-1] if below else (allocated[0] if allocated else None)
