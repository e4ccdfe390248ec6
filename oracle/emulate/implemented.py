"""What the emulated libraries implement, for `linkharness run --list-libc`: the names a
program may import without an "unimplemented" fault."""

from __future__ import annotations

from oracle.emulate.libc_binding import libc_exports
from oracle.emulate.libm import libm_exports
from oracle.emulate.libraries import LIBC_DATA


def implemented() -> list[tuple[str, str]]:
    """(library, name) pairs, sorted: libc.so.6 (functions of both ABIs, and its data
    objects marked "(data)"), libm.so.6, and libSystem.B.dylib's own names (it also
    provides every libc.so.6 and libm.so.6 name, with the leading underscore of Darwin
    symbols)."""
    libc = set(libc_exports(8)) | set(libc_exports(4))
    rows = [("libc.so.6", name) for name in sorted(libc)]
    rows += [("libc.so.6", f"{name} (data)") for name in sorted(LIBC_DATA)]
    rows += [("libm.so.6", name) for name in sorted(libm_exports())]
    rows += [("libSystem.B.dylib", name) for name in sorted(_darwin_names() - libc)]
    return rows


def _darwin_names() -> set[str]:
    """The Darwin-only names (C spelling), if the emulated dyld is there to ask."""
    try:
        from oracle.emulate.macho.libraries import DARWIN_DATA, LibSystem
    except ImportError:
        return set()
    names: set[str] = set()
    for word in (8, 4):
        system = LibSystem("/usr/lib/libSystem.B.dylib", word)
        names |= set(system._darwin)  # a read-only look at its table of Darwin-only names
        names |= set(system._threads)  # pthreads
    return names | {f"{name} (data)" for name in DARWIN_DATA}
