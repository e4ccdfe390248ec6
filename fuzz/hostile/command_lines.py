"""The command-line family (`T@options`): a link target's valid inputs, linked through the
`linkharness link` command line with one to five options added, each with a hostile value.

The byte and semantic families mutate files and call `linker.link` with fixed options; what
reaches the linker only through its command line (a section address past 64 bits, an entry
point given as a huge number, a map file whose name the file system refuses) they never
draw.  Here the options come from the command line's own `--help` (a new option is drawn
as soon as it is documented), in every form GNU ld accepts (`-x`, `-x VALUE`, `--x=VALUE`,
`-xVALUE`), with values that are numbers past every width, negative, NaN, empty, long
words, separators, and paths to devices, directories, missing files and the inputs
themselves.  The rules are the linker's: exit status 0 or 1, every line on stderr a
`linkharness:` warning or error, a failure says why and leaves no output and no staged
file behind, a success writes its output, which the checker and the field oracle then
read without raising.

A case's input is its words, kept as JSON (`command-line.json`); paths are written as
placeholders (`{input}`, `{dir}`, `{missing}`, `{file}`) and filled in where the case runs,
so a kept case replays anywhere.  The target's inputs are copied into the case's own
directory first: an option that writes a file (`-Map {input}`) overwrites the copy.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

from linker import main as link_main

from .mutate import Picker, choose
from .rules import (
    LINK_SECONDS,
    MEMORY_SLACK,
    check_rules,
    clocks,
    crash,
    fields_rules,
    over_time,
    peak_rss,
)
from .seeds import LinkTarget

FILE_NAME = "command-line.json"
# Options that print and stop, or that only change what is printed: not a link to judge.
NOT_DRAWN = frozenset({"-o", "-v", "-V", "--version", "--help", "-M", "--print-map", "-t",
                       "--trace", "--verbose", "-y", "--trace-symbol"})
# ld64's spellings, which `--help` names only in passing: drawn for the Mach-O targets.
LD64_OPTIONS = ("-arch", "-platform_version", "-macosx_version_min", "-syslibroot",
                "-lSystem", "-pagezero_size", "-headerpad", "-stack_size",
                "-exported_symbols_list", "-exported_symbol", "-sectcreate", "-dylib",
                "-bundle", "-install_name", "-current_version", "-compatibility_version",
                "-undefined", "-fixup_chains", "-no_fixup_chains", "-dead_strip", "-rpath",
                "-framework", "-all_load", "-force_load", "-map", "--map", "-no_pie",
                "-bind_at_load", "-flat_namespace", "-order_file", "-dylib_file", "-w",
                "--macho-classic", "--import")
VALUES = ("", "0", "1", "-1", "4096", "0x1000", "0x", "0xffffffffffffffff",
          "18446744073709551616", "-9223372036854775809", "99999999999999999999999999",
          "0x8000000000000000", "fffffffffffff000", "7ffffffffffff000", "nan", "inf", "1e400",
          "=", ",", ",,", "ALL", "a=b=c", "sym=0x10+foo", "_start", "_main", "main", "macos",
          "10.15", "1.2.3.4.5", "99999.99999", "*", "{", "}", ";", "\\", "%s%n",
          "\udcff\udcfe", "-", "--", "gnu", "sysv", "both", "none", "zlib", "sha1", "uuid",
          "0xZZ", "max-page-size=0", "max-page-size=3", "stack-size=-1",
          "common-page-size=0", "now", "relro", "x86-64-v9", "elf_x86_64", "elf_i386",
          "macho-x86_64", "elf64-x86-64", "i386", "x86_64", "arm64", "text", "ignore-all",
          "descending", "name", "/dev/zero", "/dev/null", "/dev/full", "{dir}", "{missing}",
          "{input}", "{file}", "@{input}", "@{dir}")
LONG_VALUES = ("x", "0x1000", "nan", "9", ".", "/")
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_CLI_WORDS = {"entry": "-e", "dynamic_linker": "-dynamic-linker", "target": "--target",
              "soname": "-soname", "hash_style": "--hash-style", "build_id": "--build-id"}
_CLI_FLAGS = {"relocatable": "-r", "shared": "-shared", "pie": "-pie", "static": "-static",
              "eh_frame_hdr": "--eh-frame-hdr"}


@functools.cache
def option_words() -> tuple[str, ...]:
    """Every option `linkharness link --help` names, but those NOT_DRAWN."""
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(io.StringIO()):
        link_main(["--help"])
    return tuple(sorted(set(_OPTION.findall(shown.getvalue())) - NOT_DRAWN))


def _value(pick: Picker) -> str:
    if pick.integer(0, 9) == 0:
        return choose(pick, LONG_VALUES) * pick.integer(100, 5000)
    return choose(pick, VALUES)


def draw_command_line(pick: Picker, macho: bool) -> list[str]:
    """One to five options with values, in the forms GNU ld and ld64 accept."""
    words: list[str] = []
    for _ in range(pick.integer(1, 5)):
        option = choose(pick, LD64_OPTIONS if macho and pick.integer(0, 1) else option_words())
        form = pick.integer(0, 9)
        if form < 3:
            words.append(option)
        elif form < 8:
            words += [option, *(_value(pick) for _ in range(pick.integer(1, 3)))]
        elif option.startswith("--"):
            words.append(f"{option}={_value(pick)}")
        else:
            words.append(option + _value(pick))
    return words


def target_words(target: LinkTarget, inputs: list[Path]) -> list[str] | None:
    """The target's valid link as `linkharness link` words (operands, options), or None
    when an option has no command-line spelling here."""
    words = [str(p) for i, p in enumerate(inputs) if i not in target.as_option]
    for i, option in target.as_option.items():
        if option != "version_scripts":
            return None
        words += ["--version-script", str(inputs[i])]
    for key, value in target.options.items():
        if key in _CLI_WORDS:
            words += [_CLI_WORDS[key], str(value)]
        elif key in _CLI_FLAGS and value:
            words.append(_CLI_FLAGS[key])
        elif key == "relro" and value:
            words += ["-z", "relro"]
        elif key == "library_paths":
            words += [f"-L{p}" for p in value]
        elif key == "platform_version":
            words += ["-platform_version", "macos", *(_version(v) for v in value)]
        else:
            return None
    return words


def _version(packed: int) -> str:
    return f"{packed >> 16}.{packed >> 8 & 0xFF}.{packed & 0xFF}"


def applies(target: LinkTarget) -> bool:
    return target_words(target, target.inputs) is not None


def encode(words: list[str]) -> bytes:
    return json.dumps(words).encode()


def decode(data: bytes) -> list[str]:
    words: Any = json.loads(data)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{FILE_NAME}: not a list of words")
    return words


def options_case(target: LinkTarget, data: bytes, work: Path) -> list[str]:
    """The rules broken by linking `target` through the command line with `data`'s
    words (encode()) added after the target's own."""
    run_dir = work / "cli"
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "in").mkdir(parents=True)
    (run_dir / "dir").mkdir()
    try:
        # (a compiler-made target's inputs include words such as `-lz`: kept as they are)
        inputs = [Path(shutil.copy(p, run_dir / "in" / f"{i}-{p.name}")) if p.is_file() else p
                  for i, p in enumerate(target.inputs)]
        base = target_words(target, inputs)
        assert base is not None, f"{target.name}: no command-line spelling"
        places = {"{dir}": str(run_dir / "dir"), "{missing}": str(run_dir / "missing" / "f"),
                  "{input}": str(inputs[0]), "{file}": str(run_dir / "written")}
        extra = [_fill(w, places) for w in decode(data)]
        return _link_rules([*base, *extra], run_dir, target.options.get("target", ""))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _fill(word: str, places: dict[str, str]) -> str:
    for key, path in places.items():
        word = word.replace(key, path)
    return word


