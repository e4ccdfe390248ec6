"""The `.tbd` stubs (tapi v4) of the libtrace dylibs: install name /usr/lib/libtraceN.dylib,
exporting every catalogue symbol of library N with Darwin's leading underscore, for
both x86_64-macos and i386-macos.  The
emulated dyld recognises any install name whose basename starts with libtrace."""

from __future__ import annotations

from pathlib import Path

from .. import libtrace


def install_name(library: int) -> str:
    return f"/usr/lib/libtrace{library}.dylib"


def tbd_text(library: int) -> str:
    names = [f"_{imp.name}" for imp in libtrace.catalogue() if imp.library == library]
    return (
        "--- !tapi-tbd\n"
        "tbd-version:     4\n"
        "targets:         [ x86_64-macos, i386-macos ]\n"
        f"install-name:    '{install_name(library)}'\n"
        "current-version: 1\n"
        "compatibility-version: 1\n"
        "exports:\n"
        "  - targets:         [ x86_64-macos, i386-macos ]\n"
        f"    symbols:         [ {', '.join(names)} ]\n"
        "...\n"
    )


def write_tbds(directory: Path, libraries: tuple[int, ...]) -> list[Path]:
    """libtraceN.tbd for every N in `libraries`, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in libraries:
        path = directory / f"libtrace{n}.tbd"
        path.write_text(tbd_text(n))
        paths.append(path)
    return paths
