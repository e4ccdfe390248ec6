"""`linkharness`: the command line, above both the linker and the oracle.

It lives here because it may import the oracle and the linker's public surface, while the
linker may not import the oracle.  Each subcommand is a module of its own, imported only
when it runs, so `linkharness link` never loads Unicorn.
"""

from __future__ import annotations

import importlib
import os
import sys

# subcommand -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "link": ("linker", "main", "link objects into an executable (GNU ld / ld64 spelling)"),
    "ld-shim": ("linker.cli", "print_shim_dir", "print a directory for gcc -B (links with linkharness)"),
    "ld64-shim": ("linker.cli", "print_ld64_shim", "print a path for clang --ld-path (Mach-O)"),
    "server": ("linker.link_server_command", "server_command", "status or stop the warm link server behind the shims"),
    "check": ("oracle.check.cli", "main", "check an ELF or Mach-O executable's structure"),
    "fields": ("oracle.relocs.cli", "main", "recompute every input relocation's field in an output"),
    "run": ("oracle.emulate.cli", "main", "run an executable under the emulated ld.so / dyld"),
    "corpus": ("oracle.corpus.cli", "main", "add to or replay the regression corpus"),
    "hunt": ("oracle.hunt.cli", "main", "fuzz another linker in the subject's seat, triage finds"),
    "report": ("oracle.report.cli", "main", "an HTML report of a corpus replay or a hunt"),
}


def usage() -> str:
    lines = ["usage: linkharness COMMAND [ARGS...]", "", "commands:"]
    for name, (_, _, text) in COMMANDS.items():
        lines.append(f"  {name:<10} {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    entry = COMMANDS.get(args[0])
    if entry is None:
        print(f"linkharness: unknown command {args[0]!r}\n{usage()}", file=sys.stderr)
        return 2
    module, func, _ = entry
    try:
        result = getattr(importlib.import_module(module), func)(args[1:])
    except BrokenPipeError:  # `linkharness ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
