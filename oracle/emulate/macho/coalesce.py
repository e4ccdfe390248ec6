"""dyld's weak-definition coalescing: after every image of the launch is bound, each name
that some image binds weakly (its weak-bind stream, or a chained-fixup import of
BIND_SPECIAL_DYLIB_WEAK_LOOKUP) gets one definition for the whole process, and every
weakly bound site in every image is rewritten to it.

The images that take part are those whose header says so (MH_WEAK_DEFINES: it exports a
weak definition; MH_BINDS_TO_WEAK: it has weak binds); an image without either flag is
neither searched nor rewritten.  The definition chosen is the first non-weak export of the
name among the taking part images in load order (the main executable first, then the
dylibs in the order they were loaded), else the first weak one.  An image loaded later
(dlopen) has its own sites bound the same way over every image loaded so far, itself last;
what was bound before stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.dylib_images import export_entries
from oracle.emulate.macho.image import MachOImage

MH_WEAK_DEFINES, MH_BINDS_TO_WEAK = 0x8000, 0x10000
EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION = 0x4
WEAK_LOOKUP = -3  # BIND_SPECIAL_DYLIB_WEAK_LOOKUP


@dataclass(frozen=True)
class WeakSite:
    address: int  # loaded address of the pointer
    symbol: str
    addend: int


def takes_part(img: MachOImage) -> bool:
    return bool(img.flags & (MH_WEAK_DEFINES | MH_BINDS_TO_WEAK))


def _exports(img: MachOImage) -> dict[str, tuple[int, bool]]:
    """name -> (loaded address, weak definition?) of the image's exports."""
    try:
        entries = export_entries(img)
    except mi.MachOError:
        return {}  # the image's own binder reports its malformed trie
    return {e.name: (e.address, bool(e.flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION))
            for e in entries}


def definition(name: str, tables: list[dict[str, tuple[int, bool]]]) -> int | None:
    """The address every weak binding of `name` gets: the first non-weak export among the
    images that take part (`tables`, their exports in load order), else the first weak one
    (None: no image exports it)."""
    first_weak = None
    for table in tables:
        found = table.get(name)
        if found is None:
            continue
        address, weak = found
        if not weak:
            return address
        if first_weak is None:
            first_weak = address
    return first_weak


def coalesce(images: list[MachOImage], sites: list[list[WeakSite]],
             store: Callable[[int, int], None]) -> None:
    """Rewrite `sites[i]` (image i's weak sites; images in load order) through `store`
    (address, value) for every image that takes part."""
    if not any(sites):
        return
    tables = [_exports(img) for img in images if takes_part(img)]
    chosen: dict[str, int | None] = {}
    for img, own in zip(images, sites):
        if not takes_part(img):
            continue
        for site in own:
            if site.symbol not in chosen:
                chosen[site.symbol] = definition(site.symbol, tables)
            target = chosen[site.symbol]
            if target is not None:
                store(site.address, target + site.addend)
