"""Build the integration programs for Darwin: clang-14 (C) and clang++-14 (C++) objects, BSD archives, and executables
linked by linkharness or by ld64.lld-14.

Objects are compiled once per program into a directory that every pytest-xdist worker of the
session sees; a `flock` makes the first worker build and the others wait and reuse.  There is
no SDK: the C library headers are the project's own (tests/macho_include), clang's resource
directory supplies the freestanding ones, and libSystem is the linker's embedded stub, which
ld64.lld reads as well.
"""

from __future__ import annotations

import fcntl
import functools
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from darwin_programs import LD64_FLAGS
from program_spec import ProgramSpec

from linker import link

REPO = Path(__file__).resolve().parents[2]
INCLUDE_DIR = REPO / "tests" / "macho_include"
LIBSYSTEM_TBD = REPO / "linker" / "macho" / "data" / "libSystem.tbd"
TRIPLE = "x86_64-apple-macosx10.9"
# -nostdlibinc drops the host's glibc headers but keeps clang's builtin stddef.h, stdarg.h,
# stdint.h, limits.h...; our headers come first through -isystem.
CFLAGS = ("--target=" + TRIPLE, "-nostdlibinc", "-isystem", str(INCLUDE_DIR), "-w")
START_SOURCE = Path(__file__).resolve().parent / "start.s"
LD64_LLD = ("ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0")
# linkharness-classic: --macho-classic (LC_UNIXTHREAD at start.s's `start`, stubs bound through
# the indirect symbol table alone)
LINKERS = ("linkharness", "linkharness-classic", "ld64.lld")
# linkharness-driver: clang-14 drives the link, through the shim `linkharness ld64-shim` prints
# (ld64's command line: -arch, -macosx_version_min, -lSystem)
DRIVER_LINKER = "linkharness-driver"
# GNU ld spellings in the ELF suite's link lines that mean nothing to ld64: archive groups
# (ld64 searches every archive until nothing new resolves) and libm (part of libSystem).
GNU_ONLY_LINK_ARGS = {"-Wl,--start-group", "-Wl,--end-group", "-lm"}


class BuildError(Exception):
    """A compiler, archiver or linker failed; the message carries its diagnostics."""


def _run_tool(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def compile_source(spec: ProgramSpec, source: str, out_dir: Path, opt: str) -> Path:
    """Compile one source of `spec` for Darwin x86-64 at `opt` ("-O2"); return the object."""
    obj = out_dir / (Path(source).stem + ".o")
    cxx = source.endswith(".cc")
    compiler = ("clang++-14", "-std=c++17") if cxx else ("clang-14",)
    argv = [*compiler, "-c", *CFLAGS, opt, *spec.cflags, *spec.flags_for(source),
            str(spec.directory / source), "-o", str(obj)]
    _run_tool(argv, out_dir)
    return obj


@dataclass(frozen=True)
class DarwinObjects:
    """A program compiled for Darwin: its objects and the archives its link line names."""

    spec: ProgramSpec
    directory: Path
    objects: tuple[Path, ...]
    link_args: tuple[str, ...]  # archive paths and group markers, GNU-ld spelled

    def link(self, linker: str) -> Path:
        """Link with `linker` (one of LINKERS), once per session; return the executable."""
        output = self.directory / f"prog.{linker}"
        with _exclusive(self.directory):
            if not output.exists():
                if linker == "linkharness":
                    self._link_linkharness(output)
                elif linker == "linkharness-classic":
                    self._link_linkharness(output, classic=True)
                elif linker == "ld64.lld":
                    self._link_lld(output)
                elif linker == DRIVER_LINKER:
                    self._link_driver(output)
                else:
                    raise ValueError(f"unknown linker {linker!r}")
        return output

    def classic_inputs(self) -> tuple[Path, ...]:
        """The objects a classic link puts before the program's own: `start`."""
        return (self.directory / "classic_start.o",)

    def _link_linkharness(self, output: Path, classic: bool = False) -> None:
        groups = {"-Wl,--start-group": "--start-group", "-Wl,--end-group": "--end-group"}
        tail = [groups.get(a, a) for a in self.link_args if a != "-lm"]
        start = [str(p) for p in self.classic_inputs()] if classic else []
        inputs = [*start, *map(str, self.objects), *tail, "-lSystem"]
        link(inputs, output, target="macho-x86_64", macho_classic=classic,
             entry="start" if classic else None)

    def _link_lld(self, output: Path) -> None:
        tail = [a for a in self.link_args if a not in GNU_ONLY_LINK_ARGS]
        _run_tool([*LD64_LLD, "-o", str(output), *map(str, self.objects), *tail,
                   str(LIBSYSTEM_TBD), *LD64_FLAGS.get(self.spec.name, ())], self.directory)

    def _link_driver(self, output: Path) -> None:
        tail = [a for a in self.link_args if a not in GNU_ONLY_LINK_ARGS]
        _run_tool(["clang-14", f"--target={TRIPLE}", "-fuse-ld=lld", f"--ld-path={ld64_shim()}",
                   "-o", str(output), *map(str, self.objects), *tail], self.directory)


@functools.cache
def ld64_shim() -> str:
    """The path of linkharness's ld64 shim, as its command line prints it."""
    proc = subprocess.run([sys.executable, "-m", "oracle.cli", "ld64-shim"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _build(spec: ProgramSpec, directory: Path, opt: str) -> None:
    _run_tool(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(START_SOURCE),
               "-o", "classic_start.o"], directory)
    for source in spec.sources:
        compile_source(spec, source, directory, opt)
    for lib in spec.archives:
        members = [str(compile_source(spec, s, directory, opt)) for s in lib.sources]
        (directory / lib.name).unlink(missing_ok=True)
        # ld64 reads BSD archives with a __.SYMDEF index, which is what Apple's ar writes
        _run_tool(["llvm-ar-14", "rcs", "--format=darwin", lib.name, *members], directory)


def build_objects(spec: ProgramSpec, root: Path, opt: str = "-O2") -> DarwinObjects:
    """Compile `spec` for Darwin at `opt` into `root`, or reuse what another worker built."""
    directory = root / spec.name / opt.lstrip("-")
    with _exclusive(directory):
        done = directory / ".built"
        if not done.exists():
            _build(spec, directory, opt)
            done.write_text("ok\n")
    objects = tuple(directory / (Path(s).stem + ".o") for s in spec.sources)
    names = {lib.name for lib in spec.archives}
    link_args = tuple(str(directory / a) if a in names else a for a in spec.link)
    return DarwinObjects(spec, directory, objects, link_args)
