"""Symbol addresses: per global id, the address, GOT slot, PLT entry and size that the
relocation pass (apply.py) and the writers read, computed once layout is done.

Column-wise for a large link (a pass per attribute over the symbols, the rest in
arrays), with the walk one symbol at a time kept for a small link and for an unusual
value, where it raises the first symbol's error.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

from .errors import LinkError
from .layout import Layout
from .model import ObjectFile
from .records import dataclass
from .resolve import SymbolTable
from .scan import ScanResult
from .synth import Synthetic
from .targets import arch_of


@dataclass(frozen=True)
class SymbolAddresses:
    """Per global id: address, GOT slot address, PLT entry address, size (0 when none)."""

    address: np.ndarray
    got: np.ndarray
    plt: np.ndarray
    size: np.ndarray


def symbol_addresses(
    symtab: SymbolTable, layout: Layout, synthetic: Synthetic, scan: ScanResult,
    linker_defined: dict[str, int],
) -> SymbolAddresses:
    n = len(symtab.symbols)
    got_base = layout.address_of(synthetic.got) if synthetic.got is not None else 0
    plt_base = layout.address_of(synthetic.plt) if synthetic.plt is not None else 0
    # a few dozen symbols (a small link) cost less one at a time than in a score of
    # array operations; both give the same answers
    columns = _addresses_in_bulk(symtab, layout, linker_defined) if n > _FEW_SYMBOLS else None
    if columns is None:  # an unusual value somewhere: one at a time, with its error
        columns = _addresses_one_by_one(symtab, layout, linker_defined)
    address, size = columns
    got = np.zeros(n, dtype=np.int64)
    plt = np.zeros(n, dtype=np.int64)
    for i, offset in synthetic.plt_entry_offset.items():
        if isinstance(i, int):
            plt[i] = plt_base + offset
            if i in scan.canonical:
                address[i] = plt[i]  # canonical: the PLT entry stands for the function
    for key, offset in synthetic.got_slot_offset.items():
        if isinstance(key, int):
            got[key] = got_base + offset
    if synthetic.iplt is not None:
        iplt_base = layout.address_of(synthetic.iplt)
        for key, offset in synthetic.iplt_entry_offset.items():
            if isinstance(key, int):
                # An IFUNC's address, everywhere, is its .iplt entry.
                address[key] = plt[key] = iplt_base + offset
    return SymbolAddresses(address, got, plt, size)


_FEW_SYMBOLS = 64


def _addresses_in_bulk(symtab: SymbolTable, layout: Layout, linker_defined: dict[str, int]
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """(address, size) per global id, computed column-wise; None when a value or size
    is outside int64 or an address outside 32 bits (then `_addresses_one_by_one` gives
    the same answer, or the first symbol's error)."""
    symbols = symtab.symbols
    n = len(symbols)
    try:
        size = np.fromiter(map(_SIZE, symbols), np.int64, n)
        value = np.fromiter(map(_VALUE, symbols), np.int64, n)
    except OverflowError:
        return None
    sections = list(map(_SECTION, symbols))
    has_file = np.array([s.file is not None for s in symbols], dtype=bool)
    has_section = np.fromiter(map(operator.is_not, sections, itertools.repeat(None)), bool, n)
    is_linker_defined = np.fromiter(map(_LINKER_DEFINED, symbols), bool, n)
    absolute = has_file & ~is_linker_defined & ~has_section \
        & np.fromiter(map(_ABSOLUTE, symbols), bool, n)
    placed = has_file & ~is_linker_defined & ~absolute
    base = np.fromiter(map(layout.section_address.get, map(id, sections),
                           itertools.repeat(0)), np.int64, n)
    address = np.where(placed, base + value, 0)
    if (size < 0).any() or (placed & ((value < 0) | (value >= 1 << 32) | (address < 0)
                                      | (address >= 1 << 32))).any():
        return None
    for g in np.flatnonzero(is_linker_defined).tolist():
        address[g] = linker_defined.get(symbols[g].name, 0)
    for g in np.flatnonzero(absolute).tolist():
        sym = symbols[g]
        assert sym.file is not None
        address[g] = absolute_word(sym.value, arch_of(sym.file.arch).word_bits)
    return address, size


def _addresses_one_by_one(symtab: SymbolTable, layout: Layout,
                          linker_defined: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(address, size) per global id, a Python step per symbol: every value is checked,
    and the first bad one is the link's error."""
    n = len(symtab.symbols)
    address = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    for sym in symtab.symbols:
        i = sym.id
        if not 0 <= sym.size < 1 << 63:
            where = sym.file if sym.file is not None else sym.dso  # a library's, too
            raise LinkError(f"symbol size {sym.size:#x} is past any address space",
                            file=where.path if where is not None else None,
                            symbol=sym.name)
        size[i] = sym.size
        if sym.linker_defined:
            address[i] = linker_defined.get(sym.name, 0)
        elif sym.file is not None and sym.section is None and sym.absolute:
            address[i] = absolute_word(sym.value, arch_of(sym.file.arch).word_bits)
        elif sym.file is not None:
            base = (layout.section_address.get(id(sym.section), 0)
                    if sym.section is not None else 0)
            address[i] = _representable_address(base + sym.value, sym.value, sym.file,
                                                sym.name)
    return address, size


_SECTION, _LINKER_DEFINED, _ABSOLUTE, _SIZE, _VALUE = map(
    operator.attrgetter, ("section", "linker_defined", "absolute", "size", "value"))


def absolute_word(value: int, bits: int = 64) -> int:
    """An absolute (SHN_ABS) symbol's value as the int64 the address arrays hold.

    Its st_value is a word (64 or, i386, 32 bits), not an address in the image:
    `.set x, -0x8000` gives 0xffffffffffff8000 (0xffff8000), which GNU ld and lld link
    (S + A is computed modulo the word, so a 16-bit field gets `00 80`).  Read as two's
    complement, every such word fits; the writers mask it back to unsigned."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _representable_address(address: int, value: int, file: ObjectFile, name: str) -> int:
    """`address`, or a LinkError when a symbol's value (from a hostile or broken input)
    puts it outside the target's address space."""
    # x86-64: below 2**63, which the int64 arrays and the output's fields all hold (user
    # space ends at 2**47 anyway)
    bits = arch_of(file.arch).address_bits
    if not 0 <= address < 1 << bits:
        raise LinkError(f"symbol address {address:#x} (section address + value {value:#x}) "
                        f"is outside the {bits}-bit address space", file=file.path,
                        symbol=name)
    return address


