"""`linkharness link`: GNU ld's command line, as gcc's driver speaks it.

The command line is read in two steps: `gnu_argv.py` turns the words into canonical
options (GNU ld's many spellings of each), and `gnu_command.py` says what each one means
(a `Command`: inputs, output and the keyword arguments of `link()`).  This module is the
entry: it routes ld64 spellings to `macho/cli.py`, prints what was asked (`--version`,
`--verbose`, warnings) and runs the link.  `shim_dir()` (linker/shim.py) makes a directory
holding an `ld` that runs this, for `gcc -B`.
"""

from __future__ import annotations

import sys

from .errors import LinkError, run_reporting_errors
from .gnu_command import Command, parse
from .gnu_options import USAGE
from .shim import ld64_shim, print_ld64_shim, print_shim_dir, shim_dir

__all__ = ["USAGE", "Command", "ld64_shim", "main", "parse", "print_ld64_shim",
           "print_shim_dir", "shim_dir"]

# `ld -v`/`--version`: libtool takes a linker whose -v says "GNU" for GNU ld (and then
# passes GNU's spellings, which are the ones this parser reads); we do not claim to be it.
VERSION = "linkharness 0.1 (compatible with GNU ld)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("--help", "-help") for a in args):  # -h is GNU ld's -soname
        print(USAGE)
        return 0
    if any(a in ("-arch", "-platform_version", "-macosx_version_min") for a in args) or any(
            a.startswith("--target=macho") or (a == "--target" and n + 1 < len(args)
                                               and args[n + 1].startswith("macho"))
            for n, a in enumerate(args)):
        from .macho.cli import main as ld64_main
        return ld64_main(_split_equals(args))
    try:
        cmd = parse(args)
    except LinkError as e:
        print(f"linkharness: error: {e}", file=sys.stderr)
        return 1
    if cmd.print_version:
        print(VERSION)
        if not cmd.inputs:
            return 0
    if cmd.verbose:
        print(VERSION)
        for text in cmd.ignored:
            print(f"linkharness: ignored option: {text}")
    severity = "error" if cmd.options.get("fatal_warnings") else "warning"
    for text in cmd.warnings:
        print(f"linkharness: {severity}: {text}", file=sys.stderr)
    if cmd.warnings and severity == "error":
        return 1

    def action() -> None:
        if not cmd.inputs:
            raise LinkError("no input files")
        from .api import link
        from .errors import print_diagnostics
        options = dict(cmd.options)
        if not options.get("relocatable"):
            # GNU ld's default is -z relro (PT_GNU_RELRO; objects a COPY takes from a
            # library's read-only data sealed again): a program may rely on it
            options.setdefault("relro", True)
        result = link(cmd.inputs, cmd.output, undefined=cmd.undefined, warn_exec_stack=True,
                      **options)
        print_diagnostics(result.warnings)

    return run_reporting_errors(action)


def _split_equals(args: list[str]) -> list[str]:
    out: list[str] = []
    for a in args:
        if a.startswith("--target="):
            out += ["--target", a.split("=", 1)[1]]
        else:
            out.append(a)
    return out
