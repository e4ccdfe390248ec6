"""`link()`: the Python API, and the one place that strings a link together.

    load + resolve (the format's loader) -> pipeline.run_back_half over the format's
    parts (ElfParts, MachoParts) -> temp file -> rename -> maps

The output appears only when the whole link succeeded: it is written to a temporary file in
the output's directory and renamed over the target, so a failing link leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec

from .errors import (
    DEFAULT_ERROR_LIMIT,
    Diagnostic,
    Diagnostics,
    LinkError,
    collecting,
    current,
)
from .pipeline import LinkedImage, run_back_half
from .records import dataclass, field
from .resolve import GlobalSymbol, SymbolTable, parse_defsym_expression
from .targets import TARGETS, ArchTraits
from .trace import print_traces

DEFAULT_ENTRY = "_start"


@dataclass(frozen=True)
class LinkResult:
    output: str
    entry: int
    dynamic: bool
    needed: tuple[str, ...]
    warnings: tuple[Diagnostic, ...] = field(default_factory=tuple)  # str(w): its line


P = ParamSpec("P")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for one link.  A large link makes millions of objects
    that live until its end; each full collection walks all of them again, which cost a
    link of 20,000 objects more than a quarter of its time.  What cycles the link leaves
    are collected after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _collecting_diagnostics(func: Callable[P, LinkResult]) -> Callable[P, LinkResult]:
    """Run a link with its own collector of errors and warnings (sized by the link's
    `error_limit` and `fatal_warnings` arguments); its warnings go into the result."""
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> LinkResult:
        limit = kwargs.get("error_limit", DEFAULT_ERROR_LIMIT)
        diagnostics = Diagnostics(error_limit=int(limit),  # type: ignore[call-overload]
                                  fatal_warnings=bool(kwargs.get("fatal_warnings")))
        with collecting(diagnostics), collector_paused():
            result = func(*args, **kwargs)
        return dataclasses.replace(result, warnings=tuple(diagnostics.warnings))
    return wrapper


@_collecting_diagnostics
def link(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    target: str = "elf64-x86-64",
    entry: str | None = None,
    library_paths: Sequence[str] = (),
    static: bool = False,
    dynamic_linker: str | None = None,
    bind_now: bool = False,
    hash_style: str = "both",
    exec_stack: bool | None = None,
    runpath: str | None = None,
    export_dynamic: bool = False,
    strip: bool = False,
    strip_debug: bool = False,
    compress_debug_sections: str = "none",
    map_file: str | os.PathLike[str] | None = None,
    sysroot: str = "",
    undefined: Sequence[str] = (),
    eh_frame_hdr: bool = False,
    relro: bool = False,
    pie: bool = False,
    macho_classic: bool = False,
    imports: Sequence[str] = (),
    syslibroot: str = "",
    platform_version: tuple[int, int] = (0x000A0900, 0x000B0000),
    fixup_chains: bool | None = None,
    macho_options: Mapping[str, Any] | None = None,
    build_id: str | None = None,
    error_limit: int = DEFAULT_ERROR_LIMIT,
    fatal_warnings: bool = False,
    warn_common: bool = False,
    wrap: Sequence[str] = (),
    defsym: Sequence[tuple[str, str]] = (),
    trace_symbols: Sequence[str] = (),
    trace: bool = False,
    new_dtags: bool = True,
    audit: str | None = None,
    depaudit: str | None = None,
    origin: bool = False,
    nodefaultlib: bool = False,
    stack_size: int = 0,
    discard_all: bool = False,
    init: str = "_init",
    fini: str = "_fini",
    text_map: str | os.PathLike[str] | None = None,
    print_map: bool = False,
    allow_multiple_definition: bool = False,
    ignore_undefined: bool = False,
    warn_undefined: bool = False,
    separate_code: bool = True,
    max_page_size: int = 0,
    sort_common: str | None = None,
    image_base: int | None = None,
    more_flags_1: int = 0,
    flags_1_tag: bool = False,
    shared_flags_1: int = 0,
    warn_exec_stack: bool = False,
    dynamic_list: Sequence[str] = (),
    dynamic_list_data: bool = False,
    export_dynamic_symbols: Sequence[str] = (),
    gc_sections: bool = False,
    print_gc_sections: bool = False,
    shared: bool = False,
    soname: str | None = None,
    symbolic: str = "none",
    no_undefined: bool = False,
    dynamic_undefined_weak: bool | None = None,
    text_relocations: bool = False,
    version_scripts: Sequence[str] = (),
    default_symver: bool = False,
    exclude_libs: Sequence[str] = (),
    relax: bool = True,
    relocatable: bool = False,
    unique: bool = False,
    z_properties: Mapping[int, int] | None = None,
    section_starts: Sequence[tuple[str, int]] = (),
    sort_section: str | None = None,
    ibt_plt: bool = False,
    emit_relocs: bool = False,
) -> LinkResult:
    """Link `inputs` into the executable `output`.

    `inputs` are in command-line order: paths of objects, archives, shared libraries and
    linker scripts, and the positional options `-lNAME`, `--start-group`, `--end-group`,
    `--as-needed`, `--no-as-needed`, `-Bstatic`, `-Bdynamic`, `--whole-archive`,
    `--no-whole-archive`, `--push-state`, `--pop-state`.  Raises LinkError.

    For `target="macho-x86_64"`, inputs are Mach-O objects, archives and .tbd stubs;
    `macho_classic` writes the seed's stub/indirect-table form, `imports` adds
    `SYM@INSTALL_NAME` imports without a stub file; `fixup_chains` True/False writes
    chained fixups or dyld-info opcodes (None: ld64's default for the deployment target).
    `macho_options` holds the rest of ld64's options (MachoOptions' fields: pie,
    pagezero_size, headerpad, stack_size, exported; and output_kind "dylib" or "bundle",
    install_name, current_version, compatibility_version, undefined_dynamic_lookup);
    `strip` (only imports and __mh_execute_header stay in the symbol table; exports stay
    in the trie), `strip_debug` (-S: no debug map), `discard_all` (-x: no local symbols),
    `map_file`, `text_map` and `print_map` apply too.

    `build_id` is --build-id's style (sha1, md5, uuid, 0xHEX; None or "none": no note).
    Errors are collected up to `error_limit` (0: all) and raised as one LinkError whose
    `diagnostics` are records; warnings come back in `LinkResult.warnings`, or fail the
    link under `fatal_warnings`.  `warn_common`: warn when a COMMON symbol meets a
    definition or another COMMON (GNU ld's --warn-common).  `wrap`: --wrap=SYM names;
    `defsym`: --defsym (NAME, EXPR) pairs; `trace_symbols` (-y) and `trace` (-t) print,
    as GNU ld does, where the named symbols are defined and referenced and which files
    the link reads.  `new_dtags` False writes DT_RPATH and DT_BIND_NOW (GNU ld's
    --disable-new-dtags); `audit`/`depaudit`: DT_AUDIT/DT_DEPAUDIT; `origin` and
    `nodefaultlib`: -z origin, -z nodefaultlib; `stack_size`: PT_GNU_STACK's p_memsz;
    `discard_all`: -x; `init`/`fini`: the symbols DT_INIT and DT_FINI name.
    `text_map` (-Map) writes GNU ld's text map there, `print_map` (-M) to stdout;
    `map_file` is linkharness's JSON map.  `allow_multiple_definition`: -z muldefs (the
    first definition wins); `ignore_undefined`: --unresolved-symbols=ignore-all (an
    object's undefined symbols resolve to 0).  `separate_code` False: -z noseparate-code;
    `max_page_size`: -z max-page-size (a power of two; 0: the target's page).
    `sort_common`: --sort-common's order (ascending or descending alignment);
    `image_base`: -Ttext-segment (the first segment's address).  `more_flags_1`: DT_FLAGS_1
    bits of -z keywords; `flags_1_tag`: write DT_FLAGS_1 even when 0 (as GNU ld does);
    `shared_flags_1`: bits written only in a shared object (-z nodelete/nodlopen/initfirst).
    `warn_exec_stack`: GNU ld's warnings for an object asking for an executable stack
    (the GNU command line turns them on; from Python they are opt-in).
    `dynamic_list`: names and globs exported to .dynsym (--dynamic-list FILE's entries);
    `dynamic_list_data`: every data object is exported too; `export_dynamic_symbols`
    (--export-dynamic-symbol[-list]): more exports of an executable (a shared object
    exports every default-visibility definition anyway).  `gc_sections`: drop the
    sections nothing live refers to (linker/gc.py); `print_gc_sections` lists them.

    `shared`: write a shared object (-shared; linker/elf/dso.py) named `soname`
    (DT_SONAME); `symbolic`: "all" (-Bsymbolic) or "functions" (-Bsymbolic-functions)
    binds the object's own references to its own definitions; `no_undefined`: -z defs;
    `text_relocations`: -z notext (DT_TEXTREL and a warning instead of an error);
    `version_scripts`: --version-script files; `default_symver`: --default-symver; `exclude_libs`: --exclude-libs archive
    names (or ALL) whose members' symbols are not exported.  `relax` False (--no-relax)
    keeps every GOT load instead of rewriting loads of link-time-known addresses.

    `relocatable` (-r): write one ET_REL object instead (linker/elf/relocatable.py), with
    `unique` (-unique) keeping each input section a section of its own; in an executable,
    `unique` keeps each orphan input section (a name GNU ld's script does not place) apart.  `z_properties`:
    .note.gnu.property bits forced by -z ibt/shstk/x86-64-vN (type -> bits).
    `section_starts`: (output section, address) of --section-start, -Ttext, -Tdata, -Tbss;
    `sort_section`: --sort-section's order, "name" or "alignment" (linker/elf/placement.py).
    `ibt_plt`: -z ibtplt (linker/elf/ibt_plt.py); `emit_relocs`: --emit-relocs / -q
    (linker/elf/emit_relocs.py).
    """
    diagnostics = current()  # set up by @_collecting_diagnostics
    spec = TARGETS.get(target)
    if spec is None:
        raise LinkError(f"unknown target {target!r} (supported: {', '.join(TARGETS)})")
    if emit_relocs and (strip or spec.format == "macho" or shared):
        raise LinkError("--emit-relocs is supported for ELF executables without -s (its "
                        "relocations name .symtab's symbols)")
    if default_symver and spec.format == "macho":
        raise LinkError("--default-symver is an ELF option (ld64 has no symbol versions)")
    from .output_files import refuse_output_among_inputs
    refuse_output_among_inputs(inputs, output)
    maps = _Maps(map_file, text_map, print_map, tuple(defsym))
    if spec.format == "macho":
        return _link_macho(spec.name, spec.arch, inputs, output, entry, library_paths,
                           syslibroot, macho_classic, imports, platform_version, undefined,
                           fixup_chains,
                           dict(macho_options or {}, strip=strip,
                                strip_debug=strip or strip_debug,
                                discard_locals=discard_all), maps)
    from .elf.build_id import normalise_style
    from .elf.image import ImageOptions
    from .elf.link import ElfParts, provide_linker_symbols
    from .elf.load import Loader
    from .resolve import SymbolTable

    arch = spec.arch
    if relocatable:
        return _link_relocatable(arch, inputs, output, library_paths, sysroot, unique,
                                 z_properties or {}, undefined)
    symtab = SymbolTable(warn_common=warn_common)
    symtab.wrap(list(wrap))
    symtab.allow_multiple_definition = allow_multiple_definition
    symtab.ignore_undefined = ignore_undefined
    symtab.warn_undefined = warn_undefined
    symtab.undefined_needs_relocation = True
    symtab.sort_common = sort_common
    loader = Loader(symtab, arch.name, list(library_paths), sysroot)
    if static:
        loader.item("-Bstatic")
    for name in undefined:  # -u: a reference that can pull archive members
        sym = symtab.intern(name)
        sym.referenced = sym.strong_ref = True
        sym.referrers.append("-u")
    entry_name = entry or DEFAULT_ENTRY
    # GNU ld lets the entry symbol pull an archive member, but a missing entry is only a
    # warning: reference it for the load, and forget the reference if nothing defined it.
    # A shared object has no entry unless -e names one.
    entry_sym = symtab.intern(entry_name) if not shared or entry else None
    fresh_entry = entry_sym is not None and not entry_sym.referenced
    if entry_sym is not None:
        entry_sym.referenced = entry_sym.strong_ref = True
    for name, expr in defsym:  # an alias's target may come from an archive
        aliased = parse_defsym_expression(name, expr)[0]
        if aliased is not None:
            sym = symtab.intern(aliased)
            sym.referenced = sym.strong_ref = True
            sym.referrers.append("--defsym")
    loader.load([os.fspath(i) for i in inputs])
    if entry_sym is not None and fresh_entry and entry_sym.undefined:
        entry_sym.referenced = entry_sym.strong_ref = False
    symtab.define_symbols(list(defsym))
    if trace or trace_symbols:
        print_traces(symtab, trace, trace_symbols)
    symtab.bind_versioned_references()
    symtab.bind_default_versions()
    # A PIE is always dynamic: ld.so must at least rebase it.
    # A shared library named on the command line (not --as-needed) makes the executable
    # dynamic even when nothing is imported from it, as in GNU ld: it is DT_NEEDED and
    # --export-dynamic has a .dynsym to fill.
    dynamic = pie or shared or any(s.imported and s.referenced for s in symtab.symbols) \
        or any(not lib.as_needed for lib in symtab.libraries)
    provide_linker_symbols(symtab, dynamic)
    shared_options = None
    if export_dynamic_symbols and not shared:
        # --export-dynamic-symbol(-list): in an executable, more names for .dynsym
        dynamic_list = (*dynamic_list, *export_dynamic_symbols)
    elif export_dynamic_symbols and (symbolic != "none" or dynamic_list or dynamic_list_data):
        raise LinkError("--export-dynamic-symbol with -Bsymbolic or --dynamic-list in a "
                        "shared object is not supported (it keeps the named symbols "
                        "preemptible); every default-visibility definition is exported "
                        "already")
    if dynamic_undefined_weak and not shared:
        raise LinkError("-z dynamic-undefined-weak in an executable is not supported (its "
                        "undefined weak symbols resolve to 0 at link time)")
    if shared:
        from .elf.dso import SharedOptions
        from .elf.version_script import read_version_scripts
        shared_options = SharedOptions(
            soname=soname, symbolic=symbolic, no_undefined=no_undefined,
            dynamic_undefined_weak=dynamic_undefined_weak is not False,
            text_relocations=text_relocations,
            version_script=read_version_scripts(list(version_scripts), list(library_paths)),
            default_symver=default_symver, exclude_libs=tuple(exclude_libs),
            output_name=os.fspath(output),
            dynamic_list=tuple(dynamic_list), dynamic_list_data=dynamic_list_data)
    if not shared or no_undefined:  # a shared object may leave symbols to ld.so
        symtab.check_undefined()
    diagnostics.check()  # undefined symbols: nothing more can be laid out
    if gc_sections:
        _collect_garbage(symtab, [entry_name, *undefined, init, fini],
                         export_dynamic or shared,
                         tuple(dynamic_list), dynamic_list_data, print_gc_sections)
    if exec_stack is None:
        # GNU ld: an object without .note.GNU-stack may need an executable stack.
        exec_stack = any(o.exec_stack is not False for o in symtab.objects)
        if warn_exec_stack:
            from .elf.stack_note import warn_executable_stack
            warn_executable_stack(symtab.objects)
    opts = ImageOptions(
        dynamic=dynamic,
        dynamic_linker=dynamic_linker or arch.dynamic_linker,
        bind_now=bind_now,
        hash_style=hash_style,
        exec_stack=exec_stack,
        runpath=runpath,
        entry=entry_name,
        eh_frame_hdr=eh_frame_hdr,
        relro=relro,
        pie=pie and not shared,
        strip_debug=strip or strip_debug,  # GNU ld's -s drops debugging sections too
        compress_debug=compress_debug_sections,
        build_id=normalise_style(build_id) if build_id is not None else None,
        new_dtags=new_dtags, audit=audit, origin=origin,
        # GNU ld: the libraries' own DT_AUDIT entries join --depaudit's
        depaudit=":".join(dict.fromkeys(
            [*([depaudit] if depaudit else []),
             *(lib.audit for lib in symtab.libraries if lib.audit)])) or None,
        nodefaultlib=nodefaultlib, stack_size=stack_size, discard_all=discard_all,
        init=init, fini=fini, separate_code=separate_code, max_page_size=max_page_size,
        image_base=image_base, flags_1_tag=flags_1_tag,
        more_flags_1=more_flags_1 | (shared_flags_1 if shared else 0),
        dynamic_list=tuple(dynamic_list), dynamic_list_data=dynamic_list_data,
        shared=shared_options, relax=relax,
        default_symver=os.path.basename(os.fspath(output)) if default_symver else None,
        properties=tuple(sorted((z_properties or {}).items())),
        section_starts=tuple(section_starts), sort_section=sort_section, unique=unique,
        ibt_plt=ibt_plt, emit_relocs=emit_relocs,
    )
    linked = run_back_half(ElfParts(symtab, arch, spec.name, opts, export_dynamic, strip))
    out_path = os.fspath(output)
    maps.write(linked, symtab, out_path)
    return LinkResult(output=out_path, entry=linked.entry, dynamic=dynamic,
                      needed=linked.needed)


@dataclass(frozen=True)
class _Maps:
    """The maps a link was asked for, written from any format's LinkedImage by the same
    code: --map (JSON), -Map FILE and -M (GNU ld's text map)."""

    json_file: str | os.PathLike[str] | None
    text_file: str | os.PathLike[str] | None
    print_text: bool
    defsym: tuple[tuple[str, str], ...]

    def write(self, linked: LinkedImage, symtab: SymbolTable, out_path: str) -> None:
        """The output and every map asked for, all written or none (then a LinkError)."""
        from .output_files import OutputFile, write_all
        files = [OutputFile(out_path, linked.data, executable=True)]
        if self.json_file is not None:
            from .linkmap import build_link_map, render_link_map
            files.append(OutputFile(os.fspath(self.json_file),
                                    render_link_map(build_link_map(linked, symtab)),
                                    role="map file"))
        text = None
        if self.text_file is not None or self.print_text:
            from .textmap import render_text_map
            text = render_text_map(linked, symtab, out_path, self.defsym)
            if self.text_file is not None:
                files.append(OutputFile(os.fspath(self.text_file),
                                        text.encode("utf-8", "surrogateescape"),
                                        role="map file"))
        write_all(files)
        if self.print_text and text is not None:
            _print_bytes_of(text)


def _print_bytes_of(text: str) -> None:
    """Print a map to stdout with the inputs' names as their bytes (one that is not UTF-8
    is held with surrogate escapes, which a text stream refuses)."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        print(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), end="")
        return
    sys.stdout.flush()
    stream.write(text.encode("utf-8", "surrogateescape"))
    stream.flush()


def _link_relocatable(arch: ArchTraits, inputs: Sequence[str | os.PathLike[str]],
                      output: str | os.PathLike[str], library_paths: Sequence[str],
                      sysroot: str, unique: bool, properties: Mapping[int, int],
                      undefined: Sequence[str] = ()) -> LinkResult:
    """-r: load and resolve as GNU ld does (archives pulled for what is still undefined,
    `-u` names included, -l finding only static archives), then write one relocatable
    object."""
    from .elf.load import Loader
    from .elf.relocatable import build_relocatable
    from .elf.relocatable_write import write_relocatable
    from .resolve import SymbolTable
    symtab = SymbolTable()
    loader = Loader(symtab, arch.name, list(library_paths), sysroot)
    loader.item("-Bstatic")
    for name in undefined:  # -u: an undefined reference of the output, pulling members
        sym = symtab.intern(name)
        sym.referenced = sym.strong_ref = True
    loader.load([os.fspath(i) for i in inputs])
    if symtab.libraries:
        raise LinkError("a shared library cannot be an input of a relocatable (-r) link",
                        file=symtab.libraries[0].path)
    current().check()  # duplicate definitions
    data = write_relocatable(build_relocatable(symtab, arch, unique, properties))
    out_path = os.fspath(output)
    from .output_files import OutputFile, write_all
    write_all([OutputFile(out_path, data)])
    return LinkResult(output=out_path, entry=0, dynamic=False, needed=())


def _collect_garbage(symtab: SymbolTable, roots: list[str], export_dynamic: bool,
                     dynamic_list: tuple[str, ...], dynamic_list_data: bool,
                     print_removed: bool) -> None:
    """--gc-sections, with the exports _plan_tables will make as roots."""
    import sys

    from .dynamic_list import matches
    from .gc import collect_garbage
    from .model import SymType
    wanted_by_libs = set().union(*(lib.undefined | lib.symbols.keys()
                                   for lib in symtab.libraries))

    def exported(sym: GlobalSymbol) -> bool:
        return sym.visibility == 0 and (
            export_dynamic or sym.name in wanted_by_libs
            or (dynamic_list_data and sym.type == SymType.OBJECT)
            or (bool(dynamic_list) and matches(dynamic_list, sym.name)))

    for path, name in collect_garbage(symtab, roots, exported):
        if print_removed:
            print(f"linkharness: removing unused section '{name}' in file '{path}'",
                  file=sys.stderr)


def _link_macho(target: str, arch: ArchTraits, inputs: Sequence[str | os.PathLike[str]],
                output: str | os.PathLike[str], entry: str | None,
                library_paths: Sequence[str], syslibroot: str, classic: bool,
                imports: Sequence[str], platform_version: tuple[int, int],
                undefined: Sequence[str], fixup_chains: bool | None,
                more: Mapping[str, Any], maps: _Maps) -> LinkResult:
    diagnostics = current()
    from .macho.image_kind import add_flat_lookup, kind_from_options
    from .macho.link import DYLD_INFO_MIN_OS, LINKER_DEFINED, MachoOptions, MachoParts
    from .macho.load import MachoLoader
    from .resolve import SymbolTable

    symtab = SymbolTable()
    assert arch.macho is not None
    more = dict(more or {})
    kind = kind_from_options(more, os.fspath(output))  # -dylib / -bundle
    dynamic_lookup = more.pop("undefined_dynamic_lookup", False)
    # dyld learnt LC_DYLD_INFO in 10.6: for an older minimum, ld64 writes the classic form.
    classic = classic or platform_version[0] < DYLD_INFO_MIN_OS
    # LC_UNIXTHREAD enters a crt1-style `start` (classic, or before LC_MAIN's macOS 10.8).
    unixthread = kind.executable and (classic or platform_version[0] < arch.macho.lc_main_min_os)
    # ld64 treats the entry point as an undefined reference (it can come from an archive);
    # a dylib or bundle has none.
    entry_names = [entry] if entry else ([] if unixthread or not kind.executable else ["_main"])
    for name in [*undefined, *entry_names]:
        sym = symtab.intern(name)
        sym.referenced = sym.strong_ref = True
        referrer = "-u" if name in undefined else "-e (entry point)"
        if referrer not in sym.referrers:  # `-u _main` and the entry _main: named once
            sym.referrers.append(referrer)
    loader = MachoLoader(symtab, list(library_paths), syslibroot, arch.name)
    loader.load([os.fspath(i) for i in inputs], list(imports))
    if unixthread and not entry:
        loader.add_builtin_start()  # none for x86-64: enter at start if defined, else _main
    for name in LINKER_DEFINED:
        symtab.define_linker_symbol(name)
    if dynamic_lookup and add_flat_lookup(symtab):
        kind = dataclasses.replace(kind, flat_imports=True)
    symtab.check_undefined()
    diagnostics.check()
    opts = MachoOptions(entry=entry or ("start" if unixthread and "start" in symtab.by_name
                                        else "_main"),
                        classic=classic, min_os=platform_version[0], sdk=platform_version[1],
                        fixup_chains=fixup_chains, kind=kind, dynamic_lookup=dynamic_lookup,
                        **more)
    linked = run_back_half(MachoParts(symtab, arch, target, opts))
    diagnostics.check()
    out_path = os.fspath(output)
    maps.write(linked, symtab, out_path)
    return LinkResult(output=out_path, entry=0, dynamic=bool(symtab.libraries),
                      needed=linked.needed)
