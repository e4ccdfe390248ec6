"""Build and run the integration programs: compile once per variant, link with either linker.

Objects are compiled once per (program, variant) into a directory shared by every pytest-xdist
worker of the session; a `flock` on that directory makes the first worker build and the others
wait and reuse.  Archives are made with `ar rcs` and shared libraries with GNU ld, because they
are inputs to the link under test, not its product.  The link itself goes through gcc's driver
so that the real crt files, libc and libgcc arrive the way they do for any C program.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from program_spec import ProgramSpec


@dataclass(frozen=True)
class Variant:
    """A way of compiling and linking: compiler, code-generation flags, extra link flags, and
    the machine flags (-m32) that every compile and every link, libraries included, needs."""

    name: str
    cc: str
    cxx: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...] = ()
    machine: tuple[str, ...] = ()


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("gcc-O0", "gcc", "g++", ("-O0", "-fno-pie")),
    Variant("gcc-O2", "gcc", "g++", ("-O2", "-fno-pie")),
    Variant("gcc-O2-fPIE", "gcc", "g++", ("-O2", "-fPIE")),
    Variant("gcc-fPIC", "gcc", "g++", ("-O1", "-fPIC")),
    Variant("clang-O2", "clang-14", "clang++-14", ("-O2", "-fno-pie")),
    Variant("static", "gcc", "g++", ("-O2", "-fno-pie"), ("-static",)),
    Variant("znow", "gcc", "g++", ("-O2", "-fno-pie"), ("-Wl,-z,now",)),
    # -mcmodel=large: every address, calls included, is a movabs with R_X86_64_64.
    Variant("large", "gcc", "g++", ("-O2", "-fno-pie", "-mcmodel=large")),
    Variant("m32", "gcc", "g++", ("-O2", "-fno-pie"), (), ("-m32",)),
    Variant("m32-fPIC", "gcc", "g++", ("-O1", "-fPIC"), (), ("-m32",)),
)}
DEFAULT_VARIANTS = ("gcc-O0", "gcc-O2", "gcc-O2-fPIE", "gcc-fPIC", "clang-O2")
LINKERS = ("gnu-ld", "linkharness")


_MAIN = re.compile(r"^\s*(?:int|void)\s+main\s*\(", re.MULTILINE)


class BuildError(Exception):
    """A compiler, archiver or linker command failed; the message carries its stderr."""


@dataclass(frozen=True)
class RunResult:
    """What a native run of a linked program did."""

    stdout: str
    stderr: str
    exit: int


def _run_tool(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
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


@dataclass(frozen=True)
class BuiltObjects:
    """A program compiled under one variant: the inputs of its link, ready to link."""

    spec: ProgramSpec
    variant: Variant
    directory: Path
    objects: tuple[Path, ...]
    link_args: tuple[str, ...]

    def link(self, linker: str, shim: str, pie: bool = False) -> Path:
        """Link with `linker` ("gnu-ld" or "linkharness"); return the executable's path.
        `pie`: a position-independent executable (gcc's default -pie) instead of -no-pie."""
        output = self.directory / f"prog.{linker}{'.pie' if pie else ''}"
        select = ["-fuse-ld=bfd"] if linker == "gnu-ld" else [f"-B{shim}"]
        # gcc's driver links every variant (clang's objects too): one set of crt files and libs.
        driver = "g++" if self.spec.is_cxx else "gcc"
        argv = [driver, *self.variant.machine, "-pie" if pie else "-no-pie", *select,
                *self.variant.ldflags,
                "-o", str(output),
                *map(str, self.objects), *self.link_args]
        _run_tool(argv, self.directory)
        return output

    def split_for_library(self) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
        """(objects of the executable, objects of the shared library): the translation
        unit defining `main` stays in the executable, every other one (the helpers) moves
        into the library; a one-file program moves whole, its `main` included (crt1's
        reference to it then binds to the library)."""
        if len(self.objects) == 1:
            return (), self.objects
        mains = tuple(o for o, s in zip(self.objects, self.spec.sources)
                      if _MAIN.search((self.spec.directory / s).read_text(errors="replace")))
        return mains, tuple(o for o in self.objects if o not in mains)

    def link_shared_library(self, shim: str) -> Path:
        """The helpers' shared library, made by linkharness (once per variant; another
        worker reuses it)."""
        output = self.directory / "libhelpers.lh.so"
        with _exclusive(self.directory / "lib.lock.d"):
            if not output.exists():
                driver = "g++" if self.spec.is_cxx else "gcc"
                _, library = self.split_for_library()
                tmp = output.with_suffix(".tmp.so")
                _run_tool([driver, *self.variant.machine, "-shared", f"-B{shim}",
                           "-Wl,-soname,libhelpers.lh.so", "-o", str(tmp),
                           *map(str, library), *self.link_args], self.directory)
                tmp.rename(output)
        return output

    def link_with_library(self, linker: str, shim: str, library: Path) -> Path:
        """The executable (a PIE, gcc's default) of `main`'s object linked with `library`."""
        output = self.directory / f"prog.{linker}.with-lib"
        select = ["-fuse-ld=bfd"] if linker == "gnu-ld" else [f"-B{shim}"]
        driver = "g++" if self.spec.is_cxx else "gcc"
        executable, _ = self.split_for_library()
        _run_tool([driver, *self.variant.machine, "-pie", *select, "-o", str(output),
                   *map(str, executable), str(library), f"-Wl,-rpath,{self.directory}",
                   *self.link_args], self.directory)
        return output

    def run(self, executable: Path) -> RunResult:
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_LIBRARY_PATH": str(self.directory),
               **dict(self.spec.env)}
        proc = subprocess.run([str(executable), *self.spec.args], cwd=self.directory, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        return RunResult(proc.stdout, proc.stderr, proc.returncode)


def _compile(spec: ProgramSpec, variant: Variant, source: str, out_dir: Path,
             extra: tuple[str, ...] = ()) -> Path:
    obj = out_dir / (Path(source).stem + ".o")
    compiler = variant.cxx if source.endswith(".cc") else variant.cc
    cxx_flags = ("-std=c++17",) if source.endswith(".cc") else ()
    argv = [compiler, "-c", *variant.machine, *variant.cflags, *spec.cflags,
            *spec.flags_for(source), *cxx_flags, *extra,
            "-w",
            str(spec.directory / source), "-o", str(obj)]
    _run_tool(argv, out_dir)
    return obj


def _build(spec: ProgramSpec, variant: Variant, directory: Path) -> None:
    for source in spec.sources:
        _compile(spec, variant, source, directory)
    for lib in spec.archives:
        members = [str(_compile(spec, variant, s, directory)) for s in lib.sources]
        (directory / lib.name).unlink(missing_ok=True)
        _run_tool(["ar", "rcs", lib.name, *members], directory)
    for lib in spec.shared:
        members = [str(_compile(spec, variant, s, directory, ("-fPIC",))) for s in lib.sources]
        driver = "g++" if spec.is_cxx else "gcc"
        script = ([f"-Wl,--version-script={spec.directory / lib.version_script}"]
                  if lib.version_script else [])
        _run_tool([driver, *variant.machine, "-shared", "-fuse-ld=bfd", f"-Wl,-soname,{lib.name}",
                   *script, "-o", lib.name, *members], directory)


def build_objects(spec: ProgramSpec, variant: Variant, root: Path) -> BuiltObjects:
    """Compile `spec` under `variant` into `root`, or reuse what another worker built."""
    directory = root / spec.name / variant.name
    with _exclusive(directory):
        done = directory / ".built"
        if not done.exists():
            _build(spec, variant, directory)
            done.write_text("ok\n")
    objects = tuple(directory / (Path(s).stem + ".o") for s in spec.sources)
    names = {lib.name for lib in spec.archives + spec.shared}
    link_args = tuple(str(directory / t) if t in names else t for t in spec.link)
    return BuiltObjects(spec, variant, directory, objects, link_args)
