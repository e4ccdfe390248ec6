"""What a test program is: its sources, how it is built, and what it must print.

A program is either one file, `tests/programs/NAME.c` (or `.cc`) with `NAME.expect.json`
beside it, or a directory `tests/programs/NAME/` holding several sources and `expect.json`.
The JSON holds the expectation and the build recipe; every key but `stdout` is optional:

    stdout, stderr   what the program writes (stderr is checked only when given)
    exit             its exit status (default 0)
    args, env        command-line arguments and extra environment variables
    cflags           extra compiler flags for every object (e.g. "-fcommon")
    source_cflags    {"file.c": [...]}: extra flags for one source (after cflags), e.g. to mix
                     -fPIC and non-PIC objects in one executable
    sources          the objects of the program proper (default: every source not listed
                     in an archive or a shared library)
    archives         [{"name": "liba.a", "sources": [...]}], built with `ar rcs`
    shared           [{"name": "libs.so", "sources": [...], "version_script": "x.map"}],
                     built with gcc -shared -fPIC (and the optional version script)
    link             the link line after the objects: archive and library names (replaced
                     by their paths) and flags such as "--start-group" or "-lm"
                     (default: archives, then shared libraries)
    variants         the build variants to run (default: the five standard ones)
    extra_variants   variants added to the default set (e.g. "static", "znow")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"
SOURCE_SUFFIXES = (".c", ".cc", ".s")


@dataclass(frozen=True)
class Library:
    """An archive or shared library built from some of the program's sources."""

    name: str
    sources: tuple[str, ...]
    version_script: str | None = None


@dataclass(frozen=True)
class ProgramSpec:
    """One integration program: where its files are, how to build it, what it must do."""

    name: str
    directory: Path
    sources: tuple[str, ...]
    archives: tuple[Library, ...]
    shared: tuple[Library, ...]
    link: tuple[str, ...]
    cflags: tuple[str, ...]
    source_cflags: tuple[tuple[str, tuple[str, ...]], ...]
    stdout: str
    stderr: str | None
    exit: int
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    variants: tuple[str, ...]

    def flags_for(self, source: str) -> tuple[str, ...]:
        """The extra compiler flags of one source file."""
        return dict(self.source_cflags).get(source, ())

    @property
    def is_cxx(self) -> bool:
        every = [*self.sources, *(s for lib in self.archives + self.shared for s in lib.sources)]
        return any(s.endswith(".cc") for s in every)


def _libraries(raw: list[dict[str, Any]]) -> tuple[Library, ...]:
    return tuple(Library(entry["name"], tuple(entry["sources"]), entry.get("version_script"))
                 for entry in raw)


def _from_json(name: str, directory: Path, data: dict[str, Any],
               default_sources: list[str], default_variants: tuple[str, ...]) -> ProgramSpec:
    archives = _libraries(data.get("archives", []))
    shared = _libraries(data.get("shared", []))
    in_libraries = {s for lib in archives + shared for s in lib.sources}
    sources = data.get("sources") or [s for s in default_sources if s not in in_libraries]
    link = data.get("link") or [lib.name for lib in archives + shared]
    variants = tuple(data.get("variants", default_variants)) + tuple(data.get("extra_variants", []))
    return ProgramSpec(
        name=name,
        directory=directory,
        sources=tuple(sources),
        archives=archives,
        shared=shared,
        link=tuple(link),
        cflags=tuple(data.get("cflags", [])),
        source_cflags=tuple((k, tuple(v)) for k, v in data.get("source_cflags", {}).items()),
        stdout=data["stdout"],
        stderr=data.get("stderr"),
        exit=int(data.get("exit", 0)),
        args=tuple(data.get("args", [])),
        env=tuple(sorted(data.get("env", {}).items())),
        variants=variants,
    )


def load_programs(default_variants: tuple[str, ...],
                  root: Path = PROGRAMS_DIR) -> list[ProgramSpec]:
    """Every program under `root`, sorted by name."""
    specs: list[ProgramSpec] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            expect = entry / "expect.json"
            sources = sorted(p.name for p in entry.iterdir() if p.suffix in SOURCE_SUFFIXES)
            specs.append(_from_json(entry.name, entry, json.loads(expect.read_text()),
                                    sources, default_variants))
        elif entry.name.endswith(".expect.json"):
            name = entry.name.removesuffix(".expect.json")
            source = next(f"{name}{suf}" for suf in SOURCE_SUFFIXES
                          if (root / f"{name}{suf}").exists())
            specs.append(_from_json(name, root, json.loads(entry.read_text()),
                                    [source], default_variants))
    return specs
