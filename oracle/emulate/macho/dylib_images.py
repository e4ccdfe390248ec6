"""Real dylibs under the emulated dyld: a dylib file (linkharness's, ld64.lld's, any
linker's) named by an LC_LOAD_DYLIB is loaded as code, not emulated.

- Found by the basename of its install name (`@rpath/libfoo.dylib`, `/usr/local/lib/
  libfoo.dylib`: libfoo.dylib) in the run's library directories, then the executable's
  own directory; host paths are never opened as such.  libSystem and libtrace* stay
  emulated (libraries.py).
- Loaded at a base that changes from run to run: dyld slides every dylib (it is linked at
  0), so a pointer the linker forgot to rebase points at nothing mapped.  The slides are
  drawn from the run's seed (`run(..., seed=N)`, `linkharness run --seed N`: a fresh one
  by default, reported with a fault), so a run can be repeated exactly.
- Its exports come from its export trie (LC_DYLD_INFO's or LC_DYLD_EXPORTS_TRIE), each at
  the slid image's header plus the trie's offset: that is what another image's bind by
  ordinal resolves to.  The image itself is rebased and bound by its own Binder (its own
  library ordinals, its own lazy binding through its own stubs and dyld_stub_binder).
"""

from __future__ import annotations

import dataclasses
import functools
import random
from dataclasses import dataclass
from pathlib import Path

from oracle.emulate.macho.image import MachOError, MachOImage
from oracle.emulate.macho.libraries import Resolved
from oracle.emulate.macho.opcodes import CACHED_STREAM, OpcodeError, read_uleb
from oracle.emulate.macho.slide import SlidImage
from oracle.emulate.memory import PAGE
from oracle.emulate.process import Process
from oracle.records import quick_init, replaced

EXPORT_KIND_MASK, EXPORT_KIND_ABSOLUTE = 0x3, 0x2
EXPORT_REEXPORT, EXPORT_STUB_AND_RESOLVER = 0x8, 0x10
SLIDE_PAGES = {8: 0x10000, 4: 0x1000}  # how far (in pages) a dylib may move: 256 or 16 MiB
GAP = 0x100000  # between consecutive dylibs


def find_dylib(install_name: str, dirs: list[Path]) -> Path | None:
    name = install_name.rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        return None
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


class Slides:
    """Where each dylib of one run goes: above `region`, one after the other, each a
    random number of pages further, drawn from the run's seed."""

    def __init__(self, region: int, word: int, seed: int) -> None:
        self.rng = random.Random(f"macho dylibs/{seed}")
        self.cursor = region
        self.word = word

    def place(self, img: MachOImage) -> int:
        """The slide for `img` (linked where its segments say)."""
        low = min((s.vmaddr for s in img.segments if s.vmsize), default=0)
        high = max((s.vmaddr + s.vmsize for s in img.segments if s.vmsize), default=0)
        start = self.cursor + PAGE * self.rng.randrange(SLIDE_PAGES[self.word])
        start -= start % PAGE
        self.cursor = start + (high - low + PAGE - 1) // PAGE * PAGE + GAP
        return start - low


def slid(img: MachOImage, slide: int) -> MachOImage:
    """`img` as loaded `slide` bytes above its link address (as slide.load_address does
    for an MH_PIE executable)."""
    fields = {f.name: getattr(img, f.name) for f in dataclasses.fields(img)}
    fields.pop("slide", None)
    fields["segments"] = [
        replaced(seg, vmaddr=seg.vmaddr + slide, sections=tuple(
            replaced(sect, addr=sect.addr + slide) for sect in seg.sections))
        for seg in img.segments]
    return SlidImage(**fields, slide=slide)


@quick_init
@dataclass(frozen=True)
class ExportEntry:
    name: str
    flags: int
    address: int  # the loaded address (the header's plus the offset); absolute: the value

    @property
    def absolute(self) -> bool:
        return self.flags & EXPORT_KIND_MASK == EXPORT_KIND_ABSOLUTE


def export_entries(img: MachOImage) -> list[ExportEntry]:
    """Every regular or absolute export in the image's trie (re-exports and
    stub-and-resolver exports aside).  MachOError when the trie is malformed."""
    if img.dyld_info is not None and img.dyld_info.export[1]:
        trie = img.bytes_at(*img.dyld_info.export, "export trie")
    elif img.exports_trie is not None and img.exports_trie[1]:
        trie = img.bytes_at(*img.exports_trie, "LC_DYLD_EXPORTS_TRIE")
    else:
        return []
    base = img.header_address()
    if len(trie) > CACHED_STREAM:
        return list(_trie_entries.__wrapped__(trie, base))
    return list(_trie_entries(trie, base))


@functools.lru_cache(maxsize=256)
def _trie_entries(trie: bytes, base: int) -> tuple[ExportEntry, ...]:
    """export_entries' decoding, kept by contents: the checker's rules and each run of the
    emulated dyld (lazy, then eager) ask for the same trie."""
    out: list[ExportEntry] = []
    pending = [(0, b"")]
    seen: set[int] = set()
    try:
        while pending:
            node, prefix = pending.pop()
            if node in seen or node >= len(trie):
                raise MachOError("export trie", f"node {node:#x} is reached twice or outside")
            seen.add(node)
            size, pos = read_uleb(trie, node, "export")
            children = pos + size
            if size:
                flags, pos = read_uleb(trie, pos, "export")
                if not flags & (EXPORT_REEXPORT | EXPORT_STUB_AND_RESOLVER):
                    offset, _ = read_uleb(trie, pos, "export")
                    absolute = flags & EXPORT_KIND_MASK == EXPORT_KIND_ABSOLUTE
                    out.append(ExportEntry(prefix.decode("utf-8", "replace"), flags,
                                           offset if absolute else base + offset))
            if children >= len(trie):
                raise MachOError("export trie", f"node {node:#x} runs past the trie")
            pos = children + 1
            for _ in range(trie[children]):
                end = trie.find(b"\0", pos)
                if end < 0:
                    raise MachOError("export trie", "an edge label is not terminated")
                label = trie[pos:end]
                child, pos = read_uleb(trie, end + 1, "export")
                pending.append((child, prefix + label))
    except OpcodeError as err:
        raise MachOError("export trie", str(err)) from None
    return tuple(out)


def exports(img: MachOImage) -> dict[str, int]:
    """Name -> loaded address of every export (export_entries)."""
    return {e.name: e.address for e in export_entries(img)}


@dataclass
class ImageDylib:
    """A loaded image (a real dylib, or the main executable for flat lookup) as the
    binder sees a library: names to addresses."""

    install_name: str
    img: MachOImage
    table: dict[str, int]

    def resolve(self, symbol: str, process: Process) -> Resolved | None:
        address = self.table.get(symbol)
        return None if address is None else Resolved(address=address)
