"""Build the integration programs for Darwin i386: clang-14 -target i386-apple-macosx10.6
objects against the project's headers, BSD archives, and executables linked by linkharness
--target macho-i386 (modern: LC_DYLD_INFO and lazy binding; classic: --macho-classic, the
indirect symbol table alone, entered through the linker's own `start`).

There is no reference linker for Mach-O i386 here (ld64.lld-14 refuses -arch i386): the
emulated dyld, the checker and the field oracle are the judges.  Objects are built once per
session in a directory every pytest-xdist worker sees, under a `flock` (darwin_build's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from darwin_build import INCLUDE_DIR, _exclusive, _run_tool
from program_spec import ProgramSpec

from linker import link

TRIPLE = "i386-apple-macosx10.6"
CFLAGS = ("--target=" + TRIPLE, "-nostdlibinc", "-isystem", str(INCLUDE_DIR), "-w")
LINKERS = ("linkharness", "linkharness-classic")
GROUPS = {"-Wl,--start-group": "--start-group", "-Wl,--end-group": "--end-group"}


def _compile(spec: ProgramSpec, source: str, out_dir: Path, opt: str) -> Path:
    obj = out_dir / (Path(source).stem + ".o")
    compiler = ("clang++-14", "-std=c++17") if source.endswith(".cc") else ("clang-14",)
    _run_tool([*compiler, "-c", *CFLAGS, opt, *spec.cflags, *spec.flags_for(source),
               str(spec.directory / source), "-o", str(obj)], out_dir)
    return obj


@dataclass(frozen=True)
class I386Objects:
    spec: ProgramSpec
    directory: Path
    objects: tuple[Path, ...]
    link_args: tuple[str, ...]

    def link(self, linker: str) -> Path:
        """Link with `linker` (one of LINKERS), once per session; return the executable."""
        if linker not in LINKERS:
            raise ValueError(f"unknown linker {linker!r}")
        output = self.directory / f"prog.{linker}"
        with _exclusive(self.directory):
            if not output.exists():
                tail = [GROUPS.get(a, a) for a in self.link_args if a != "-lm"]
                link([*map(str, self.objects), *tail, "-lSystem"], output,
                     target="macho-i386", macho_classic=linker == "linkharness-classic")
        return output


def build_i386_objects(spec: ProgramSpec, root: Path, opt: str = "-O2") -> I386Objects:
    """Compile `spec` for Darwin i386 at `opt` into `root`, or reuse what another worker
    built."""
    directory = root / "i386" / spec.name / opt.lstrip("-")
    with _exclusive(directory):
        done = directory / ".built"
        if not done.exists():
            for source in spec.sources:
                _compile(spec, source, directory, opt)
            for lib in spec.archives:
                members = [str(_compile(spec, s, directory, opt)) for s in lib.sources]
                (directory / lib.name).unlink(missing_ok=True)
                _run_tool(["llvm-ar-14", "rcs", "--format=darwin", lib.name, *members],
                          directory)
            done.write_text("ok\n")
    objects = tuple(directory / (Path(s).stem + ".o") for s in spec.sources)
    names = {lib.name for lib in spec.archives}
    link_args = tuple(str(directory / a) if a in names else a for a in spec.link)
    return I386Objects(spec, directory, objects, link_args)
