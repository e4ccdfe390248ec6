"""ld64's command-line spelling, for `linkharness link --target macho-x86_64|macho-i386` and
the shim that clang drives (`clang --target=x86_64-apple-macosx10.9 -fuse-ld=lld
--ld-path=PATH`, or `--target=i386-apple-macosx10.6`).

    -arch x86_64|i386 -platform_version macos MIN SDK | -macosx_version_min MIN
    -fixup_chains | -no_fixup_chains (default: chained fixups from macOS 12, x86_64)
    -o OUT -e SYMBOL -L DIR -lNAME -syslibroot DIR -dylib_file INSTALL:FILE
    --import SYM@INSTALL_NAME  --macho-classic  (ours)

Options clang passes that change nothing for us are accepted with one warning line each;
unknown options are an error, as in ld64.  `-lcrt1.10.6.o` (what clang passes below 10.8)
names crt1's `start`; with no SDK to find it in, the linker supplies its own `start`.
A minimum below 10.6 (no LC_DYLD_INFO in its dyld) links in the classic form, as ld64 does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import LinkError, run_reporting_errors
from ..targets import MACHO_ARCH_TO_TARGET

_IGNORED_FLAGS = {"-dynamic", "-execute", "-pie", "-demangle", "-no_deduplicate",
                  "-search_paths_first", "-headerpad_max_install_names", "-dead_strip",
                  "-no_dead_strip_inits_and_terms", "-adhoc_codesign", "-no_adhoc_codesign",
                  "-v", "-no_uuid", "-export_dynamic", "-Z", "-bind_at_load", "-w", "-no_pie"}
_IGNORED_WITH_VALUE = {"-lto_library", "-mllvm", "-headerpad", "-object_path_lto",
                       "-rpath", "-install_name", "-current_version", "-compatibility_version",
                       "-stack_size", "-sdk_version", "-source_version"}


@dataclass
class Ld64Command:
    inputs: list[str] = field(default_factory=list)
    output: str = "a.out"
    options: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse_version(text: str) -> int:
    """'10.9.0' -> 0x000A0900 (xxxx.yy.zz nibbles, as LC_BUILD_VERSION stores it)."""
    parts = [int(p) for p in text.split(".")[:3] if p.isdigit()] + [0, 0, 0]
    if not text or not text[0].isdigit():
        raise LinkError(f"bad version {text!r}")
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]


def parse_ld64(argv: list[str]) -> Ld64Command:
    cmd = Ld64Command()
    o = cmd.options
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
        elif arg in _IGNORED_FLAGS:
            cmd.warnings.append(f"ignoring {arg}")
        elif arg in _IGNORED_WITH_VALUE:
            cmd.warnings.append(f"ignoring {arg} {value()[0]}")
        elif arg.startswith("-"):
            raise LinkError(f"unrecognised option {arg} (ld64 spelling)")
        else:
            cmd.inputs.append(arg)
        i += 1
    return cmd


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 1
    def action() -> None:
        cmd = parse_ld64(args)
        for text in dict.fromkeys(cmd.warnings):
            print(f"linkharness: warning: {text}", file=sys.stderr)
        if not cmd.inputs:
            raise LinkError("no input files")
        from ..api import link
        link(cmd.inputs, cmd.output, **cmd.options)

    return run_reporting_errors(action)
