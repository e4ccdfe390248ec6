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
    from .apply import SymbolAddresses
    from .layout import OutputSection
    from .pipeline import LinkedImage
    from .resolve import SymbolTable

WORD = (1 << 64) - 1  # an absolute symbol's address may be negative (apply.absolute_word)


def build_link_map(linked: LinkedImage, symtab: SymbolTable) -> dict[str, Any]:
    """The map of any format's output.  On Mach-O, sections are named `__SEG,__sect`,
    "plt" is an import's stub and "got" a symbol's non-lazy pointer slot."""
    # The loaded image only: debug information has no addresses (its inputs' "addresses"
    # are offsets in their output section, which would alias a PIE's low addresses).
    loaded = [o for o in linked.sections if SectionFlags.ALLOC in o.flags]
    return {
        "target": linked.target,
        "entry": linked.entry,
        "output_sections": _output_sections(loaded),
        "sections": _input_sections(loaded),
        "symbols": _symbols(linked.syms, symtab),
    }


def _output_sections(outs: list[OutputSection]) -> list[dict[str, Any]]:
    return [{"name": o.name, "address": o.addr, "size": o.size, "file_offset": o.file_offset}
            for o in outs]


def _input_sections(outs: list[OutputSection]) -> list[dict[str, Any]]:
    sections = []
    for out in outs:
        for sec, off in zip(out.inputs, out.offsets):
            sections.append({
                "file": sec.file.path, "section": sec.name, "index": sec.index,
                "output_section": out.name, "address": out.addr + off, "size": sec.size,
            })
    return sections


def _symbols(syms: SymbolAddresses, symtab: SymbolTable) -> list[dict[str, Any]]:
    symbols = []
    for sym in symtab.symbols:
        if not (sym.defined or sym.referenced):
            continue
        i = sym.id
        got, plt = int(syms.got[i]), int(syms.plt[i])
        if sym.linker_defined:
            origin = {"kind": "linker"}
        elif sym.dso is not None:
            origin = {"kind": "copy" if sym.file is not None else "import",
                      "library": sym.dso.soname}
        elif sym.file is not None:
            origin = {"kind": "defined", "file": sym.file.path}
        else:
            origin = {"kind": "undefined-weak"}
        symbols.append({"name": sym.name, "address": int(syms.address[i]) & WORD,
                        "size": sym.size, "got": got or None, "plt": plt or None, **origin})
    return symbols


def render_link_map(data: dict[str, Any]) -> bytes:
    """The JSON map's bytes.  Compact separators: `indent` made the encoder walk in Python
    (11-15% of a small link's CPU time when a fuzz campaign asks for the map); one record
    a line keeps it readable and diffable all the same."""
    return ("{\n" + ",\n".join(f"{json.dumps(key)}: {_rows(value)}"
                                 for key, value in data.items()) + "\n}\n").encode()


def _rows(value: Any) -> str:
    if isinstance(value, list):
        return "[\n" + ",\n".join(json.dumps(v, separators=(",", ":")) for v in value) + "\n]"
    return json.dumps(value, separators=(",", ":"))
