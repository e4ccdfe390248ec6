"""ld64's command-line spelling, for `linkharness link --target macho-x86_64|macho-i386` and
the shim that clang drives (`clang --target=x86_64-apple-macosx10.9 -fuse-ld=lld
--ld-path=PATH`, or `--target=i386-apple-macosx10.6`).

    -arch x86_64|i386 -platform_version macos MIN SDK | -macosx_version_min MIN
    -fixup_chains | -no_fixup_chains (default: chained fixups from macOS 12, x86_64)
    -o OUT -e SYMBOL -u SYMBOL -L DIR -lNAME -syslibroot DIR -dylib_file INSTALL:FILE
    -no_pie (no MH_PIE)  -pagezero_size HEX (__TEXT's address)  -headerpad HEX
    -stack_size HEX (LC_MAIN's stacksize)  -exported_symbols_list FILE  -exported_symbol SYM
    -S (no debug map)  -x (no local symbols)  -dead_strip (accepted, not applied)
    --import SYM@INSTALL_NAME  --macho-classic  --map FILE (JSON link map)
    -Map FILE (GNU ld's text map, as for ELF)
    -s | --strip | --strip-all (only imports in the symbol table)  --verbose  (ours)

    -sectcreate SEG SECT FILE (__TEXT or __DATA)
    -dylib | -bundle (MH_DYLIB, MH_BUNDLE)  -install_name NAME (-dylib_install_name)
    -rpath PATH (LC_RPATH, for @rpath/ install names)
    -current_version V  -compatibility_version V  -undefined dynamic_lookup|error

-dead_strip removes nothing here: the output is the one without it, which runs the same
(dead-stripping only makes it smaller); --verbose says so.  ld64's own text -map format is
refused in one line; -Map (GNU's spelling) writes GNU ld's layout of the same facts.

Options clang passes that change nothing for us are accepted with one warning line each;
unknown options are an error, as in ld64.  `-lcrt1.10.6.o` (what clang passes below 10.8)
names crt1's `start`; with no SDK to find it in, the linker supplies its own `start`.
A minimum below 10.6 (no LC_DYLD_INFO in its dyld) links in the classic form, as ld64 does.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import LinkError, run_reporting_errors
from ..input_file import read_input, read_input_text
from ..records import dataclass, field
from ..targets import MACHO_ARCH_TO_TARGET

_IGNORED_FLAGS = {"-dynamic", "-execute", "-pie", "-demangle", "-no_deduplicate",
                  "-search_paths_first", "-headerpad_max_install_names",
                  "-no_dead_strip_inits_and_terms", "-adhoc_codesign", "-no_adhoc_codesign",
                  "-v", "-no_uuid", "-export_dynamic", "-Z", "-bind_at_load", "-w"}
_IGNORED_WITH_VALUE = {"-lto_library", "-mllvm", "-object_path_lto",
                       "-sdk_version", "-source_version"}
# Accepted, changing nothing, said only under --verbose: what they would change is size.
_NOT_APPLIED = {"-dead_strip": "-dead_strip: nothing is stripped (the output is the same "
                "without it; dead-stripping only makes it smaller)"}
_REFUSED = {"-map": "-map (ld64's text map) is not written; --map FILE writes the JSON map "
                    "and -Map FILE GNU ld's text map"}
PAGE = 0x1000


@dataclass
class Ld64Command:
    inputs: list[str] = field(default_factory=list)
    output: str = "a.out"
    options: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed under --verbose
    verbose: bool = False


def parse_version(text: str) -> int:
    """'10.9.0' -> 0x000A0900 (xxxx.yy.zz nibbles, as LC_BUILD_VERSION stores it; a
    dylib's current and compatibility versions are packed the same way)."""
    if not text or not text[0].isdigit():
        raise LinkError(f"bad version {text[:40]!r}")
    # digits read one field at a time and bounded first: a 5,000-digit "version" is not
    # a number Python converts (its 4,300-digit limit), nor one the field holds
    fields = [p for p in text.split(".")[:3] if p.isdigit() and len(p) <= 5]
    parts = [int(p) for p in fields] + [0, 0, 0]
    if len(fields) < min(3, len(text.split("."))) or parts[0] > 0xFFFF \
            or parts[1] > 0xFF or parts[2] > 0xFF:
        raise LinkError(f"bad version {text[:40]!r}: want X[.Y[.Z]] with X below 65536 and "
                        "Y, Z below 256")
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]


