"""GNU ld's -t/--trace and -y SYM/--trace-symbol: what the link read, and where the named
symbols are defined and referenced.  Printed to stdout after loading, objects in the order
they were loaded and then the shared libraries (GNU ld interleaves them as it opens them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .model import COMMON, UNDEF

if TYPE_CHECKING:
    from .resolve import SymbolTable

_SYNTHETIC = "<linker>"


def print_traces(symtab: SymbolTable, trace: bool, names: Sequence[str]) -> None:
    wanted = set(names)
    for obj in symtab.objects:
        if obj.path == _SYNTHETIC:
            continue
        if trace:
            print(obj.path)
        if not wanted:
            continue
        t = obj.symbols
        for i, name in enumerate(t.names):
            if name in wanted and i > 0:
                shndx = int(t.section[i])
                what = ("reference to" if shndx == UNDEF
                        else "common of" if shndx == COMMON else "definition of")
                print(f"linkharness: {obj.path}: {what} {name}")
    for lib in symtab.libraries:
        if trace:
            print(lib.path)
        for name in names:
            if name in lib.symbols:
                print(f"linkharness: {lib.path}: definition of {name}")
