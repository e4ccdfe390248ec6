"""`-Map FILE` / `--print-map`: GNU ld's text link map, in GNU ld's layout.

People and tools read GNU's map (output sections with addresses and sizes, the input
sections under each with their file names, the global symbols each defines, the archive
members pulled and why, the input sections discarded), so this writes the same columns:

    Archive member included to satisfy reference by file (symbol)
    Discarded input sections
    Memory Configuration
    Linker script and memory map   (LOAD lines, --defsym assignments, then the sections)

What linkharness has no counterpart for is left out: the input-section patterns of GNU's
default linker script (` *(.text .stub ...)`), and the sections a reader drops on sight
(`.note.GNU-stack`, `.group`): only COMDAT-discarded sections are listed as discarded.
Sections the linker makes itself (GOT, PLT, dynamic tables, merged strings) name their
file as "linker stubs", as GNU ld does for its own stubs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import LinkedImage
    from .resolve import SymbolTable

_SYNTHETIC = "<linker>"
_NAME_WIDTH = 16  # GNU ld's section-name column (a longer name takes a line of its own)
_MEMBER_WIDTH = 30  # the archive-member column


def render_text_map(linked: LinkedImage, symtab: SymbolTable, output: str,
                    defsym: Sequence[tuple[str, str]] = ()) -> str:
    """The map of any format's output (a Mach-O one lists `__SEG,__sect` sections)."""
    word = linked.word
    digits = 2 * word

    def hexa(value: int) -> str:
        return f"0x{value & ((1 << (8 * word)) - 1):0{digits}x}"

    lines: list[str] = []
    if symtab.archive_pulls:
        lines += ["Archive member included to satisfy reference by file (symbol)", ""]
        for member, referrer, symbol in symtab.archive_pulls:
            why = f"{referrer} ({symbol})" if symbol else referrer
            if len(member) < _MEMBER_WIDTH:
                lines.append(f"{member:<{_MEMBER_WIDTH}}{why}")
            else:
                lines += [member, " " * _MEMBER_WIDTH + why]
        lines.append("")
    lines += ["Discarded input sections", ""]
    for path, name, size in symtab.discarded:
        lines += _section_line(name, f"{hexa(0)} {size:#10x} {path}")
    lines += ["", "Memory Configuration", "",
              f"{'Name':<17}{'Origin':<19}{'Length':<19}Attributes",
              f"{'*default*':<17}{hexa(0):<19}{'0x' + 'f' * digits}", "",
              "Linker script and memory map", ""]
    lines += [f"LOAD {obj.path}" for obj in symtab.objects if obj.path != _SYNTHETIC]
    lines += [f"LOAD {lib.path}" for lib in symtab.libraries]
    addresses = linked.syms.address
    for name, expr in defsym:
        sym = symtab.by_name.get(name)
        if sym is not None:
            lines.append(" " * _NAME_WIDTH + f"{hexa(int(addresses[sym.id]))}"
                         + " " * 16 + f"{name} = {expr.strip()}")
    defined_in = _symbols_by_section(symtab, {name for name, _ in defsym})
    for out in linked.sections:
        lines.append("")
        lines += _section_line(out.name, f"{hexa(out.addr)} {out.size:#10x}", indent="")
        at = out.addr
        for sec, offset in zip(out.inputs, out.offsets):
            start = out.addr + offset
            if start > at:
                lines.append(f" {'*fill*':<{_NAME_WIDTH - 1}}{hexa(at)} {start - at:#10x} ")
            path = sec.file.path if sec.file.path != _SYNTHETIC else "linker stubs"
            lines += _section_line(sec.name, f"{hexa(start)} {sec.size:#10x} {path}")
            for value, symbol in sorted(defined_in.get(id(sec), [])):
                lines.append(" " * _NAME_WIDTH + hexa(start + value) + " " * 16 + symbol)
            at = start + sec.size
    lines += ["", f"OUTPUT({output} {linked.bfd_name})"]
    return "\n".join(lines) + "\n"


def _section_line(name: str, rest: str, indent: str = " ") -> list[str]:
    """`name` then its columns, on one line when the name fits its column."""
    head = indent + name
    if len(head) < _NAME_WIDTH:
        return [f"{head:<{_NAME_WIDTH}}{rest}"]
    return [head, " " * _NAME_WIDTH + rest]


def _symbols_by_section(symtab: SymbolTable, assigned: set[str]
                        ) -> dict[int, list[tuple[int, str]]]:
    """Each input section's global symbols, as (offset in the section, name); --defsym
    names are listed as assignments instead."""
    out: dict[int, list[tuple[int, str]]] = {}
    for sym in symtab.symbols:
        if (sym.file is not None and sym.section is not None and not sym.common
                and sym.name not in assigned):
            out.setdefault(id(sym.section), []).append((sym.value, sym.name))
    return out
