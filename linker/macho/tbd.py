"""Text-based dylib stubs (.tbd, "tapi" YAML v3 and v4) -> DynamicLibrary.

A .tbd lists what a dylib exports without its code: the install name (what LC_LOAD_DYLIB
records and dyld opens) and the symbol names, per architecture (v3 `archs`) or target
(v4 `targets`, e.g. x86_64-macos).  It says nothing about symbol types or sizes; every
export is taken as a function of unknown size, which is all a Mach-O link needs, since
compilers reach imported data through the GOT (there are no COPY relocations in Mach-O).

Also here: `--import SYM@INSTALL_NAME` imports with no stub file (the seed's
`dynimport`), and the embedded default libSystem stub that makes `-lSystem` work with no
SDK.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from typing import Any

import yaml

from ..errors import LinkError
from ..model import DynamicLibrary, DynamicSymbol, SymType

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
_SYMBOL_KEYS = ("symbols", "weak-symbols", "weak-def-symbols", "objc-classes",
                "objc-eh-types", "objc-ivars")


class _Loader(yaml.BaseLoader):
    """A loader that reads `--- !tapi-tbd` / `!tapi-tbd-v3` documents as plain mappings,
    every scalar a string: a stub's values are names and versions, and resolving them
    as YAML 1.1 numbers, dates or floats only lets a hostile stub reach int() with 5,000
    digits (ValueError)."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _tagged)


@functools.lru_cache(maxsize=64)
def _documents(text: str) -> tuple[Any, ...]:
    """The stub's YAML documents, parsed once per text: PyYAML's pure-Python parser takes
    some 10 ms for libSystem's stub, and every Mach-O link reads it and the same small
    stubs again.  The documents are only read, never changed (read_tbd builds fresh
    libraries from them); a text that fails to parse raises, and is not cached."""
    return tuple(d for d in yaml.load_all(text, Loader=_Loader) if d is not None)


def read_tbd(text: str, path: str, arch: str = "x86_64") -> list[DynamicLibrary]:
    """Every document of the stub that covers `arch`, as libraries (the first is the
    stub's own install name; the rest are what it re-exports, e.g. libsystem_c)."""
    try:
        docs = _documents(text)
    except RecursionError:  # flow collections nested thousands deep
        raise LinkError("malformed .tbd YAML: nested too deeply", file=path) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())  # one line
        raise LinkError(f"malformed .tbd YAML{line}: {problem}", file=path,
                        offset=mark.index if mark is not None else None) from None
    libs = []
    for doc in docs:
        if not isinstance(doc, dict) or "install-name" not in doc:
            raise LinkError("a .tbd document without install-name", file=path)
        symbols: dict[str, DynamicSymbol] = {}
        for block in _listed(doc, "exports", path):
            if not isinstance(block, dict) or not _covers(block, arch, path):
                continue
            for key in _SYMBOL_KEYS:
                for name in _listed(block, key, path):
                    name = _name(name, key, path)
                    if key.startswith("objc"):
                        name = f"_OBJC_CLASS_$_{name}" if key == "objc-classes" else name
                    symbols[name] = DynamicSymbol(name, SymType.FUNC, 0,
                                                  weak=key.startswith("weak"))
        libs.append(DynamicLibrary(path=path, soname=_name(doc["install-name"],
                                                           "install-name", path),
                                   symbols=symbols, macho_versions=_versions(doc, path)))
    if not libs:
        raise LinkError("empty .tbd file", file=path)
    return libs


def _versions(doc: dict[str, Any], path: str) -> tuple[int, int]:
    """(current, compatibility) version, as LC_LOAD_DYLIB records them: ld64 copies the
    stub's (absent: 1.0.0).  dyld refuses to load a library whose compatibility version
    is below the recorded one, so recording 1.0.0 for a stub that says 0 was wrong."""
    from .cli import parse_version

    versions = []
    for key in ("current-version", "compatibility-version"):
        value = doc.get(key, "1")
        if not isinstance(value, str):
            raise LinkError(f"malformed .tbd: {key} is not a version", file=path)
        try:
            versions.append(parse_version(value))
        except LinkError as err:
            raise LinkError(f"malformed .tbd: {key}: {err.rule}", file=path) from None
    return versions[0], versions[1]


def _listed(mapping: dict[str, Any], key: str, path: str) -> list[Any]:
    """`mapping[key]`, which a stub writes as a list (absent or empty: none)."""
    value = mapping.get(key) or []
    if not isinstance(value, list):
        raise LinkError(f"malformed .tbd: {key} is not a list", file=path)
    return value


def _name(value: Any, key: str, path: str) -> str:
    """A name in a stub: a string that a Mach-O file can hold (a C string of bytes)."""
    if not isinstance(value, str) or "\0" in value or not value.isprintable() and any(
            0xD800 <= ord(c) <= 0xDFFF for c in value):
        # (a list is named by its type: str() of nested aliases can be exponential)
        shown = value[:40] if isinstance(value, str) else f"a {type(value).__name__}"
        raise LinkError(f"malformed .tbd: a name under {key} is not a string of "
                        f"characters: {shown!r}", file=path)
    return value


def _covers(block: dict[str, Any], arch: str, path: str) -> bool:
    targets = block.get("targets") or block.get("archs") or []
    if not isinstance(targets, list):
        raise LinkError("malformed .tbd: targets is not a list", file=path)
    return any(isinstance(t, str) and t.split("-")[0] == arch for t in targets)


def default_libsystem(arch: str = "x86_64") -> DynamicLibrary:
    text = resources.files(__package__).joinpath("data/libSystem.tbd").read_text()
    return read_tbd(text, "<embedded libSystem.tbd>", arch)[0]


def import_library(spec: str) -> tuple[str, str]:
    """`SYM@INSTALL_NAME` -> (symbol, install name)."""
    symbol, at, install = spec.partition("@")
    if not at or not symbol or not install:
        raise LinkError(f"--import wants SYMBOL@INSTALL_NAME, not {spec!r}")
    return symbol, install


def imports_as_libraries(specs: list[str]) -> list[DynamicLibrary]:
    by_lib: dict[str, dict[str, DynamicSymbol]] = {}
    for spec in specs:
        symbol, install = import_library(spec)
        by_lib.setdefault(install, {})[symbol] = DynamicSymbol(symbol, SymType.FUNC, 0)
    return [DynamicLibrary(path=f"--import {os.path.basename(lib)}", soname=lib, symbols=syms)
            for lib, syms in by_lib.items()]
