"""Build a module program with one linker in each seat and judge every output: the
structural checker on each library and the executable, the field oracle on each against
its own objects, the emulated run (lazy and now, at load bases drawn from a seed) and the
native run (lazy and LD_BIND_NOW) against the model's trace and status.

A seat is (library linker, executable linker); all libraries of a program are linked by
the seat's library linker.  linkharness's refusals of what it says it does not support yet
(its LinkError says "not supported yet": i386 shared output, for one) are returned as
refusals, not problems; every other refusal is a problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

from linker import LinkError
from oracle.emulate import run
from oracle.native import run_native
from oracle.relocs import LinkOptions

from . import judge
from .libtrace import parse_native_trace
from .modules import ModuleProgram, outcome, resolve
from .modules_build import (
    REPORT,
    BuildOptions,
    LinkFailed,
    compile_module,
    link_executable,
    link_library,
    soname,
    versions_apply,
)

NOT_YET = ("not supported yet", "are not supported")


def known_reference_bug(program: ModuleProgram, options: BuildOptions,
                        seat: tuple[str, str]) -> str:
    """Why a reference linker in `seat` is known to link `program` wrong ("" if it is not):
    confirmed bugs the property steps around (and says so in an event) rather than fail on.

    - lld 14, i386 executables: the -fno-plt general-dynamic sequence
      (`leal x@tlsgd(%ebx), %eax; call *___tls_get_addr@GOT(%ebx)`, 6 + 6 bytes) relaxed to
      local exec as if it were the 7-byte `leal x@tlsgd(,%ebx,1)` form: the rewrite starts
      two bytes early and clobbers the instruction before it (a silent wrong output: found
      by this property, the program faults natively; GNU ld and linkharness are right);
    - lld 14 refuses ("cannot preempt symbol") a non-PIC i386 executable's `call f`
      (R_386_PC32) to a library's protected function, which GNU ld links as a PLT call;
    - mold 1.10 computes i386's no-base GOT32X (non-PIC -fno-plt `call *f@GOT`) as
      G + A - GOT (issue 19: the program crashes natively);
    - a library linked with --dynamic-list: gold 1.16 keeps every export preemptible and
      mold 1.10 binds the listed ones locally too (seen on a two-function library), where
      GNU ld and lld bind locally exactly the names the list leaves out (the model's rule)."""
    if program.dynamic_lists and seat[0] in ("gold", "mold"):
        return f"{seat[0]}: --dynamic-list in -shared does not narrow preemption as GNU ld's"
    tls_in_exe = any(t.kind in ("tload", "tstore") for t in program.main) or any(
        t.kind in ("tload", "tstore") for d in program.definitions if d.module == 0
        for t in d.body)
    if seat[1] == "lld" and options.m32 and options.no_plt and program.exe_pic == "pic" \
            and tls_in_exe:
        return "lld 14: i386 -fno-plt GD sequence relaxed two bytes early"
    if seat[1] == "mold" and options.m32 and options.no_plt and program.exe_pic == "nopic":
        return "mold 1.10: i386 no-base GOT32X (call *f@GOT) computed as G + A - GOT"
    if seat[1] == "lld" and options.m32 and program.exe_pic == "nopic" \
            and _calls_protected_import(program):
        return "lld 14 refuses an i386 R_386_PC32 call to a library's protected function"
    return ""


def symbolic_functions(program: ModuleProgram, lib: int) -> bool:
    return bool(program.symbolic_functions) and program.symbolic_functions[lib - 1]


def default_symver(program: ModuleProgram, lib: int) -> bool:
    return bool(program.default_symver) and program.default_symver[lib - 1]


def version_problems(path: Path, lib: int) -> list[str]:
    """--default-symver, as GNU ld writes it: .gnu.version_d holds the base entry and one
    node, both named after the soname, and every export in .dynsym has that node's index
    (2, not hidden)."""
    name = soname(lib)
    with path.open("rb") as f:
        elf = ELFFile(f)
        verdef = elf.get_section_by_name(".gnu.version_d")
        versym = elf.get_section_by_name(".gnu.version")
        dynsym = elf.get_section_by_name(".dynsym")
        if not isinstance(verdef, GNUVerDefSection) or not isinstance(
                versym, GNUVerSymSection) or not isinstance(dynsym, SymbolTableSection):
            return ["--default-symver: no .gnu.version_d/.gnu.version"]
        nodes = [(int(v["vd_ndx"]), int(v["vd_flags"]), next(aux).name)
                 for v, aux in verdef.iter_versions()]
        want = [(1, 1, name), (2, 0, name)]  # (index, flags: 1 = VER_FLG_BASE, name)
        problems = [] if nodes == want else [
            f"--default-symver: version definitions {nodes}, want {want}"]
        for n, sym in enumerate(dynsym.iter_symbols()):
            if not n or sym["st_shndx"] == "SHN_UNDEF" or (
                    sym["st_shndx"] == "SHN_ABS" and sym.name == name):
                continue  # (GNU ld also writes each node's name as an absolute symbol)
            index = versym.get_symbol(n)["ndx"]
            if index != 2:
                problems.append(f"--default-symver: export {sym.name} has version index "
                                f"{index}, want 2 ({name})")
    return problems


def _calls_protected_import(program: ModuleProgram) -> bool:
    defs = program.defined()
    names = {t.name for t in program.main} | {t.name for d in program.definitions
                                              if d.module == 0 for t in d.body}
    for name in names:
        home = resolve(program, 0, name, defs)
        if home and defs[home, name].visibility == "protected":
            return True
    return False


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...]
    refused: str = ""  # linkharness declined the seat (a known limit), with its message


