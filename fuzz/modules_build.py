"""From a module program (fuzz.modules) to files: C source per object, compiled by gcc
(-fPIC for libraries; -fPIE, -fPIC or -fno-pic for the executable), and the links — each
library and the executable by any linker in any seat (GNU ld, gold, lld, mold directly, or
linkharness through its public API), so that a library made by one linker meets an
executable made by another.

The programs need no libc: `_start` (top-level assembly) calls `lh_start` and exits with
its result; values are reported through libtrace1's `lt1_f1_a1`; thread-local storage is
set up by ld.so (natively) or the emulated one.  Libraries and the executable are linked
against ld.so itself, which defines `__tls_get_addr`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from linker import link

from .modules import DATA, FPTR, FUNCTION, TLS, Definition, ModuleProgram, Term

REFERENCE_LINKERS = ("bfd", "gold", "lld", "mold")
_EXECUTABLES = {"bfd": "ld.bfd", "gold": "ld.gold", "lld": "ld.lld-14", "mold": "mold"}
INTERPRETER = {False: "/lib64/ld-linux-x86-64.so.2", True: "/lib/ld-linux.so.2"}
_EMULATION = {False: "elf_x86_64", True: "elf_i386"}
_START = {
    False: ('asm(".globl _start\\n_start:\\n xorl %ebp, %ebp\\n andq $-16, %rsp\\n'
            ' call lh_start\\n movl %eax, %edi\\n movl $231, %eax\\n syscall\\n");'),
    True: ('asm(".globl _start\\n_start:\\n xorl %ebp, %ebp\\n andl $-16, %esp\\n'
           ' call lh_start\\n movl %eax, %ebx\\n movl $252, %eax\\n int $0x80\\n");'),
}
REPORT = "lt1_f1_a1"


@dataclass(frozen=True)
class BuildOptions:
    """How the objects are compiled (none of it may change what the program does)."""

    m32: bool = False
    opt: str = "-O1"
    no_plt: bool = False  # -fno-plt: calls through GOT slots (GOTPCRELX), relaxable or not
    exe_pie: bool = True  # link the executable -pie (only when it is not -fno-pic code)


def soname(lib: int) -> str:
    return f"libm{lib}.so"


def _visibility(vis: str) -> str:
    return "" if vis == "default" else f'__attribute__((visibility("{vis}"))) '


def _declaration(d: Definition, vis: str) -> str:
    attr = _visibility(vis)
    if d.kind == FUNCTION:
        return f"extern {attr}u32 {d.name}(void);"
    if d.kind == DATA:
        return f"extern {attr}u32 {d.name}[];"
    if d.kind == TLS:
        return f"extern {attr}__thread u32 {d.name}[];"
    const = "const " if d.const else ""
    if d.kind == FPTR:
        return f"extern {attr}u32 (*{const}{d.name})(void);"
    return f"extern {attr}u32 *{const}{d.name};"


def _code(term: Term) -> str:
    if term.kind == "call":
        return f"acc = acc * 31u + {term.name}();"
    if term.kind in ("load", "tload"):
        return f"acc = acc * 31u + {term.name}[{term.index}];"
    if term.kind in ("store", "tstore"):
        return f"{term.name}[{term.index}] = acc;"
    if term.kind == "call_ptr":
        return f"acc = acc * 31u + {term.name}();"
    return f"acc = acc * 31u + *{term.name};"


def _definition(d: Definition) -> str:
    attr = _visibility(d.visibility)
    if d.kind == FUNCTION:
        body = "\n".join(f"  {_code(t)}" for t in d.body)
        return f"{attr}u32 {d.name}(void) {{\n  u32 acc = {d.seed:#x}u;\n{body}\n  return acc;\n}}"
    if d.kind in (DATA, TLS):
        tls = "__thread " if d.kind == TLS else ""
        init = "" if not any(d.words) else " = {" + ", ".join(f"{w:#x}u" for w in d.words) + "}"
        return f"{attr}{tls}u32 {d.name}[{len(d.words)}]{init};"
    const = "const " if d.const else ""
    if d.kind == FPTR:
        return f"{attr}u32 (*{const}{d.name})(void) = {d.target};"
    return f"{attr}u32 *{const}{d.name} = &{d.target}[{d.offset}];"


def object_sources(program: ModuleProgram, module: int, m32: bool) -> list[str]:
    """The C text of each of `module`'s objects."""
    defs = program.defined()
    own = {d.name: d for d in program.definitions if d.module == module}
    sources = []
    for obj in range(program.objects[module]):
        here = [d for d in program.definitions if d.module == module and d.obj == obj]
        used: set[str] = set()
        for d in here:
            used |= {t.name for t in d.body} | ({d.target} if d.target else set())
        if module == 0 and obj == 0:
            used |= {t.name for t in program.main}
        lines = ["typedef unsigned int u32;"]
        for name in sorted(used | {d.name for d in here}):
            mine = own.get(name)
            shape = mine or next(d for (m, n), d in sorted(defs.items()) if n == name)
            # the module's own definition elsewhere: declared with its visibility, so that
            # the compiler may reach a hidden or protected one directly
            lines.append(_declaration(shape, mine.visibility if mine else "default"))
        lines += [_definition(d) for d in here]
        if module == 0 and obj == 0:
            lines.append(f"extern unsigned long {REPORT}(unsigned long);")
            steps = "\n".join(f"  {_code(t)}\n  {REPORT}(acc);" for t in program.main)
            lines.append(f"u32 lh_start(void) {{\n  u32 acc = 0;\n{steps}\n"
                         "  return acc & 0xff;\n}")
            lines.append(_START[m32])
        sources.append("\n".join(lines) + "\n")
    return sources


