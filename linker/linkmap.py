"""`--map FILE`: a JSON link map.

Every placed input section with its output address, and every global symbol with its
address, its GOT slot and its PLT entry.  The oracle may read it as a hint about where
input sections went, never as the truth.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .model import SectionFlags

if TYPE_CHECKING:
    from .elf.link import ElfLinkResult
    from .resolve import SymbolTable


def build_link_map(result: ElfLinkResult, symtab: SymbolTable) -> dict[str, Any]:
    elf = result.elf
    # The loaded image only: debug information has no addresses (its inputs' "addresses"
    # are offsets in their output section, which would alias a PIE's low addresses).
    loaded = [o for o in elf.sections if SectionFlags.ALLOC in o.flags]
    sections = []
    for out in loaded:
        for sec, off in zip(out.inputs, out.offsets):
            sections.append({
                "file": sec.file.path, "section": sec.name, "index": sec.index,
                "output_section": out.name, "address": out.addr + off, "size": sec.size,
            })
    symbols = []
    for sym in symtab.symbols:
        if not (sym.defined or sym.referenced):
            continue
        i = sym.id
        got, plt = int(elf.syms.got[i]), int(elf.syms.plt[i])
        if sym.linker_defined:
            origin = {"kind": "linker"}
        elif sym.dso is not None:
            origin = {"kind": "copy" if sym.file is not None else "import",
                      "library": sym.dso.soname}
        elif sym.file is not None:
            origin = {"kind": "defined", "file": sym.file.path}
        else:
            origin = {"kind": "undefined-weak"}
        symbols.append({"name": sym.name, "address": int(elf.syms.address[i]),
                        "size": sym.size, "got": got or None, "plt": plt or None, **origin})
    return {
        "target": f"elf{elf.arch.word * 8}-{elf.arch.name.replace('_', '-')}",
        "entry": elf.entry,
        "output_sections": [{"name": o.name, "address": o.addr, "size": o.size,
                             "file_offset": o.file_offset} for o in loaded],
        "sections": sections,
        "symbols": symbols,
    }


def write_link_map(path: str, data: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