def expected_trace(program: ModuleProgram) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    reported, _ = outcome(program)
    return tuple(("libtrace1.so", REPORT, (v,)) for v in reported)


def compile_all(program: ModuleProgram, options: BuildOptions, work: Path) -> list[list[Path]]:
    work.mkdir(parents=True, exist_ok=True)
    return [compile_module(program, m, options, work) for m in range(program.libraries + 1)]


def link_seat(program: ModuleProgram, objects: list[list[Path]], options: BuildOptions,
              seat: tuple[str, str], work: Path, libtrace: Path) -> Path:
    """Link every library (the last first: a library links the later ones it needs) and
    the executable; returns the executable (the libraries are beside it)."""
    work.mkdir(parents=True, exist_ok=True)
    lib_linker, exe_linker = seat
    for lib in range(program.libraries, 0, -1):
        needed = [work / soname(n) for n in program.lib_needs[lib - 1]]
        dynamic_list = program.dynamic_lists[lib - 1] if program.dynamic_lists else None
        link_library(lib_linker, objects[lib], needed, work / soname(lib), options.m32,
                     dynamic_list, symbolic_functions(program, lib),
                     default_symver(program, lib))
    exe = work / "main"
    libs = [work / soname(n) for n in program.exe_needs] + [libtrace / "libtrace1.so"]
    pie = options.exe_pie and program.exe_pic != "nopic"
    link_executable(exe_linker, objects[0], libs, exe, options.m32, pie)
    return exe


def judge_seat(program: ModuleProgram, objects: list[list[Path]], options: BuildOptions,
               seat: tuple[str, str], work: Path, libtrace: Path,
               native: bool = True) -> Verdict:
    try:
        exe = link_seat(program, objects, options, seat, work, libtrace)
    except (LinkFailed, LinkError) as err:
        text = str(err)
        if isinstance(err, LinkError) and any(n in text for n in NOT_YET):
            return Verdict((), text)
        return Verdict((f"seat {seat}: link failed: {text}",))
    problems: list[str] = []
    lib_linker, exe_linker = seat
    for lib in range(1, program.libraries + 1):
        path = work / soname(lib)
        problems += [f"{soname(lib)} ({lib_linker}): {p}" for p in judge.structure(path)]
        listed = program.dynamic_lists[lib - 1] if program.dynamic_lists else None
        problems += [f"{soname(lib)} ({lib_linker}): {p}" for p in judge.fields(
            path, objects[lib], LinkOptions(symbolic_functions(program, lib), listed))]
        if default_symver(program, lib) and versions_apply(lib_linker):
            problems += [f"{soname(lib)} ({lib_linker}): {p}"
                         for p in version_problems(path, lib)]
    problems += [f"main ({exe_linker}): {p}" for p in judge.structure(exe)]
    problems += [f"main ({exe_linker}): {p}" for p in judge.fields(exe, objects[0])]
    want = expected_trace(program)
    _, status = outcome(program)
    seed = judge.load_seed(exe)  # reproducible per output, different per program
    for bind in ("lazy", "now"):
        result = run(exe, bind=bind, library_path=[work, libtrace], seed=seed + len(bind))
        problems += [f"emulated ({bind}, seed {result.seed}): {f.describe()}"
                     for f in result.faults]
        # the emulated ld.so's own __tls_get_addr is traced too; the model speaks of libtrace
        trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace
                      if t.library.startswith("libtrace"))
        if trace != want:
            problems.append(f"emulated ({bind}, seed {result.seed}): trace {trace} != model "
                            f"{want}")
        if result.exit_code != status:
            problems.append(f"emulated ({bind}): exit {result.exit_code} != model {status}")
    if native:
        problems += _native(exe, want, status, [work, libtrace])
    return Verdict(tuple(f"seat {seat}: {p}" for p in problems))


def _native(exe: Path, want: tuple[tuple[str, str, tuple[int, ...]], ...], status: int,
            dirs: list[Path]) -> list[str]:
    problems = []
    for bind_now in (False, True):
        env = {"PATH": os.environ.get("PATH", ""),
               "LD_LIBRARY_PATH": ":".join(map(str, dirs))}
        if bind_now:
            env["LD_BIND_NOW"] = "1"
        result = run_native(str(exe), env=env, timeout=20)
        how = "native (now)" if bind_now else "native (lazy)"
        trace = parse_native_trace(result.stderr)
        if trace != want:
            problems.append(f"{how}: trace {trace} != model {want}")
        if result.exit_code != status:
            problems.append(f"{how}: exit {result.exit_code} != model {status}")
    return problems
