"""GNU ld's command-line spellings: argv words -> (canonical option, value) pairs.

GNU ld reads options with getopt_long_only, so one option has many spellings (`--output`,
`-o`, `-oFILE`, `--output=FILE`; `-gc-sections` and `--gc-sections`), and `@FILE` stands for
the words in FILE.  This module only spells: what each option *means* is
`gnu_command.parse`'s business.  An option it does not know is left for `parse` to refuse,
except a one-dash GNU long option it does not implement, refused here by name so that it
is never misread as a short option with a value.
"""

from __future__ import annotations

import os
import re

from .errors import LinkError
from .gnu_options import GNU_LONG_OPTIONS

# Positional options: they stay in the input list, in order.
POSITIONAL = {
    "--as-needed", "--no-as-needed", "-Bstatic", "-static", "-dn", "-non_shared", "-Bdynamic",
    "-dy", "-call_shared", "--whole-archive", "--no-whole-archive", "--push-state",
    "--pop-state", "--start-group", "--end-group", "-(", "-)",
}
# Options that take a value (separately or after '='), by their canonical spelling.
TAKES_VALUE = {
    "-o", "-e", "-L", "-l", "-m", "-z", "--dynamic-linker", "--rpath", "--map", "-plugin",
    "-plugin-opt", "--sysroot", "--hash-style", "--target", "-u", "-T", "--rpath-link",
    "--version-script", "-y", "-soname", "-O", "--build-id", "-a", "-Y", "-f", "-F",
    "--error-limit",
    "--compress-debug-sections", "--wrap", "--defsym", "--audit", "--depaudit", "-init", "-Map",
    "--unresolved-symbols", "-Ttext-segment", "--sort-section",
    "-fini", "--exclude-libs", "--dynamic-list", "-Ttext", "-Tdata", "-Tbss", "-Tldata-segment",
    "-Trodata-segment", "--section-start", "--export-dynamic-symbol",
    "--export-dynamic-symbol-list",
}
# Flags that may carry a value after '=' (--sort-common=ascending).
OPTIONAL_VALUE = {"--sort-common", "-unique"}
ALIASES = {
    "--output": "-o", "--entry": "-e", "--library-path": "-L", "--library": "-l",
    "-dynamic-linker": "--dynamic-linker", "-I": "--dynamic-linker", "-rpath": "--rpath",
    "-R": "--rpath", "--Map": "-Map", "-map": "--map", "--json-map": "--map",
    "--plugin": "-plugin",
    "--plugin-opt": "-plugin-opt", "-hash-style": "--hash-style", "--undefined": "-u",
    "--script": "-T", "-rpath-link": "--rpath-link", "-h": "-soname", "--soname": "-soname",
    "-static": "-static", "--static": "-static", "-export-dynamic": "--export-dynamic",
    "-E": "--export-dynamic", "--strip-all": "-s", "-pie": "--pie", "-no-pie": "--no-pie",
    "--pic-executable": "--pie", "-pic-executable": "--pie",
    "-shared": "--shared", "-Bshareable": "--shared", "--no-pie": "--no-pie",
    "-sysroot": "--sysroot", "-target": "--target", "--strip-debug": "-S",
    "--trace-symbol": "-y", "--trace": "-t", "-P": "--depaudit", "--discard-all": "-x",
    "--init": "-init", "--fini": "-fini", "--print-map": "-M",
    "--allow-multiple-definition": "-allow-multiple-definition",
    "--relocatable": "-r", "-i": "-r", "--unique": "-unique", "--emit-relocs": "-q",
}
# Accepted without a word: they cannot change what linkharness writes (the reason is what
# --verbose prints).  -plugin/-plugin-opt: gcc's LTO plugin, needed only for LTO inputs,
# which the loader refuses with a hint.
IGNORED = {
    "-plugin": "no LTO plugin is run (an -flto input is refused)",
    "-plugin-opt": "no LTO plugin is run",
    "-O": "no link-time optimisation",
    "-X": ".L locals are always dropped", "--discard-locals": ".L locals are always dropped",
    "--rpath-link": "",
    "-nostdlib": "only -L directories are ever searched", "--no-warn-mismatch": "",
    "--copy-dt-needed-entries": "", "--no-copy-dt-needed-entries": "",
    "--allow-shlib-undefined": "", "--no-allow-shlib-undefined": "",
    "--undefined-version": "a version script may name symbols nothing defines (the default)",
}
FLAGS = {"-s", "-S", "--export-dynamic", "--eh-frame-hdr", "--no-pie", "--pie", "--shared", "-v", "--version", "-V",
         "--no-dynamic-linker", "--verbose", "--fatal-warnings", "--no-fatal-warnings",
         "--warn-common", "-t", "-x", "-M", "-allow-multiple-definition", "--sort-common",
         "--dynamic-list-data", "--gc-sections", "--print-gc-sections", "--no-gc-sections",
         "--enable-new-dtags", "--disable-new-dtags", "-Bsymbolic", "-Bsymbolic-functions",
         "-Bno-symbolic", "--no-undefined", "-r", "-unique",
         "--relax", "--no-relax", "-q", "--warn-unresolved-symbols",
         "--error-unresolved-symbols", "--default-symver"}
