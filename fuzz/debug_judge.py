"""What the ELF properties require of a linked program's debug information beyond the
checker's DWARF rules and the field oracle (issue 18, item 4): two claims of the linker's,
which a correct-but-different linker output could break without being invalid, so they
are judged here, where the inputs are known, and not in `linkharness check`.

* Strings merged: every SHF_MERGE|SHF_STRINGS output section (`.debug_str`,
  `.debug_line_str`, `.rodata.str*`) holds each string once, as GNU ld, lld and mold
  write them (README: "merged").
* Code described: when the program was assembled with debug information (every object:
  the properties assemble all of a program's objects alike), each function of the output
  lies in some compile unit's `.debug_aranges` range.  The field oracle must accept a
  tombstone in any COMDAT member's field (which copy survives depends on the link
  order); this is what notices a tombstone written over the surviving copy's address.
"""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


def _add(seen: set[bytes], item: bytes) -> bool:
    seen.add(item)
    return False


def merged_strings(output: Path) -> list[str]:
    problems = []
    with open(output, "rb") as fh:
        elf = ELFFile(fh)
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if not (flags & SH_FLAGS.SHF_MERGE and flags & SH_FLAGS.SHF_STRINGS) \
                    or sec["sh_entsize"] != 1 or flags & 0x800:  # SHF_COMPRESSED: skip
                continue
            strings = sec.data().split(b"\0")[:-1]
            seen: set[bytes] = set()
            twice = [s for s in strings if s in seen or _add(seen, s)]
            if twice:
                problems.append(f"strings not merged: {sec.name} holds {twice[0]!r} "
                                f"{strings.count(twice[0])} times")
    return problems


def described_code(output: Path) -> list[str]:
    with open(output, "rb") as fh:
        elf = ELFFile(fh)
        if elf.get_section_by_name(".debug_aranges") is None:
            return []
        # An executable's DWARF is already relocated: the .rel(a).debug_* sections that
        # --emit-relocs keeps must not be applied again (a REL field would be added twice).
        aranges = elf.get_dwarf_info(relocate_dwarf_sections=False).get_aranges()
        if aranges is None:
            return []
        ranges = [(e.begin_addr, e.begin_addr + e.length) for e in aranges.entries
                  if e.begin_addr]
        symtab = elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return []
        problems = []
        for sym in symtab.iter_symbols():
            if sym["st_info"]["type"] != "STT_FUNC" or not sym["st_size"] \
                    or not isinstance(sym["st_shndx"], int):
                continue
            address = sym["st_value"]
            if not any(lo <= address < hi for lo, hi in ranges):
                problems.append(f"debug information: function {sym.name} at {address:#x} is "
                                "in no compile unit's .debug_aranges range")
    return problems[:1]


def debug_info(output: Path) -> list[str]:
    return [*merged_strings(output), *described_code(output)]
