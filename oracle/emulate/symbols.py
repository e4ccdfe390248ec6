"""Naming addresses in faults: the nearest preceding symbol of the executable (.symtab,
else .dynsym), read with pyelftools only when a fault needs it."""

from __future__ import annotations

import bisect
import io
import struct

MAX_DISTANCE = 0x10000  # farther than this from any symbol: no name


class Symbolizer:
    def __init__(self, data: bytes, bias: int) -> None:
        self._data = data
        self._bias = bias
        self._starts: list[int] | None = None
        self._names: list[str] = []

    def _load(self) -> None:
        # pyelftools is imported here, when a fault first asks for a name: a Mach-O run
        # never needs it, and importing it is a fifth of `linkharness run`'s start
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection

        table: dict[int, tuple[str, int]] = {}
        try:
            elf = ELFFile(io.BytesIO(self._data))
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.iter_symbols():
                    kind = sym["st_info"]["type"]
                    if (not sym.name or sym["st_shndx"] == "SHN_UNDEF"
                            or kind not in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")):
                        continue
                    addr = sym["st_value"] + self._bias
                    if addr not in table or (table[addr][1] == 0 and sym["st_size"]):
                        table[addr] = (sym.name, sym["st_size"])
        except (ELFError, ValueError, KeyError, OverflowError, MemoryError, AssertionError,
                struct.error, UnicodeError):
            pass  # a hostile symbol table names nothing (pyelftools seeks where it says)
        self._starts = sorted(table)
        self._names = [table[a][0] for a in self._starts]

    def __call__(self, addr: int) -> str | None:
        if self._starts is None:
            self._load()
        assert self._starts is not None
        index = bisect.bisect_right(self._starts, addr) - 1
        if index < 0:
            return None
        offset = addr - self._starts[index]
        if offset > MAX_DISTANCE:
            return None
        name = self._names[index]
        return name if offset == 0 else f"{name}+{offset:#x}"


class AddressSpaceSymbols:
    """Names for the whole address space: each loaded object's symbols over its range
    (the executable's everywhere else), qualified with the library's name."""

    def __init__(self, executable: Symbolizer) -> None:
        self._executable = executable
        self._libraries: list[tuple[int, int, str, Symbolizer]] = []

    def add_library(self, start: int, end: int, name: str, symbols: Symbolizer) -> None:
        self._libraries.append((start, end, name, symbols))

    def __call__(self, addr: int) -> str | None:
        for start, end, name, symbols in self._libraries:
            if start <= addr < end:
                found = symbols(addr)
                return f"{name}:{found}" if found else name
        return self._executable(addr)