_SHORT_WITH_VALUE = ("-l", "-L", "-o", "-e", "-z", "-m", "-u", "-O", "-T", "-y", "-I", "-R",
                     "-P")


def _known(name: str) -> bool:
    return name in TAKES_VALUE or name in POSITIONAL or name in IGNORED or name in FLAGS


def _gnu_long_option(name: str) -> bool:
    """Is `name` (one or two dashes) a long option of GNU ld?  A one-dash word starting
    with `o` is `-o` and its value (`-omagic` writes a file named magic), as in GNU ld."""
    word = name.lstrip("-")
    if len(word) < 2 or (not name.startswith("--") and word.startswith("o")):
        return False
    return word in GNU_LONG_OPTIONS


def split_options(argv: list[str]) -> list[tuple[str, str | None]]:
    """(canonical option, value) pairs; inputs come back as ("", path)."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-(", "-)"):
            out.append((arg, None))
            continue
        if not arg.startswith("-") or arg == "-":
            out.append(("", arg))
            continue
        if arg.startswith("-L") and len(arg) > 2:
            out.append(("-L", arg[2:]))  # all of it: `-L=dir` is a directory in the sysroot
            continue
        name, eq, value = arg.partition("=")
        name = ALIASES.get(name, name)
        if name.startswith("--") and not _known(name) and _known(name[1:]):
            name = name[1:]  # GNU ld takes --opt and -opt alike
        elif not name.startswith("--") and not _known(name) and _known("-" + name):
            name = "-" + name  # ... both ways: -gc-sections, -as-needed
        elif (not name.startswith(("--", "-o")) and not _known(name)
              and "-" + name in ALIASES):
            name = ALIASES["-" + name]  # -print-map, -trace-symbol
        if not _known(name) and _gnu_long_option(name):
            # GNU ld reads a one-dash word as its long option (-emit-relocs is
            # --emit-relocs), never as a short option with a value (-e mit-relocs).
            raise LinkError(f"unrecognised option {name} (GNU ld's --{name.lstrip('-')}, "
                            "which linkharness does not implement)")
        if not _known(name) and arg[:2] in _SHORT_WITH_VALUE:
            # -lfoo, -L/dir, and -zmax-page-size=4096 (getopt: the rest of the word is
            # the value, an `=` in it included)
            name, value, eq = ALIASES.get(arg[:2], arg[:2]), arg[2:], "="
        if name in TAKES_VALUE and not eq:
            if name == "--build-id":
                out.append((name, None))
                continue
            if i >= len(argv):
                raise LinkError(f"option {arg} needs a value")
            value = argv[i]
            i += 1
        out.append((name, value if name in TAKES_VALUE or (eq and name in OPTIONAL_VALUE)
                    else None))
    return out


# A response file is a command line: a large link's is megabytes; a 3 GiB sparse one once
# took 15 GB and a minute before it was killed.
RESPONSE_FILE_LIMIT = 64 << 20
# One piece of a word, shell-like as shlex.split (POSIX mode, no comments) has them: a run
# of plain characters, a backslash and the character it escapes, a single-quoted string, a
# double-quoted one (in which a backslash escapes only a backslash or a double quote);
# whitespace ends a word; anything else left (an unclosed quote, a final backslash) is an
# error.  shlex reads a character at a time and grows a long word quadratically: a 2 MB
# word took it 450 s.
_PIECE = re.compile(r"""([ \t\r\n]+)|([^ \t\r\n'"\\]+)|\\(.)|'([^']*)'"""
                    r"""|"([^"\\]*(?:\\.[^"\\]*)*)"|(.)""", re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r'\\([\\"])')


def split_words(text: str) -> list[str]:
    """The words of a response file, as shlex.split(text) gives them, in linear time."""
    words: list[str] = []
    current: list[str] | None = None
    for m in _PIECE.finditer(text):
        space, plain, escaped, single, double, stray = m.groups()
        if space is not None:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if stray is not None:
            raise ValueError("No escaped character" if stray == "\\" else "No closing quotation")
        if current is None:
            current = []
        if double is not None:
            current.append(_DOUBLE_QUOTED_ESCAPE.sub(r"\1", double))
        else:
            current.append(plain if plain is not None else escaped if escaped is not None
                           else single)
    if current is not None:
        words.append("".join(current))
    return words


def expand_response_files(argv: list[str], depth: int = 0) -> list[str]:
    """GNU ld's `@FILE`: the file's words (shell-like quoting) in place of the argument,
    nested files too; an `@FILE` that cannot be read stays as it is, as in GNU ld."""
    out: list[str] = []
    for arg in argv:
        if arg.startswith("@") and len(arg) > 1 and os.path.isfile(arg[1:]):
            if depth > 32:
                raise LinkError(f"{arg}: response files nested too deeply")
            size = os.path.getsize(arg[1:])
            if size > RESPONSE_FILE_LIMIT:
                raise LinkError(f"{arg}: a response file of {size} bytes (at most "
                                f"{RESPONSE_FILE_LIMIT})")
            with open(arg[1:]) as f:
                try:
                    words = split_words(f.read())
                except ValueError as e:
                    raise LinkError(f"{arg}: {e}") from None
            out += expand_response_files(words, depth + 1)
        else:
            out.append(arg)
    return out

