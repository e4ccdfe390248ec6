"""The host's pieces a case may lean on: crt start files, the system library directory,
and the command lines of the reference linkers.

Cases name these portably ("crt": true, "libs": ["-lc"]); this module turns them into
paths on the machine that replays the case.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from .known import installed_version
from .model import LINKER_NAMES, Case

SYSTEM_LIB_DIRS = {"elf64-x86-64": "/usr/lib/x86_64-linux-gnu", "elf32-i386": "/usr/lib32"}

# linker name -> executable (run as `exe -o out ...`, GNU ld's command line)
REFERENCE_LINKERS = {
    "bfd": "ld.bfd",
    "gold": "ld.gold",
    "lld": "ld.lld-14",
    "mold": "mold",
    "ld64.lld": "ld64.lld-14",
}
LINKERS = LINKER_NAMES
# What each linker can link (linkharness: every target).  ld64.lld-14 refuses -arch i386.
_REFERENCE_TARGETS = {"ld64.lld": ("macho-x86_64",)}
_ELF_TARGETS = ("elf64-x86-64", "elf32-i386")
# ld64.lld's command line for a Mach-O case: the minimum OS and SDK linkharness assumes.
_LD64_ARCH = {"macho-x86_64": "x86_64"}


def links_target(linker: str, target: str) -> bool:
    """Whether `linker` can link `target` at all (a case it cannot is 'n/a', not a fail)."""
    if linker == "linkharness":
        return True
    return target in _REFERENCE_TARGETS.get(linker, _ELF_TARGETS)


def linker_version(linker: str) -> str | None:
    """The installed version of `linker`, as its `--version` prints it (linkharness: the
    package's version), which known disagreements are matched against."""
    if linker == "linkharness":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("linkharness")
        except PackageNotFoundError:
            return None
    return installed_version(REFERENCE_LINKERS[linker])


@functools.cache
def crt_file(name: str, target: str = "elf64-x86-64") -> Path:
    """The system's crt1.o / crti.o / crtn.o, as the compiler driver would find it."""
    flags = ["-m32"] if target == "elf32-i386" else []
    try:
        found = subprocess.run(["gcc", *flags, f"-print-file-name={name}"], capture_output=True,
                               text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = name
    if os.path.isabs(found) and os.path.isfile(found):
        return Path(os.path.normpath(found))
    # gcc echoes the bare name back when it does not know the file.
    fallback = Path(SYSTEM_LIB_DIRS.get(target, "/usr/lib")) / name
    if fallback.is_file():
        return fallback
    raise FileNotFoundError(f"cannot find {name} for {target} (is gcc installed?)")


def library_dirs(case: Case) -> list[str]:
    """Where `-lNAME` is searched: the case's own directory first, then the system's."""
    dirs = [str(case.directory)]
    system = SYSTEM_LIB_DIRS.get(case.target)
    if system:
        dirs.append(system)
    return dirs


def link_items(case: Case) -> list[str]:
    """The input list in command-line order: [crt1 crti] inputs libs [crtn].

    A lib that is not a `-l` option is a file in the case directory.
    """
    head: list[str] = []
    tail: list[str] = []
    if case.link_args.crt:
        head = [str(crt_file("crt1.o", case.target)), str(crt_file("crti.o", case.target))]
        tail = [str(crt_file("crtn.o", case.target))]
    libs = [lib if lib.startswith("-l") else str(case.directory / lib)
            for lib in case.link_args.libs]
    return [*head, *(str(p) for p in case.input_paths()), *libs, *tail]


def may_be_dynamic(case: Case) -> bool:
    """True when the case links against a library (a `-l` or a shared-object input)."""
    names = [*case.inputs, *case.link_args.libs]
    return any(n.startswith("-l") or n.endswith(".so") or ".so." in n for n in names)


# The flag each reference linker spells -z ibtplt with: gold has none; lld's closest is
# -z force-ibt (IBT PLT entries, plus a warning and the IBT property on inputs lacking it).
_IBT_PLT_FLAGS = {"bfd": ["-z", "ibtplt"], "mold": ["-z", "ibtplt"],
                  "lld": ["-z", "force-ibt"]}
# The ELF output options ld64.lld has no counterpart for.
_ELF_ONLY_OPTIONS = ("hash_style", "ibt_plt", "emit_relocs")


def unsupported_options(linker: str, case: Case) -> list[str]:
    """The output options `case` sets that `linker` cannot honour (its replay is n/a)."""
    chosen = case.link_args.output_options()
    if linker == "ld64.lld":
        return [key for key in _ELF_ONLY_OPTIONS if key in chosen]
    if "ibt_plt" in chosen and linker not in _IBT_PLT_FLAGS:
        return ["ibt_plt"]
    return []


def _output_option_flags(linker: str, case: Case) -> list[str]:
    args = case.link_args
    flags: list[str] = []
    if args.pie:
        flags.append("-pie")
    if args.hash_style is not None:
        flags.append(f"--hash-style={args.hash_style}")
    if args.ibt_plt:
        flags += _IBT_PLT_FLAGS[linker]
    if args.emit_relocs:
        flags.append("--emit-relocs")
    return flags


def reference_command(linker: str, case: Case, output: Path) -> list[str]:
    """The GNU-ld-style command that links `case` with a reference linker."""
    exe = REFERENCE_LINKERS[linker]
    args = case.link_args
    if linker == "ld64.lld":
        cmd = [exe, "-arch", _LD64_ARCH[case.target], "-platform_version", "macos", "10.9",
               "11.0", "-o", str(output)]
        if args.entry is not None:
            cmd += ["-e", args.entry]
        if args.pie:
            cmd.append("-pie")
        return cmd + ["-L", str(case.directory)] + link_items(case)
    cmd = [exe, "-o", str(output)]
    if may_be_dynamic(case) or args.pie:
        # Only then: lld and mold write PT_INTERP whenever they are given one, and ld.so
        # cannot start a static executable that has no dynamic section.  A PIE always
        # needs one (bfd's built-in default is not this system's ld.so).
        cmd += ["-dynamic-linker", args.interpreter(case.target)]
    if case.target == "elf32-i386":
        cmd += ["-m", "elf_i386"]
    if args.entry is not None:
        cmd += ["-e", args.entry]
    if args.bind_now:
        cmd += ["-z", "now"]
    cmd += _output_option_flags(linker, case)
    for directory in library_dirs(case):
        cmd += ["-L", directory]
    return cmd + link_items(case)
