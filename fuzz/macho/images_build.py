"""From an images program (fuzz.macho.images) to files and a verdict: C per image, compiled
by clang-14 for x86_64-apple-macos, each image linked by linkharness (in process, so a
seeded bug is what links; dyld-info opcodes or chained fixups) or ld64.lld-14, laid out as
an installed program would be, and judged: oracle.check and the field oracle on every
image, the emulated run (lazy and now, at load bases drawn from the executable's bytes)
against the model's trace and status.

    DIR/bin/main                    -rpath @executable_path/../lib
    DIR/lib/libimgN.dylib           install name @rpath/libimgN.dylib (-rpath @loader_path)
    DIR/lib/lhimg.bundle            dlopen("@rpath/lhimg.bundle")

No library directory is given to the emulated dyld, so every dylib and the bundle are
found through the run paths alone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from linker import LinkError, link

from .. import judge as elf_judge
from . import judge
from .images import BUNDLE_NAME, PLUG, ImagesProgram, is_data, outcome
from .pipeline import LIBSYSTEM_TBD, LLD
from .tbd import write_tbds

TARGET = {False: ["-target", "x86_64-apple-macos10.15"],
          True: ["-target", "i386-apple-macos10.7"]}
REPORT = "lt1_f1_a1"
EXE_RPATH = "@executable_path/../lib"
LIB_RPATH = "@loader_path"
LINKERS = ("linkharness", "lld")


def dylib_name(image: int) -> str:
    return f"libimg{image}.dylib"


def install_name(image: int) -> str:
    return f"@rpath/{dylib_name(image)}"


@dataclass(frozen=True)
class Seat:
    libraries: str  # who links the dylibs and the bundle
    executable: str
    chained: bool = False  # linkharness writes chained fixups (lld-14 cannot)
    i386: bool = False  # -arch i386: linkharness alone (ld64.lld-14 has no i386), opcodes


def source(program: ImagesProgram, image: int) -> str:
    lines = ["typedef unsigned int u32;"]
    mine = [f for f in program.functions if f.image == image]
    called = {c for f in mine for c in f.body}
    if image == 0:
        called |= set(program.main) | set(program.after)
    for name in sorted(called - {f.name for f in mine}):
        lines.append(f"extern u32 {name}[];" if is_data(name) else f"u32 {name}(void);")
    for f in mine:
        weak = "__attribute__((weak)) " if f.weak else ""
        lines.append(f"extern {weak}u32 {f.name}[];" if f.data
                     else f"{weak}u32 {f.name}(void);")
    for f in mine:
        weak = "__attribute__((weak)) " if f.weak else ""
        if f.data:
            lines.append(f"{weak}u32 {f.name}[1] = {{{f.seed:#x}u}};")
            continue
        body = "".join(f"  acc = acc * 31u + {_use(c)};\n" for c in f.body)
        lines.append(f"{weak}u32 {f.name}(void) {{\n  u32 acc = {f.seed:#x}u;\n{body}"
                     "  return acc;\n}")
    if image == 0:
        lines += ["void *dlopen(const char *, int); void *dlsym(void *, const char *);",
                  "int dlclose(void *);",
                  f"unsigned long {REPORT}(unsigned long);",
                  "int main(void) {", "  u32 acc = 0;"]
        lines += [f"  acc = acc * 31u + {_use(n)}; {REPORT}(acc);" for n in program.main]
        if program.bundle:
            lines += [f'  void *h = dlopen("@rpath/{BUNDLE_NAME}", 2);',
                      "  if (!h) return 201;",
                      f'  u32 (*entry)(void) = (u32 (*)(void))dlsym(h, "{PLUG}");',
                      "  if (!entry) return 202;",
                      f"  acc = acc * 31u + entry(); {REPORT}(acc);"]
            lines += [f"  acc = acc * 31u + {_use(n)}; {REPORT}(acc);" for n in program.after]
            lines.append(f"  {REPORT}((unsigned long)dlclose(h));")
        lines += ["  return (int)(acc & 0xff);", "}"]
    return "\n".join(lines) + "\n"


def _use(name: str) -> str:
    """The C expression that calls a function or reads a data word."""
    return f"{name}[0]" if is_data(name) else f"{name}()"


def compile_images(program: ImagesProgram, work: Path, i386: bool = False
                   ) -> dict[int, Path]:
    work.mkdir(parents=True, exist_ok=True)
    out = {}
    for image in program.images():
        src, obj = work / f"img{image}.c", work / f"img{image}.o"
        src.write_text(source(program, image))
        subprocess.run(["clang-14", *TARGET[i386], "-O1", "-fno-stack-protector", "-c", "-o",
                        str(obj), str(src)], check=True, capture_output=True)
        out[image] = obj
    return out


class LinkFailed(Exception):
    pass


def _lld(args: list[str]) -> None:
    done = subprocess.run([*LLD, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise LinkFailed(f"ld64.lld-14 {' '.join(args)}: {done.stderr.strip()}")


def _link(linker: str, objects: Sequence[str], output: Path, chained: bool, *,
          kind: str | None, image: int = 0, rpath: str | None = None,
          i386: bool = False) -> None:
    if linker == "lld":
        extra = {"dylib": ["-dylib", "-install_name", install_name(image)],
                 "bundle": ["-bundle"], None: ["-e", "_main"]}[kind]
        _lld([*extra, *(["-rpath", rpath] if rpath else []), "-o", str(output), *objects])
        return
    options: dict[str, object] = {"rpaths": (rpath,) if rpath else ()}
    if kind == "dylib":
        options.update(output_kind="dylib", install_name=install_name(image))
    elif kind == "bundle":
        options.update(output_kind="bundle")
    link(list(objects), output, target="macho-i386" if i386 else "macho-x86_64",
         fixup_chains=chained,
         entry="_main" if kind is None else None, macho_options=options)


def link_images(program: ImagesProgram, objects: dict[int, Path], seat: Seat,
                work: Path) -> dict[int, Path]:
    """Every image, linked in `work` (bin/ and lib/); returns image -> path."""
    (work / "bin").mkdir(parents=True, exist_ok=True)
    (work / "lib").mkdir(exist_ok=True)
    stubs = [str(p) for p in write_tbds(work / "stubs", (1,))] + [str(LIBSYSTEM_TBD)]
    paths: dict[int, Path] = {}
    chained = seat.chained
    for image in range(program.dylibs, 0, -1):  # a dylib links the later ones
        paths[image] = work / "lib" / dylib_name(image)
        deps = [str(paths[d]) for d in program.links(image)]
        _link(seat.libraries, [str(objects[image]), *deps, *stubs], paths[image],
              chained, kind="dylib", image=image, rpath=LIB_RPATH if deps else None,
              i386=seat.i386)
    if program.bundle:
        image = program.bundle_image
        paths[image] = work / "lib" / BUNDLE_NAME
        deps = [str(paths[d]) for d in program.links(image)]
        _link(seat.libraries, [str(objects[image]), *deps, *stubs], paths[image], chained,
              kind="bundle", rpath=LIB_RPATH, i386=seat.i386)
    paths[0] = work / "bin" / "main"
    deps = [str(paths[d]) for d in program.exe_order]
    _link(seat.executable, [str(objects[0]), *deps, *stubs], paths[0], chained, kind=None,
          rpath=EXE_RPATH, i386=seat.i386)
    return paths


def expected_trace(program: ImagesProgram) -> judge.Trace:
    reported, _ = outcome(program)
    return tuple(("/usr/lib/libtrace1.dylib", REPORT, (v,)) for v in reported)


def judge_seat(program: ImagesProgram, objects: dict[int, Path], seat: Seat,
               work: Path) -> list[str]:
    from oracle.emulate import run
    try:
        paths = link_images(program, objects, seat, work)
    except (LinkFailed, LinkError) as err:
        return [f"{seat}: link failed: {err}"]
    problems: list[str] = []
    for image, path in sorted(paths.items()):
        problems += [f"{path.name}: {p}" for p in judge.structure(path)]
        problems += [f"{path.name}: {p}" for p in judge.fields(path, [objects[image]])]
    want = expected_trace(program)
    _, status = outcome(program)
    for bind in ("lazy", "now"):
        result = run(paths[0], bind=bind, library_path=[], seed=elf_judge.load_seed(paths[0]))
        problems += [f"emulated ({bind}, --seed {result.seed}): {f.describe()}"
                     for f in result.faults]
        trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace
                      if "libtrace" in t.library)
        if trace != want:
            problems.append(f"emulated ({bind}): trace {trace} != model {want}")
        if result.exit_code != status:
            problems.append(f"emulated ({bind}): exit {result.exit_code} != model {status}")
    return [f"{seat}: {p}" for p in problems]
