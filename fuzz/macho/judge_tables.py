"""What a Mach-O link's symbol-table options and maps must give (the model of them), judged
from the output and the inputs alone:

- the symbol table: every external, non-weak, not private-extern definition of an input
  stays an external definition (dyld, debuggers and the export list name it), unless the
  link was stripped (`-s`: no definition but `__mh_execute_header`, and the image's own
  weak external definitions that the indirect table names for their stubs, which dyld
  coalesces by name); under `-x` no
  non-external (local or private-extern) definition remains;
- the JSON map (`--map`): each output section at the address and size the section headers
  give, and each symbol the table still defines at the address the table gives it;
- GNU ld's text map (`-Map`, written by the ELF map's code): one line per output section
  with the headers' address and size, and the OUTPUT line naming the file.

The modes are what `link()` is asked for: "full" (nothing dropped), "strip", "discard"
(-x); the properties draw one per example for a modern build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from oracle.emulate.macho import image as mi

from .emit_macho import N_EXT, N_PEXT, N_WEAK_DEF

TABLE_MODES = ("full", "strip", "discard")
MH_EXECUTE_HEADER = "__mh_execute_header"


def table_flags(mode: str) -> tuple[bool, bool]:
    """`link()`'s (strip, discard_all) for a table mode."""
    assert mode in TABLE_MODES, mode
    return mode == "strip", mode == "discard"


def symbol_table(output: Path, objects: Sequence[Path], mode: str) -> list[str]:
    img = mi.parse(output.read_bytes())
    defined = [s for s in img.symbols() if s.defined_in_section and s.name]
    external = {s.name for s in defined if s.type & N_EXT and not s.type & N_PEXT}
    problems = []
    if mode == "strip":
        named = set(img.indirect_symbols())
        stubbed_weak = {s.name for s in defined if s.index in named and s.desc & N_WEAK_DEF
                        and s.type & N_EXT and not s.type & N_PEXT}
        kept = sorted({s.name for s in defined} - {MH_EXECUTE_HEADER} - stubbed_weak)
        if kept:
            problems.append(f"symbol table (-s): definitions {kept} kept")
        return problems
    if mode == "discard":
        local = sorted(s.name for s in defined if not s.type & N_EXT or s.type & N_PEXT)
        if local:
            problems.append(f"symbol table (-x): local definitions {local} kept")
    missing = sorted(_exported_by_inputs(objects) - external)
    if missing:
        problems.append(f"symbol table ({mode}): external definitions {missing} missing")
    return problems


def _exported_by_inputs(objects: Sequence[Path]) -> set[str]:
    names = set()
    for path in objects:
        for sym in mi.parse(path.read_bytes()).symbols():
            if (sym.defined_in_section and sym.name and sym.type & N_EXT
                    and not sym.type & N_PEXT and not sym.desc & N_WEAK_DEF):
                names.add(sym.name)
    return names


def link_map(map_file: Path, output: Path) -> list[str]:
    data = json.loads(map_file.read_text())
    img = mi.parse(output.read_bytes())
    headers = {f"{s.segname},{s.sectname}": (s.addr, s.size) for s in img.sections()}
    listed = {o["name"]: (o["address"], o["size"]) for o in data["output_sections"]}
    problems = []
    if listed != headers:
        wrong = sorted(n for n in set(listed) | set(headers) if listed.get(n) != headers.get(n))
        problems.append(f"map: output sections {wrong} differ from the section headers "
                        f"(map {[listed.get(n) for n in wrong]}, headers "
                        f"{[headers.get(n) for n in wrong]})")
    table = {s.name: s.value for s in img.symbols()
             if s.defined_in_section and s.name and s.type & N_EXT}
    for sym in data["symbols"]:
        if sym.get("kind") == "defined" and sym["name"] in table \
                and sym["address"] != table[sym["name"]]:
            problems.append(f"map: {sym['name']} at {sym['address']:#x}, the symbol table "
                            f"says {table[sym['name']]:#x}")
    return problems


# An output section's line in GNU's layout: its name at the start of a line (input
# sections are indented), then address and size (a long name wraps before them).
_SECTION_LINE = re.compile(r"^(__[A-Z]+,\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)$", re.MULTILINE)


def text_map(map_file: Path, output: Path) -> list[str]:
    text = map_file.read_text()
    img = mi.parse(output.read_bytes())
    headers = {f"{s.segname},{s.sectname}": (s.addr, s.size) for s in img.sections()}
    listed = {m[1]: (int(m[2], 16), int(m[3], 16)) for m in _SECTION_LINE.finditer(text)}
    problems = []
    if listed != headers:
        wrong = sorted(n for n in set(listed) | set(headers) if listed.get(n) != headers.get(n))
        problems.append(f"text map: output sections {wrong} differ from the section headers "
                        f"(map {[listed.get(n) for n in wrong]}, headers "
                        f"{[headers.get(n) for n in wrong]})")
    if f"OUTPUT({output} " not in text:
        problems.append("text map: no OUTPUT line naming the output")
    return problems