def parse_hex(option: str, text: str, page_multiple: bool = False,
              limit: int = 1 << 47) -> int:
    """ld64 reads these sizes in hex, with or without 0x.  `limit`: past it the size
    cannot be written (a Mach-O file offset is 32 bits) or mapped (x86-64's user space is
    2**47 bytes)."""
    try:
        number = int(text, 16)
    except ValueError:
        raise LinkError(f"{option} {text}: not a hexadecimal number") from None
    if number < 0 or (page_multiple and number % PAGE):
        raise LinkError(f"{option} {text}: must be a multiple of the page size (0x1000)")
    if number >= limit:
        raise LinkError(f"{option} {text}: must be below {limit:#x}")
    return number


def read_symbol_list(path: str) -> list[str]:
    """An -exported_symbols_list file: one name (or glob) a line, # comments."""
    try:
        lines = read_input_text(path).splitlines()
    except OSError as e:
        raise LinkError(f"-exported_symbols_list: cannot read: {e.strerror}", file=path) from None
    return [name for line in lines if (name := line.split("#", 1)[0].strip())]


def parse_ld64(argv: list[str]) -> Ld64Command:
    cmd = Ld64Command()
    o = cmd.options
    macho = o.setdefault("macho_options", {})
    o["target"] = "macho-x86_64"
    i = 0

    def value(n: int = 1) -> list[str]:
        nonlocal i
        if i + n >= len(argv):
            raise LinkError(f"option {argv[i]} needs {n} value{'s' if n > 1 else ''}")
        vals = argv[i + 1:i + 1 + n]
        i += n
        return vals

    while i < len(argv):
        arg = argv[i]
        if arg == "-o":
            cmd.output = value()[0]
        elif arg == "-arch":
            arch = value()[0]
            if arch not in MACHO_ARCH_TO_TARGET:
                raise LinkError(f"-arch {arch} is not supported (one of "
                                f"{', '.join(MACHO_ARCH_TO_TARGET)})")
            o["target"] = MACHO_ARCH_TO_TARGET[arch]
        elif arg == "-platform_version":
            platform, minimum, sdk = value(3)
            if platform not in ("macos", "1"):
                raise LinkError(f"-platform_version {platform}: only macos is supported")
            o["platform_version"] = (parse_version(minimum), parse_version(sdk))
        elif arg == "-macosx_version_min":
            version = parse_version(value()[0])
            o["platform_version"] = (version, max(version, 0x000B0000))
        elif arg == "-e":
            o["entry"] = value()[0]
        elif arg == "-L":
            o.setdefault("library_paths", []).append(value()[0])
        elif arg.startswith("-L"):
            o.setdefault("library_paths", []).append(arg[2:])
        elif arg == "-l":
            cmd.inputs.append("-l" + value()[0])
        elif arg.startswith("-l"):
            cmd.inputs.append(arg)
        elif arg == "-syslibroot":
            o["syslibroot"] = value()[0]
        elif arg == "-dylib_file":
            install, _, path = value()[0].partition(":")
            cmd.inputs.append(path or install)
        elif arg == "--import":
            o.setdefault("imports", []).append(value()[0])
        elif arg == "--macho-classic":
            o["macho_classic"] = True
        elif arg == "-fixup_chains":
            o["fixup_chains"] = True
        elif arg == "-no_fixup_chains":
            o["fixup_chains"] = False
        elif arg == "--target":
            target = value()[0]
            if not target.startswith("macho-"):
                raise LinkError(f"ld64 spelling with --target {target}")
            o["target"] = target
        elif arg == "-u":
            o.setdefault("undefined", []).append(value()[0])
        elif arg == "-no_pie":
            macho["pie"] = False
        elif arg == "-pagezero_size":
            size = parse_hex(arg, value()[0], page_multiple=True)
            if not size:
                raise LinkError("-pagezero_size 0: an image without __PAGEZERO is not written")
            macho["pagezero_size"] = size
        elif arg == "-headerpad":
            macho["headerpad"] = parse_hex(arg, value()[0], limit=1 << 28)
        elif arg == "-stack_size":
            macho["stack_size"] = parse_hex(arg, value()[0], page_multiple=True)
        elif arg == "-exported_symbols_list":
            exported = macho.setdefault("exported", [])
            exported += read_symbol_list(value()[0])
        elif arg == "-exported_symbol":
            macho.setdefault("exported", []).append(value()[0])
        elif arg == "-sectcreate":
            segment, sectname, path = value(3)
            data = _sectcreate_bytes(segment, sectname, path)
            macho["sectcreate"] = (*macho.get("sectcreate", ()), (segment, sectname, data))
        elif arg in ("-dylib", "-bundle"):
            o["output_kind"] = arg[1:]
        elif arg in ("-install_name", "-dylib_install_name"):
            o["install_name"] = value()[0]
        elif arg in ("-current_version", "-compatibility_version", "-dylib_current_version",
                     "-dylib_compatibility_version"):
            key = "current_version" if "current" in arg else "compatibility_version"
            o[key] = parse_version(value()[0])
        elif arg == "-rpath":
            macho["rpaths"] = (*macho.get("rpaths", ()), value()[0])
        elif arg == "-undefined":
            treatment = value()[0]
            if treatment not in ("dynamic_lookup", "error"):
                raise LinkError(f"-undefined {treatment}: only dynamic_lookup and error are "
                                "supported")
            macho["undefined_dynamic_lookup"] = treatment == "dynamic_lookup"
        elif arg == "--map":
            o["map_file"] = value()[0]
        elif arg in ("-s", "--strip", "--strip-all"):
            o["strip"] = True
        elif arg == "-S":
            o["strip_debug"] = True  # no debug map (stabs) in the output
        elif arg == "-x":
            o["discard_all"] = True  # no local (private external) symbols in the table
        elif arg == "-Map":
            o["text_map"] = value()[0]
        elif arg == "--verbose":
            cmd.verbose = True
        elif arg in _NOT_APPLIED:
            cmd.notes.append(_NOT_APPLIED[arg])
        elif arg in _REFUSED:
            raise LinkError(_REFUSED[arg])
        elif arg in _IGNORED_FLAGS:
            cmd.warnings.append(f"ignoring {arg}")
        elif arg in _IGNORED_WITH_VALUE:
            cmd.warnings.append(f"ignoring {arg} {value()[0]}")
        elif arg.startswith("-"):
            raise LinkError(f"unrecognised option {arg} (ld64 spelling)")
        else:
            cmd.inputs.append(arg)
        i += 1
    if "exported" in macho:
        macho["exported"] = tuple(macho["exported"])
    _image_kind(cmd)
    if not macho:
        del o["macho_options"]
    return cmd