def compile_module(program: ModuleProgram, module: int, options: BuildOptions,
                   work: Path) -> list[Path]:
    """The module's objects, compiled by gcc in `work`."""
    if module:
        pic = "-fPIC"
    else:
        pic = {"pie": "-fPIE", "pic": "-fPIC", "nopic": "-fno-pic"}[program.exe_pic]
    flags = ["-m32" if options.m32 else "-m64", options.opt, pic, "-fno-stack-protector",
             "-fno-builtin", "-fcf-protection=none", *(["-fno-plt"] if options.no_plt else [])]
    out = []
    for n, text in enumerate(object_sources(program, module, options.m32)):
        src = work / f"m{module}_{n}.c"
        obj = work / f"m{module}_{n}.o"
        src.write_text(text)
        subprocess.run(["gcc", *flags, "-c", "-o", str(obj), str(src)], check=True,
                       capture_output=True)
        out.append(obj)
    return out


class LinkFailed(Exception):
    """A linker refused the link (its stderr is the message)."""


def link_library(linker: str, objects: Sequence[Path], needed: Sequence[Path], output: Path,
                 m32: bool, dynamic_list: Sequence[str] | None = None,
                 symbolic_functions: bool = False, default_symver: bool = False) -> None:
    """A shared library `output` (SONAME: its file name) of `objects`, linked against the
    `needed` libraries and ld.so, with `--dynamic-list` naming `dynamic_list` when given
    (written beside the output, as a user would pass it), -Bsymbolic-functions and
    --default-symver when asked (gold and lld do not know --default-symver: they link
    without it, see `versions_apply`)."""
    inputs = [*map(str, objects), *map(str, needed), INTERPRETER[m32]]
    listed: list[str] = []
    if dynamic_list is not None:
        list_file = output.with_suffix(".dynlist")
        list_file.write_text("{\n" + "".join(f"  {n};\n" for n in dynamic_list) + "};\n")
        listed = [f"--dynamic-list={list_file}"]
    if symbolic_functions:
        listed.append("-Bsymbolic-functions")
    if default_symver and versions_apply(linker):
        listed.append("--default-symver")
    if linker == "linkharness":
        _linkharness(inputs, output, m32, shared=True, dynamic_list=dynamic_list,
                     symbolic="functions" if symbolic_functions else "none",
                     default_symver=default_symver)
        return
    _reference([_tool(linker), "-m", _EMULATION[m32], "-shared", "-soname", output.name,
                *listed, "-o", str(output), *inputs], output)


def link_executable(linker: str, objects: Sequence[Path], libs: Sequence[Path], output: Path,
                    m32: bool, pie: bool) -> None:
    inputs = [*map(str, objects), *map(str, libs), INTERPRETER[m32]]
    if linker == "linkharness":
        _linkharness(inputs, output, m32, shared=False, pie=pie)
        return
    mode = ["-pie"] if pie else ([] if linker == "gold" else ["-no-pie"])
    _reference([_tool(linker), "-m", _EMULATION[m32], *mode, "-e", "_start",
                "-dynamic-linker", INTERPRETER[m32], "-o", str(output), *inputs], output)


def versions_apply(linker: str) -> bool:
    """Does `linker` take --default-symver (GNU ld, mold and linkharness; not gold 1.16 or
    lld 14, which refuse it as unknown)?"""
    return linker in ("bfd", "mold", "linkharness")


def _tool(linker: str) -> str:
    found = shutil.which(_EXECUTABLES[linker])
    if found is None:
        raise LinkFailed(f"{_EXECUTABLES[linker]} is not installed")
    return found


def _reference(command: list[str], output: Path) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not output.exists():
        raise LinkFailed(f"{' '.join(command)}: {proc.stderr.strip()}")


def _linkharness(inputs: list[str], output: Path, m32: bool, *, shared: bool,
                 pie: bool = False, dynamic_list: Sequence[str] | None = None,
                 symbolic: str = "none", default_symver: bool = False) -> None:
    """linkharness through `linker.link` (in this process, so that a seeded bug — a
    monkeypatched internal — is what links), with -z relro as the reference linkers have
    it by default."""
    target = "elf32-i386" if m32 else "elf64-x86-64"
    if shared:
        link(inputs, output, target=target, shared=True, soname=output.name, relro=True,
             dynamic_list=tuple(dynamic_list or ()), symbolic=symbolic,
             default_symver=default_symver)
        return
    link(inputs, output, target=target, entry="_start", dynamic_linker=INTERPRETER[m32],
         pie=pie, relro=True)
