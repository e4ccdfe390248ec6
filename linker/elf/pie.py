"""Position-independent executables: the RELATIVE relocations that rebase a PIE.

scan.py decides which words hold an address inside the image (its PIE column); this module
turns those words, and the GOT slots of symbols defined in the output, into RELATIVE
dynamic relocations at the front of .rela.dyn (.rel.dyn), counted by DT_RELACOUNT
(DT_RELCOUNT) so that ld.so can apply them in one tight loop, as GNU ld's `-z combreloc`
sorts them.  The field itself keeps its link-time value (apply.py writes it as in any
executable): a RELA addend is read back from it after the relocation pass, and a REL
relocation's addend is that field.

What is *not* made RELATIVE, because ld.so rebases it by itself: the lazy .got.plt slots
(ld.so adds the load base to each JUMP_SLOT before first use), .got.plt[0] (`_DYNAMIC`'s
link-time address, which glibc no longer reads), IRELATIVE addends, and the addresses in
.dynamic and .dynsym.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..model import InputSection
from ..resolve import SymbolTable
from ..scan import ScanResult, is_tls_key, moves_with_image
from ..synth import Synthetic
from ..targets import ArchTraits
from .dynamic import DynamicTables, DynReloc

DF_1_PIE = 0x08000000
DT_RELACOUNT, DT_RELCOUNT = 0x6FFFFFF9, 0x6FFFFFFA


class FieldReader(Protocol):
    """Addresses after layout, and the link-time value of a word once relocations are
    applied."""

    def address_of(self, sec: InputSection) -> int: ...

    def read_word(self, sec: InputSection, offset: int, width: int) -> int: ...


def plan_relative(tables: DynamicTables, arch: ArchTraits, fields: FieldReader,
                  synthetic: Synthetic, scan: ScanResult, symtab: SymbolTable) -> None:
    """Put a RELATIVE relocation at the front of .rela.dyn for every word of a PIE that
    holds an address in the image: the words scan.py found and the GOT slots of symbols
    defined in the output (a static GOT slot's value is the symbol's link-time address)."""
    sites: list[tuple[InputSection, int]] = [(s.section, s.offset) for s in scan.relative_words]
    if synthetic.got is not None:
        for key, offset in synthetic.got_slot_offset.items():
            # a preemptible symbol's slot is ld.so's (GLOB_DAT), not a rebased constant
            if _slot_moves(key, symtab) and not scan.is_preemptible(key):
                sites.append((synthetic.got, offset))
    relocs = [DynReloc(_at(fields, sec, offset), arch.dyn.relative, 0,
                       addend_at=_value_at(fields, sec, offset, arch.word)
                       if arch.is_rela else None)
              for sec, offset in sites]
    tables.rela_dyn[:0] = relocs
    tables.relative_count = len(relocs)


def _slot_moves(key: object, symtab: SymbolTable) -> bool:
    if is_tls_key(key):
        return False  # offsets and module ids, never addresses
    if isinstance(key, int):
        return moves_with_image(symtab, None, key, 0)
    assert isinstance(key, tuple)
    number, index = key
    return moves_with_image(symtab, symtab.objects[number], -1, index)


def _at(fields: FieldReader, sec: InputSection, offset: int) -> Callable[[], int]:
    return lambda: fields.address_of(sec) + offset


def _value_at(fields: FieldReader, sec: InputSection, offset: int,
              width: int) -> Callable[[], int]:
    return lambda: fields.read_word(sec, offset, width)


def sort_relative(relocs: list[DynReloc], count: int) -> list[DynReloc]:
    """The RELATIVE relocations (the first `count`) in address order, then the rest."""
    return sorted(relocs[:count], key=lambda r: r.where()) + relocs[count:]