def _image_kind(cmd: Ld64Command) -> None:
    """-dylib/-bundle and the dylib's identity go to macho_options as they are; the link
    turns them into the image kind (linker/macho/image_kind.py), refusing misplaced ones."""
    o = cmd.options
    keys = ("output_kind", "install_name", "current_version", "compatibility_version")
    moved: dict[str, Any] = {k: o.pop(k) for k in keys if k in o}
    if moved:
        o.setdefault("macho_options", {}).update(moved)
        from .image_kind import kind_from_options
        kind_from_options(dict(moved), cmd.output)  # refused here, before reading inputs


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 1
    def action() -> None:
        cmd = parse_ld64(args)
        for text in dict.fromkeys(cmd.warnings):
            print(f"linkharness: warning: {text}", file=sys.stderr)
        for text in dict.fromkeys(cmd.notes if cmd.verbose else []):
            print(f"linkharness: note: {text}", file=sys.stderr)
        if not cmd.inputs:
            raise LinkError("no input files")
        from ..api import link
        link(cmd.inputs, cmd.output, **cmd.options)

    return run_reporting_errors(action)


# A Mach-O section's size and file offset are 32-bit fields, in 64-bit files too.
SECTCREATE_MAX = 0xFFFFFFFF


def _sectcreate_bytes(segment: str, sectname: str, path: str) -> bytes:
    """-sectcreate's file, refused in one line naming it when it cannot be read or cannot
    be a section (checked before reading: a file of gigabytes is not read to find out)."""
    try:
        size = os.stat(path).st_size
        if size > SECTCREATE_MAX:
            raise LinkError(f"-sectcreate {segment} {sectname}: {size:,} bytes; a Mach-O "
                            f"section holds at most {SECTCREATE_MAX:,} (32-bit size and "
                            "offset)", file=path)
        return bytes(read_input(path))
    except OSError as e:
        raise LinkError(f"-sectcreate {segment} {sectname}: cannot read: {e.strerror}",
                        file=path) from None
    except MemoryError:
        raise LinkError(f"-sectcreate {segment} {sectname}: out of memory reading the file",
                        file=path) from None
