"""What GNU ld's options mean: the `Command` (inputs, output, link() keyword arguments)
that `parse` makes of a command line, `-z` keywords included.

Every option gcc passes is honoured or, when it cannot change the output, accepted without
a word (`--verbose` lists those); a genuinely unknown option is an error.  Positional
options (-l, --as-needed, --start-group, -Bstatic, ...) keep their place among the inputs.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import LinkError
from .gnu_argv import IGNORED, POSITIONAL, expand_response_files, split_options
from .records import dataclass, field
from .targets import EMULATION_TO_TARGET

Z_IGNORED = {"nodefs", "combreloc", "nocombreloc", "cet-report", "lam-report",
             "common-page-size", "noexecheap", "execheap", "isa-level-report"}
# -z keywords setting DT_FLAGS_1 bits (DF_1_*); None: GNU ld writes the tag but, in an
# executable, not the bit.
Z_FLAGS_1 = {"interpose": 0x400, "nodump": 0x1000, "loadfltr": 0x10, "global": 0x2,
             "nodelete": None, "nodlopen": None, "initfirst": None}
# ... and the bits GNU ld does set for them in a shared object (DF_1_NODELETE, DF_1_NOOPEN,
# DF_1_INITFIRST)
Z_SHARED_FLAGS_1 = {"nodelete": 0x8, "nodlopen": 0x40, "initfirst": 0x20}
# -z keywords asking for a .note.gnu.property bit linkharness does not write: the LAM features.
Z_PROPERTIES_REFUSED = {"lam-u48", "lam-u57", "lam-u48-report", "lam-u57-report"}


@dataclass
class Command:
    inputs: list[str] = field(default_factory=list)
    output: str = "a.out"
    options: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # accepted, no effect: --verbose lists
    undefined: list[str] = field(default_factory=list)
    print_version: bool = False
    verbose: bool = False

    def warn(self, option: str, reason: str) -> None:
        text = f"ignoring {option}" + (f" ({reason})" if reason else "")
        if text not in self.warnings:
            self.warnings.append(text)

    def ignore(self, option: str, reason: str) -> None:
        text = option + (f" ({reason})" if reason else "")
        if text not in self.ignored:
            self.ignored.append(text)



def parse(argv: list[str]) -> Command:
    argv = expand_response_files(argv)
    cmd = Command()
    o = cmd.options
    for name, value in split_options(argv):
        if name == "":
            assert value is not None
            cmd.inputs.append(value)
        elif name in POSITIONAL:
            cmd.inputs.append(name)
        elif name == "-l":
            cmd.inputs.append(f"-l{value}")
        elif name == "-o":
            cmd.output = str(value)
        elif name == "-e":
            o["entry"] = value
        elif name == "-L":
            o.setdefault("library_paths", []).append(value)
        elif name == "-m":
            target = EMULATION_TO_TARGET.get(str(value))
            if target is None:
                raise LinkError(f"unrecognised emulation -m {value} (supported: "
                                f"{', '.join(EMULATION_TO_TARGET)})")
            o["target"] = target
        elif name == "--target":
            o["target"] = value
        elif name == "--dynamic-linker":
            o["dynamic_linker"] = value
        elif name == "--rpath":
            # GNU ld joins the values with `:`, leaving out one the list holds already
            # (starting at a component and ending at a `:` or the end)
            joined: str = o.get("runpath") or ""
            if not joined:
                o["runpath"] = value
            elif not any(f"{joined[m.end():]}:".startswith(f"{value}:")
                         for m in re.finditer(r"(?:^|:)", joined)):
                o["runpath"] = f"{joined}:{value}"
        elif name == "--map":
            o["map_file"] = value  # linkharness's JSON map
        elif name == "-Map":
            o["text_map"] = value  # GNU ld's text map
        elif name == "-M":
            o["print_map"] = True
        elif name == "--sysroot":
            o["sysroot"] = value
        elif name == "--hash-style":
            if value not in ("sysv", "gnu", "both"):
                raise LinkError(f"--hash-style must be sysv, gnu or both, not {value!r}")
            o["hash_style"] = value
        elif name == "-z":
            _z_option(cmd, str(value))
        elif name == "-u":
            cmd.undefined.append(str(value))
        elif name == "--export-dynamic":
            o["export_dynamic"] = True
        elif name == "-s":
            o["strip"] = True
        elif name == "-S":
            o["strip_debug"] = True
        elif name == "-q":  # --emit-relocs: linker/elf/emit_relocs.py
            o["emit_relocs"] = True
        elif name == "--compress-debug-sections":
            o["compress_debug_sections"] = _compression(str(value))
        elif name == "--eh-frame-hdr":
            o["eh_frame_hdr"] = True
        elif name == "--no-pie":
            o["pie"] = False
        elif name == "--no-dynamic-linker":
            pass
        elif name == "--pie":
            o["pie"] = True
            o.pop("shared", None)  # GNU ld: the last of -shared and -pie decides
        elif name == "--shared":
            o["shared"] = True
        elif name in ("--relax", "--no-relax"):
            o["relax"] = name == "--relax"
        elif name == "--no-undefined":
            o["no_undefined"] = True
        elif name == "-soname":
            o["soname"] = value
        elif name in ("-Bsymbolic", "-Bsymbolic-functions", "-Bno-symbolic"):
            o["symbolic"] = {"-Bsymbolic": "all", "-Bsymbolic-functions": "functions",
                             "-Bno-symbolic": "none"}[name]
        elif name == "--version-script":
            o.setdefault("version_scripts", []).append(str(value))
        elif name == "--default-symver":
            o["default_symver"] = True
        elif name == "--exclude-libs":
            o.setdefault("exclude_libs", []).extend(
                n for n in re.split(r"[,:]", str(value)) if n)
        elif name == "-T":
            raise LinkError(f"{name} linker scripts are not supported (only GROUP/INPUT "
                            "scripts such as libc.so)")
        elif name in ("-v", "--version", "-V"):
            cmd.print_version = True
        elif name == "--build-id":
            o["build_id"] = value if value is not None else "sha1"
        elif name == "--error-limit":
            try:
                o["error_limit"] = int(str(value), 0)
            except ValueError:
                raise LinkError(f"--error-limit wants a number, not {value!r}") from None
        elif name in ("--fatal-warnings", "--no-fatal-warnings"):
            o["fatal_warnings"] = name == "--fatal-warnings"
        elif name == "--warn-common":
            o["warn_common"] = True
        elif name == "--wrap":
            o.setdefault("wrap", []).append(str(value))
        elif name == "--defsym":
            sym, eq, expr = str(value).partition("=")
            if not eq or not sym:
                raise LinkError(f"--defsym {value}: want SYMBOL=EXPRESSION")
            o.setdefault("defsym", []).append((sym.strip(), expr))
        elif name == "-y":
            o.setdefault("trace_symbols", []).append(str(value))
        elif name == "-t":
            o["trace"] = True
        elif name == "-x":
            o["discard_all"] = True
        elif name in ("--enable-new-dtags", "--disable-new-dtags"):
            o["new_dtags"] = name == "--enable-new-dtags"
        elif name in ("--audit", "--depaudit"):
            key = name[2:]
            o[key] = f"{o[key]}:{value}" if key in o else value
        elif name in ("-init", "-fini"):
            o[name[1:]] = value
        elif name == "--dynamic-list":
            from .dynamic_list import read_dynamic_list
            o.setdefault("dynamic_list", []).extend(read_dynamic_list(str(value)))
        elif name in ("--gc-sections", "--print-gc-sections"):
            o[name[2:].replace("-", "_")] = True
        elif name == "--no-gc-sections":
            o["gc_sections"] = False
        elif name in ("--export-dynamic-symbol", "--export-dynamic-symbol-list"):
            from .dynamic_list import read_dynamic_list
            o.setdefault("export_dynamic_symbols", []).extend(
                [str(value)] if name == "--export-dynamic-symbol"
                else read_dynamic_list(str(value)))
        elif name in ("--warn-unresolved-symbols", "--error-unresolved-symbols"):
            o["warn_undefined"] = name == "--warn-unresolved-symbols"
        elif name == "--dynamic-list-data":
            o["dynamic_list_data"] = True
        elif name == "-a":  # HP-UX spelling of -Bstatic / -Bdynamic, positional too
            if value not in ("archive", "shared", "default"):
                raise LinkError(f"-a {value}: want archive, shared or default")
            cmd.inputs.append("-Bstatic" if value == "archive" else "-Bdynamic")
        elif name == "-Y":  # Solaris: more default library directories, searched last
            dirs = str(value).removeprefix("P,")
            o.setdefault("default_library_paths", []).extend(dirs.split(":"))
        elif name == "-allow-multiple-definition":
            o["allow_multiple_definition"] = True
        elif name == "--sort-common":
            order = value if value is not None else "descending"
            if order not in ("ascending", "descending"):
                raise LinkError(f"--sort-common={value}: want ascending or descending")
            o["sort_common"] = order
        elif name == "-Ttext-segment":
            o["image_base"] = _address(name, str(value))
        elif name in ("-Ttext", "-Tdata", "-Tbss", "--section-start"):
            from .elf.placement import parse_section_start
            o.setdefault("section_starts", []).append(parse_section_start(name, str(value)))
        elif name in ("-Trodata-segment", "-Tldata-segment"):
            raise LinkError(f"{name} {value} is not supported (-Ttext-segment sets the image "
                            "base; --section-start places one section)")
        elif name == "--sort-section":
            if value not in ("name", "alignment"):
                raise LinkError(f"--sort-section={value}: want name or alignment")
            o["sort_section"] = value
        elif name == "-r":
            o["relocatable"] = True
        elif name == "-unique":
            if value is not None:
                raise LinkError(f"-unique={value}: a section pattern is not supported (bare "
                                "-unique splits every orphan section)")
            o["unique"] = True
        elif name == "--unresolved-symbols":
            _unresolved_symbols(o, str(value))
        elif name == "--verbose":
            cmd.verbose = True
        elif name in IGNORED or name.startswith("-plugin"):
            cmd.ignore(name, IGNORED.get(name, ""))
        else:
            raise LinkError(f"unrecognised option {name}")
    if o.get("relocatable"):
        _check_relocatable_options(o)
    if "library_paths" in o:
        # GNU ld: a directory starting with `=` or `$SYSROOT` is under --sysroot
        root = str(o.get("sysroot") or "")
        o["library_paths"] = [root + path[1:] if path.startswith("=") else
                              root + path[len("$SYSROOT"):] if path.startswith("$SYSROOT")
                              else path for path in o["library_paths"]]
    if "default_library_paths" in o:
        o.setdefault("library_paths", []).extend(o.pop("default_library_paths"))
    if o.get("pie") and "--no-dynamic-linker" in argv:
        # gcc -static-pie: an ET_DYN with no PT_INTERP that relocates itself (rcrt1.o's
        # _dl_relocate_static_pie); we write PIEs for ld.so only.
        raise LinkError("-static-pie (a self-relocating PIE without an interpreter) is not "
                        "supported; link with -static or with -pie")
    return cmd


# Options that change an executable's output and that -r does not honour.  The others gcc
# passes with -r (--eh-frame-hdr, -dynamic-linker, --hash-style, --as-needed) only matter
# to dynamic executables, and a relocatable output has no such part.
_NOT_WITH_R = {"pie": "-pie", "strip": "-s", "strip_debug": "-S", "gc_sections": "--gc-sections",
               "build_id": "--build-id", "wrap": "--wrap", "defsym": "--defsym",
               "text_map": "-Map", "print_map": "-M", "map_file": "--map",
               "compress_debug_sections": "--compress-debug-sections", "discard_all": "-x",
               "image_base": "-Ttext-segment", "sort_common": "--sort-common",
               "allow_multiple_definition": "-z muldefs", "relro": "-z relro",
               "export_dynamic": "--export-dynamic", "static": "-static",
               "section_starts": "--section-start", "sort_section": "--sort-section"}


def _check_relocatable_options(options: dict[str, Any]) -> None:
    for key, spelling in _NOT_WITH_R.items():
        value = options.get(key)
        if value and value != "none" and not (key == "pie" and value is False):
            raise LinkError(f"{spelling} with -r is not supported (a relocatable output "
                            "keeps every section, symbol and relocation as it is)")


def _compression(value: str) -> str:
    from .elf.compressed import METHODS, have_zstd
    if value == "none" or (value in METHODS and (value != "zstd" or have_zstd())):
        return "zlib" if value == "zlib-gabi" else value
    raise LinkError(f"--compress-debug-sections={value}: want none or zlib"
                    + (" or zstd" if have_zstd() else " (zstd needs the zstandard module)"))


def _z_option(cmd: Command, value: str) -> None:
    from .elf.gnu_property import ISA_LEVELS, X86_FEATURE_1_AND, X86_ISA_1_NEEDED, Z_FEATURES
    key = value.split("=", 1)[0]
    if value == "now":
        cmd.options["bind_now"] = True
    elif value == "lazy":
        cmd.options["bind_now"] = False
    elif value == "execstack":
        cmd.options["exec_stack"] = True
    elif value == "noexecstack":
        cmd.options["exec_stack"] = False
    elif value in ("relro", "norelro"):
        cmd.options["relro"] = value == "relro"
    elif value in ("origin", "nodefaultlib"):
        cmd.options[value] = True
    elif value in ("separate-code", "noseparate-code"):
        cmd.options["separate_code"] = value == "separate-code"
    elif key == "max-page-size":
        size = _z_number(value)
        if size <= 0 or size & (size - 1):
            raise LinkError(f"-z {value}: the page size must be a power of two")
        cmd.options["max_page_size"] = size
    elif value in Z_FLAGS_1:
        bit = Z_FLAGS_1[value]
        cmd.options["flags_1_tag"] = True
        if bit is not None:
            cmd.options["more_flags_1"] = cmd.options.get("more_flags_1", 0) | bit
        elif value in Z_SHARED_FLAGS_1:
            cmd.options["shared_flags_1"] = (cmd.options.get("shared_flags_1", 0)
                                             | Z_SHARED_FLAGS_1[value])
    elif value in Z_FEATURES or value in ISA_LEVELS:
        # -z ibt / shstk: FEATURE_1_AND bits; -z x86-64-vN: an ISA_1_NEEDED bit (forced
        # into the merged .note.gnu.property whatever the inputs say, as GNU ld does)
        kind, bit = ((X86_FEATURE_1_AND, Z_FEATURES[value]) if value in Z_FEATURES
                     else (X86_ISA_1_NEEDED, ISA_LEVELS[value]))
        forced = cmd.options.setdefault("z_properties", {})
        forced[kind] = forced.get(kind, 0) | bit
    elif value == "ibtplt":
        cmd.options["ibt_plt"] = True
    elif value in Z_PROPERTIES_REFUSED:
        raise LinkError(f"-z {value} is not supported (linkharness writes no LAM property)")
    elif value == "muldefs":
        cmd.options["allow_multiple_definition"] = True
    elif value in ("undefs", "defs"):
        # -z defs: a shared object's undefined symbols are errors too (an executable's
        # always are); -z undefs lets them be undefined everywhere.
        cmd.options["ignore_undefined"] = value == "undefs"
        cmd.options["no_undefined"] = value == "defs"
    elif value in ("text", "notext", "textoff"):
        cmd.options["text_relocations"] = value != "text"
    elif key == "stack-size":
        size = _z_number(value)
        if not 0 <= size < 1 << 32:  # PT_GNU_STACK's p_memsz; a 4 GiB stack is no stack
            raise LinkError(f"-z {value}: the stack size must be below 0x100000000")
        cmd.options["stack_size"] = size
    elif value in ("dynamic-undefined-weak", "nodynamic-undefined-weak"):
        cmd.options["dynamic_undefined_weak"] = value == "dynamic-undefined-weak"
    elif value == "separate-loadable-segments":
        # Every PT_LOAD already starts on a page of its own in the file and in memory
        # (what the keyword asks beyond -z separate-code): honoured by the layout itself.
        cmd.options["separate_code"] = True
    elif key in Z_IGNORED:
        cmd.ignore(f"-z {value}", "")
    else:
        cmd.warn(f"-z {value}", "unknown -z keyword")


def _unresolved_symbols(options: dict[str, Any], value: str) -> None:
    """GNU ld's --unresolved-symbols: for an executable only the objects' undefined
    symbols are checked, so ignore-in-shared-libs is the same as report-all."""
    if value not in ("ignore-all", "report-all", "ignore-in-object-files",
                     "ignore-in-shared-libs"):
        raise LinkError(f"--unresolved-symbols={value}: want ignore-all, report-all, "
                        "ignore-in-object-files or ignore-in-shared-libs")
    options["ignore_undefined"] = value in ("ignore-all", "ignore-in-object-files")


def _address(option: str, text: str) -> int:
    try:
        address = int(text, 16) if not text.lower().startswith("0x") else int(text, 0)
    except ValueError:
        raise LinkError(f"{option} {text}: want a hexadecimal address") from None
    if address >> 64:
        raise LinkError(f"{option} {text}: the address is past 64 bits")
    if address % 0x1000:
        raise LinkError(f"{option} {text}: the address must be page-aligned (0x1000)")
    return address


def _z_number(value: str) -> int:
    key, _, text = value.partition("=")
    try:
        return int(text, 0)
    except ValueError:
        raise LinkError(f"-z {value}: {key} wants a number") from None
