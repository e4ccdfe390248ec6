"""Generated inputs, compiled once and kept under bench/.cache/ keyed by what made them.

The key is a digest of the generator's parameters and of the generator modules' source
text, so changing either makes a fresh directory and an unchanged run reuses the objects.
A directory is built under a temporary name and renamed into place when complete: an
interrupted build is never mistaken for a cached one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / ".cache"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Source:
    """A generated source file: `name` ends in .s (run through `as`) or .c (`gcc -c`)."""

    name: str
    text: str


@dataclass(frozen=True)
class CachedInputs:
    """A directory of compiled objects and the manifest the generator wrote beside them."""

    directory: Path
    manifest: dict[str, Any]


def cache_key(params: dict[str, Any], generators: Iterable[Path]) -> str:
    """A digest of the parameters and of the code that turns them into objects.

    This module is always part of that code: it holds the compiler flags.
    """
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for path in sorted({*generators, Path(__file__).resolve()}):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def compile_command(source: Path, debug: bool = False) -> list[str]:
    """How one generated source becomes `<stem>.o` next to it (`debug`: with DWARF 5, as
    `-g` builds carry it: unit, line table, aranges, strings)."""
    out = str(source.with_suffix(".o"))
    if source.suffix == ".s":
        return ["as", "--64", *(["--gdwarf-5"] if debug else []), "-o", out, str(source)]
    return ["gcc", "-c", "-O2", "-fno-pie", "-o", out, str(source)]


def _compile_all(directory: Path, sources: list[Source], jobs: int, debug: bool = False
                 ) -> None:
    paths = []
    for source in sources:
        path = directory / source.name
        path.write_text(source.text)
        paths.append(path)

    def one(path: Path) -> None:
        done = subprocess.run(compile_command(path, debug), capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{path.name}: {done.stderr.strip()}")
        path.unlink()  # the object is what we keep; the text can be regenerated

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, paths))


def cached_inputs(
    root: Path,
    name: str,
    params: dict[str, Any],
    generators: Iterable[Path],
    make: Callable[[], tuple[list[Source], dict[str, Any]]],
    jobs: int | None = None,
    debug: bool = False,
) -> CachedInputs:
    """The objects for `name` with `params`: from the cache, or made, compiled and stored.

    `make` returns the sources and a JSON-able manifest (what the objects are for: expected
    exit status, relocation count, ...); the manifest is returned with the directory.
    """
    if debug:
        params = {**params, "debug": True}
    directory = root / f"{name}-{cache_key(params, generators)}"
    manifest_path = directory / MANIFEST
    if manifest_path.is_file():
        return CachedInputs(directory, json.loads(manifest_path.read_text()))
    root.mkdir(parents=True, exist_ok=True)
    sources, manifest = make()
    manifest = {"params": params, **manifest}
    building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        _compile_all(building, sources, jobs or os.cpu_count() or 1, debug)
        (building / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        building.rename(directory)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if not manifest_path.is_file():  # another run may have won the race
            raise
    return CachedInputs(directory, manifest)