def _link_rules(words: list[str], run_dir: Path, target: str) -> list[str]:
    out = run_dir / "out" / "a.out"
    out.parent.mkdir()
    stderr = io.StringIO()
    broken: list[str] = []
    peak, start = peak_rss(), clocks()
    status: object = None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr), \
                contextlib.chdir(run_dir / "dir"):
            status = link_main([*words, "-o", str(out)])
    except SystemExit as stop:
        status = stop.code
    except Exception as err:  # noqa: BLE001 - any exception out of the CLI is the finding
        broken.append(crash("linkharness link", err))
    broken += over_time("linkharness link", start, LINK_SECONDS)
    grown = peak_rss() - peak
    if grown > MEMORY_SLACK:
        broken.append(f"linkharness link grew the peak resident size by {grown >> 20} MiB")
    lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
    broken += [f"not a linkharness line on stderr: {line[:200]!r}" for line in lines
               if not line.startswith("linkharness: ")]
    broken += [f"internal error: {line[:300]}" for line in lines if "internal error" in line]
    left = sorted(p.name for p in out.parent.iterdir())
    if status == 1:
        if not any(line.startswith("linkharness: error: ") for line in lines):
            broken.append("exit status 1 without an error line")
        if left:
            broken.append(f"failed link left files behind: {left}")
    elif status == 0:
        if not out.is_file():
            broken.append("exit status 0 but no output")
        elif not broken:
            broken += check_rules(out)
            objects = [Path(w) for w in words if w.endswith(".o") and Path(w).is_file()]
            if not target.startswith("macho") or objects:
                broken += fields_rules(out, objects)
    elif not broken:
        broken.append(f"exit status {status!r}")
    return broken
