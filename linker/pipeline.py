"""The back half of every final link, ELF or Mach-O: one driver over a format's parts.

After load and resolve, every output format goes through the same steps in the same
order; only what happens inside some of them is the format's own:

    prepare     rewrites decided before scan (merged strings, .ctors, GOT/TLS relaxation)
    scan        flag what each symbol needs (GOT slot, PLT entry or stub, COPY, binds)
    synthesize  the GOT, PLT, stubs, stub helper and lazy pointers as an ordinary object
                with relocations; records of what dyld or ld.so must fix up
    collect     input sections -> output sections (the format's names and order)
    plan        tables whose size must be known before layout (.dynsym, .rela.dyn;
                Mach-O's load commands)
    lay out     segments, addresses and file offsets
    addresses   every symbol's address, GOT slot and PLT entry
    fill        the image: input bytes copied, tables that need addresses rendered, the
                synthetic records that only layout could complete (lazy-bind offsets)
    apply       ONE relocation pass over user code and linker-made code alike
    write       the format's headers and tables around the image

The driver owns the order and the relocation pass; a format supplies the rest through
`FormatParts` (elf/link.py's `ElfParts`, macho/link.py's `MachoParts`).  A format keeps
its own state between the steps (its options, output-section dictionary, dynamic tables),
so the protocol's signatures carry only what every format shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .apply import SymbolAddresses, apply_relocations
from .layout import Layout, OutputSection
from .records import dataclass
from .resolve import SymbolTable
from .scan import ScanResult
from .synth import Synthetic


@dataclass(frozen=True)
class RelocationFrame:
    """What the relocation pass needs beyond addresses: the GOT base of GOT-relative kinds
    (ELF's _GLOBAL_OFFSET_TABLE_; Mach-O has none), the thread pointer and TLS block start,
    and the value a reference into a discarded section gets in a debug section."""

    got_base: int = 0
    thread_pointer: int = 0
    tls_start: int = 0
    tombstone: Callable[[str], int] | None = None


@dataclass
class LinkedImage:
    """A finished link, format-neutral: the bytes, and what the maps and the API report."""

    data: bytes | bytearray
    target: str  # the --target name (elf64-x86-64, macho-i386 ...)
    bfd_name: str  # what GNU's text map calls the output format (elf32-i386, mach-o-i386)
    word: int
    sections: list[OutputSection]  # every output section in header order
    syms: SymbolAddresses
    entry: int
    needed: tuple[str, ...]  # DT_NEEDED / LC_LOAD_DYLIB names


class FormatParts(Protocol):
    """One output format's side of the back half (see the module docstring)."""

    symtab: SymbolTable

    def prepare(self) -> None: ...

    def scan(self) -> ScanResult: ...

    def synthesize(self, scan: ScanResult) -> Synthetic: ...

    def collect(self) -> None: ...

    def plan(self) -> None: ...

    def lay_out(self) -> Layout: ...

    def addresses(self, layout: Layout) -> SymbolAddresses: ...

    def fill(self, layout: Layout, syms: SymbolAddresses) -> tuple[bytearray, RelocationFrame]:
        ...

    def write(self, image: bytearray) -> LinkedImage: ...


def run_back_half(parts: FormatParts) -> LinkedImage:
    """Scan, synthesize, collect, plan, lay out, fill, apply, write: the one order."""
    parts.prepare()
    scan = parts.scan()
    synthetic = parts.synthesize(scan)
    parts.collect()
    parts.plan()
    layout = parts.lay_out()
    syms = parts.addresses(layout)
    image, frame = parts.fill(layout, syms)
    apply_relocations(image, parts.symtab, layout, syms, scan, synthetic, frame.got_base,
                      frame.thread_pointer, frame.tls_start, frame.tombstone)
    return parts.write(image)
