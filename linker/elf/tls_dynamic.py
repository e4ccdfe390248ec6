"""The dynamic relocations of TLS GOT slots: what ld.so must write because only it knows
where a module's TLS block lands.

    slot                                   | relocation (symbol: 0 = this module)
    ---------------------------------------+---------------------------------------------
    general dynamic pair, first word       | DTPMOD: the variable's module id
    general dynamic pair, second word      | DTPOFF against a preemptible variable; else
                                           |   the offset, written at link time
    local dynamic pair, first word         | DTPMOD, symbol 0 (the second word stays 0)
    initial exec, preemptible or imported  | TPOFF against the symbol
    initial exec, own variable (shared)    | TPOFF, symbol 0, addend = offset in the block
                                           |   (DF_STATIC_TLS: the block must be static)

An executable's own initial-exec slots are link-time constants (S - TP) and need none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..model import InputSection
from ..scan import TLS_GD, TLS_GOT, TLS_LD, ScanResult
from ..synth import Synthetic
from ..targets import ArchTraits
from .dynamic import DynamicTables, DynReloc


class SlotReader(Protocol):
    def address_of(self, sec: InputSection) -> int: ...

    def read_word(self, sec: InputSection, offset: int, width: int) -> int: ...


def plan_tls_relocations(tables: DynamicTables, arch: ArchTraits, fields: SlotReader,
                         synthetic: Synthetic, scan: ScanResult) -> None:
    got = synthetic.got
    if got is None:
        return
    dyn, word = arch.dyn, arch.word

    def at(offset: int) -> Callable[[], int]:
        return lambda: fields.address_of(got) + offset

    def slot_value(offset: int) -> Callable[[], int] | None:
        # RELA: the addend is the slot's link-time value; REL reads the slot itself
        return (lambda: fields.read_word(got, offset, word)) if arch.is_rela else None

    def symbol(target: object) -> int:
        return tables.index[target] if isinstance(target, int) and scan.is_preemptible(
            target) else 0

    for key, offset in synthetic.got_slot_offset.items():
        if not isinstance(key, tuple) or not key:
            continue
        tag = key[0]
        if tag == TLS_GOT:
            index = symbol(key[1])
            if index or scan.shared:
                tables.rela_dyn.append(DynReloc(at(offset), dyn.tpoff, index, 0,
                                                None if index else slot_value(offset)))
        elif tag == TLS_GD:
            index = symbol(key[1])
            tables.rela_dyn.append(DynReloc(at(offset), dyn.dtpmod, index))
            if index:
                tables.rela_dyn.append(DynReloc(at(offset + word), dyn.dtpoff, index))
        elif tag == TLS_LD:
            tables.rela_dyn.append(DynReloc(at(offset), dyn.dtpmod, 0))
    tables.static_tls = scan.static_tls
