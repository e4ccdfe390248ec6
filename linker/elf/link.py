"""The ELF back half of a link: from a resolved symbol table to the bytes of an executable.

scan -> synthesize GOT/PLT -> plan output sections and dynamic tables -> lay out ->
resolve addresses -> render tables -> apply relocations -> serialise.
"""

from __future__ import annotations

import os

from ..apply import SymbolAddresses, apply_relocations, symbol_addresses
from ..dynamic_list import matches
from ..errors import warn
from ..layout import (
    Layout,
    OutputSection,
    Segment,
    assign_addresses,
    merge_read_only_into_code,
)
from ..model import InputSection, SectionFlags, SymType
from ..records import dataclass
from ..resolve import GlobalSymbol, SymbolTable
from ..scan import ScanResult, pick_instruction_forms, scan_relocations
from ..synth import Synthetic, build_synthetic
from ..targets import ArchTraits
from . import sections as policy
from .build_id import NOTE_NAME, fill_build_id, note_section
from .ctors import fold_ctors_into_init_arrays
from .dso import (
    SharedOptions,
    exported_by_shared,
    preemptible_ids,
    refuse_preinit_array,
    version_indices,
)
from .dynamic import VER_FLG_BASE, DynamicTables, plan_dynamic
from .eh_frame import add_eh_frame_hdr, pack_eh_frame_inputs, render_eh_frame_hdr
from .emit_relocs import input_relocations, tls_sequences_as_read
from .gnu_property import (
    PROPERTY_NOTE,
    merged_property_note,
    property_section,
    wants_ibt_plt,
)
from .got_relax import relax_got_loads
from .headers import SHT_RELA
from .image import (
    ElfImage,
    ImageOptions,
    add_dynamic_sections,
    collect_output_sections,
    dynamic_entries,
    dynsym_value,
    make_segments,
    plan_relocations,
)
from .merge import merge_sections
from .nonalloc import (
    collect_non_alloc,
    compress_debug,
    place_non_alloc,
    strip_debug_inputs,
    tombstone,
)
from .pie import plan_relative
from .placement import sort_inputs, split_at_section_starts
from .relro import relro_region, reserve_relro
from .tls_dynamic import plan_tls_relocations
from .tls_relax import relax_tls_in_executable
from .write import count_program_headers, note_runs, serialize, tls_block

# Symbols the linker provides when a program refers to them and defines them nowhere.
LINKER_SYMBOLS = (
    "_GLOBAL_OFFSET_TABLE_", "_DYNAMIC", "__ehdr_start", "__executable_start", "_etext",
    "etext", "__etext", "_edata", "edata", "__bss_start", "_end", "end",
    "__init_array_start", "__init_array_end", "__fini_array_start", "__fini_array_end",
    "__preinit_array_start", "__preinit_array_end", "__dso_handle",
    "__rela_iplt_start", "__rela_iplt_end",
)


@dataclass
class ElfLinkResult:
    image: bytearray
    elf: ElfImage
    scan: ScanResult
    synthetic: Synthetic


def provide_linker_symbols(symtab: SymbolTable, dynamic: bool) -> None:
    names = list(LINKER_SYMBOLS)
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is not None and policy.is_identifier(sec.name):
                names += [f"__start_{sec.name}", f"__stop_{sec.name}"]
    for name in names:
        symtab.define_linker_symbol(name)
    if dynamic:
        dyn = symtab.intern("_DYNAMIC")
        if dyn.file is None:
            dyn.linker_defined, dyn.dso, dyn.dynsym = True, None, None


def link_elf(symtab: SymbolTable, arch: ArchTraits, opts: ImageOptions,
             export_dynamic: bool = False) -> ElfLinkResult:
    if opts.strip_debug:
        strip_debug_inputs(symtab)
    fold_ctors_into_init_arrays(symtab.objects, arch.word)
    pack_eh_frame_inputs(symtab.objects)
    merge_sections(symtab)
    shared = opts.shared
    exported = []
    if shared is not None:
        refuse_preinit_array(symtab)
        exported = exported_by_shared(symtab, shared)
    preemptible = preemptible_ids(symtab, shared, exported)
    before_tls = input_relocations(symtab) if opts.emit_relocs else {}
    if shared is None:  # an executable's TLS block is at a fixed offset from TP
        relax_tls_in_executable(symtab, preemptible)
    pick_instruction_forms(symtab)  # before relaxation reads the instructions
    if opts.relax:
        relax_got_loads(symtab, preemptible)
    scan = scan_relocations(symtab, arch.word, pie=opts.pie, preemptible=preemptible,
                            shared=shared is not None,
                            text_relocations=shared is not None and shared.text_relocations)
    pic = scan.pie  # a PIE or a shared object: linked at 0, rebased by ld.so
    ibt_plt = opts.ibt_plt or wants_ibt_plt(symtab.objects, arch.word, dict(opts.properties))
    synthetic = build_synthetic(arch, symtab, scan, dynamic=opts.dynamic, pie=pic,
                                ibt_plt=ibt_plt)
    outs = collect_output_sections(symtab, opts.unique)
    non_alloc = list(collect_non_alloc(symtab).values())
    tables: DynamicTables | None = None
    deferred = DeferredLayout()
    if opts.dynamic:
        tables = _plan_tables(symtab, arch, opts, export_dynamic, scan, exported)
        plan_relocations(tables, arch, deferred, synthetic, scan, symtab)
        plan_tls_relocations(tables, arch, deferred, synthetic, scan)
        if pic:
            plan_relative(tables, arch, deferred, synthetic, scan, symtab)
        add_dynamic_sections(outs, tables, opts)
        entries = dynamic_entries(outs, tables, opts, _defined(symtab, opts.init),
                                  _defined(symtab, opts.fini))
        outs[".dynamic"].size = len(entries) * 2 * arch.word
    if opts.eh_frame_hdr and ".eh_frame" in outs:
        add_eh_frame_hdr(outs)
    if opts.build_id is not None:
        outs[NOTE_NAME] = note_section(opts.build_id)
    property_note = merged_property_note(symtab.objects, arch.word, dict(opts.properties))
    if property_note is not None:
        outs[PROPERTY_NOTE] = property_section(property_note, arch.word)
    if ".rela.iplt" in outs:
        outs[".rela.iplt"].meta.update(type=SHT_RELA, entsize=24)
    if opts.sort_section is not None:
        sort_inputs(outs, opts.sort_section)
    segments = make_segments(outs)
    if not opts.separate_code and len(segments) > 1 and SectionFlags.EXEC in segments[1].flags:
        # -z noseparate-code: one R+X segment before the data
        segments[:2] = [merge_read_only_into_code(segments[0], segments[1])]
    segments, fixed = split_at_section_starts(segments, dict(opts.section_starts))
    page = opts.max_page_size or arch.page_size
    relro = reserve_relro(segments, page) if opts.relro else []
    has_notes = note_runs(o for seg in segments for o in seg.sections)
    has_tls = any(SectionFlags.TLS in o.flags for o in outs.values())
    phnum = count_program_headers(opts.dynamic, len(segments), has_notes,
                                  ".eh_frame_hdr" in outs, has_tls, bool(relro),
                                  PROPERTY_NOTE in outs, shared=shared is not None)
    ehdr = 64 if arch.word == 8 else 52
    phent = 56 if arch.word == 8 else 32
    base = 0 if pic else arch.image_base  # a PIE is linked at 0, as GNU ld does
    if opts.image_base is not None:  # -Ttext-segment
        base = opts.image_base
    layout = assign_addresses(segments, base=base, page=page,
                              header_size=ehdr + phnum * phent, fixed=fixed)
    deferred.layout = layout
    ordered = [o for seg in segments for o in seg.sections]
    named = {o.name: o for o in ordered}
    defined = _linker_symbol_values(named, segments, base)
    # After the segments: debug information and the rest, at address 0.
    file_end = place_non_alloc(non_alloc, layout, layout.end_of_file_data)
    syms = symbol_addresses(symtab, layout, synthetic, scan, defined)
    elf = ElfImage(arch, ordered + non_alloc, segments, layout, syms, tables, 0, phnum, opts,
                   named)
    elf.entry = _entry_address(symtab, syms, named, opts.entry, shared is not None)
    elf.relro = relro_region(relro, segments, page)
    elf.emit_tables = tls_sequences_as_read(symtab, before_tls) if opts.emit_relocs else {}
    elf.gnu_osabi = any(bool((o.symbols.type == SymType.IFUNC).any()) for o in symtab.objects)
    image = bytearray(file_end)
    _copy_inputs(image, ordered + non_alloc)
    deferred.image = image
    tls = tls_block(ordered)
    if tables is not None:
        out_index = {id(sec): n + 1 for n, o in enumerate(ordered) for sec in o.inputs}
        named[".dynsym"].render = lambda: tables.render_dynsym(
            dynsym_value(syms, out_index, scan.canonical, tls.addr if tls else 0,
                         synthetic.iplt))
        named[".dynstr"].render = tables.dynstr.bytes
        named[".dynamic"].render = lambda: _render_dynamic(entries, syms, arch.word)
    for out in ordered:
        if out.render is not None:
            data = out.render()
            assert len(data) == out.size, (out.name, len(data), out.size)
            image[out.file_offset:out.file_offset + len(data)] = data
    got_base = defined.get("_GLOBAL_OFFSET_TABLE_", 0)
    apply_relocations(image, symtab, layout, syms, scan, synthetic, got_base,
                      tls.thread_pointer if tls else 0, tls.addr if tls else 0, tombstone)
    rel_dyn_name = ".rela.dyn" if arch.is_rela else ".rel.dyn"
    if tables is not None and rel_dyn_name in named:
        # RELA addends of RELATIVE (and own-TLS TPOFF) relocations are the fields'
        # link-time values.
        rel_dyn = named[rel_dyn_name]
        assert rel_dyn.render is not None
        image[rel_dyn.file_offset:rel_dyn.file_offset + rel_dyn.size] = rel_dyn.render()
    if ".eh_frame_hdr" in named:
        render_eh_frame_hdr(image, named[".eh_frame_hdr"], named[".eh_frame"], arch.word)
    if opts.compress_debug != "none":
        compress_debug(image, non_alloc, layout.end_of_file_data, arch.word,
                       opts.compress_debug)
    return ElfLinkResult(image, elf, scan, synthetic)


def write_elf(result: ElfLinkResult, symtab: SymbolTable, strip: bool) -> bytearray:
    image = serialize(result.elf, result.image, symtab, strip)
    style = result.elf.options.build_id
    if style is not None:  # last: a hash covers the finished file
        fill_build_id(image, result.elf.named[NOTE_NAME], style)
    return image


class DeferredLayout:
    """Dynamic relocations are planned (counted) before layout and addressed after it."""

    def __init__(self) -> None:
        self.layout: Layout | None = None
        self.image: bytearray | None = None

    def address_of(self, sec: InputSection) -> int:
        assert self.layout is not None, "address asked before layout"
        return self.layout.address_of(sec)

    def read_word(self, sec: InputSection, offset: int, width: int) -> int:
        """The field's value as the relocation pass left it (a RELATIVE's addend)."""
        assert self.layout is not None and self.image is not None
        at = self.layout.section_file_offset[id(sec)] + offset
        return int.from_bytes(self.image[at:at + width], "little")


def _plan_tables(symtab: SymbolTable, arch: ArchTraits, opts: ImageOptions,
                 export_dynamic: bool, scan: ScanResult,
                 shared_exports: list[GlobalSymbol]) -> DynamicTables:
    if opts.shared is not None:
        return _plan_shared_tables(symtab, arch, opts, opts.shared, scan, shared_exports)
    canonical = scan.canonical
    imports = [s for s in symtab.symbols if s.imported and s.referenced]
    exports = [s for s in symtab.symbols if s.file is not None and s.dso is not None]
    # What a linked library refers to, or defines itself (then the executable's definition
    # must interpose, inside the library too), is exported, as GNU ld does.
    wanted_by_libs = set().union(*(lib.undefined | lib.symbols.keys()
                                   for lib in symtab.libraries))
    exports += [s for s in symtab.symbols if s.file is not None and s.dso is None
                and s.visibility == 0 and not s.linker_defined
                and (export_dynamic or s.name in wanted_by_libs
                     or (opts.dynamic_list_data and s.type == SymType.OBJECT)
                     or (bool(opts.dynamic_list) and matches(opts.dynamic_list, s.name)))]
    used = {id(s.dso) for s in imports + exports if s.dso is not None}
    needed = [lib.soname for lib in symtab.libraries if not lib.as_needed or id(lib) in used]
    needed = list(dict.fromkeys(needed))
    tables = plan_dynamic(arch, needed, imports, exports, canonical)
    if opts.runpath:
        tables.runpath = opts.runpath
        tables.dynstr.add(opts.runpath)
    for library in (opts.audit, opts.depaudit):  # DT_AUDIT, DT_DEPAUDIT: sized with .dynstr
        if library:
            tables.dynstr.add(library)
    return tables


def _plan_shared_tables(symtab: SymbolTable, arch: ArchTraits, opts: ImageOptions,
                        shared: SharedOptions, scan: ScanResult,
                        exports: list[GlobalSymbol]) -> DynamicTables:
    """A shared object's .dynsym: its undefined references (imports, and symbols nothing
    defines, which ld.so looks up in the program) and every export, versioned by the
    version script when it names versions."""
    imports = [s for s in symtab.symbols
               if s.file is None and not s.linker_defined and s.referenced]
    used = {id(s.dso) for s in imports if s.dso is not None}
    needed = list(dict.fromkeys(lib.soname for lib in symtab.libraries
                                if not lib.as_needed or id(lib) in used))
    verdef: list[tuple[str, int, list[str]]] = []
    script = shared.version_script
    if script is not None and script.versions:
        base = shared.soname or os.path.basename(shared.output_name)
        verdef = [(base, VER_FLG_BASE, [])] + [(n.name, 0, list(n.parents))
                                              for n in script.versions]
    tables = plan_dynamic(arch, needed, imports, exports, set(), verdef,
                          version_indices(shared, exports))
    tables.symbolic = shared.symbolic == "all" and not shared.narrowed
    tables.text_relocations = scan.text_relocations
    if shared.text_relocations and scan.text_relocations:
        warn(f"creating DT_TEXTREL in a shared object ({shared.output_name}): a read-only "
             "section holds addresses; compile with -fPIC to avoid it")
    for text in (shared.soname, opts.runpath, opts.audit, opts.depaudit):
        if text:
            tables.dynstr.add(text)
    if opts.runpath:
        tables.runpath = opts.runpath
    return tables


def _defined(symtab: SymbolTable, name: str) -> GlobalSymbol | None:
    sym = symtab.by_name.get(name)
    return sym if sym is not None and sym.file is not None else None


def _linker_symbol_values(named: dict[str, OutputSection], segments: list[Segment],
                          base: int) -> dict[str, int]:
    v: dict[str, int] = {"__ehdr_start": base, "__executable_start": base}
    got = named.get(".got.plt") or named.get(".got")
    if got is not None:
        v["_GLOBAL_OFFSET_TABLE_"] = got.addr
    if ".dynamic" in named:
        v["_DYNAMIC"] = named[".dynamic"].addr
    text = [s for s in segments if SectionFlags.EXEC in s.flags]
    data = [s for s in segments if SectionFlags.WRITE in s.flags]
    last = segments[-1]
    if text:
        v["_etext"] = v["etext"] = v["__etext"] = text[0].addr + text[0].memsz
    rw = data[0] if data else last
    v["_edata"] = v["edata"] = rw.addr + rw.filesz
    v["__bss_start"] = named[".bss"].addr if ".bss" in named else rw.addr + rw.filesz
    v["_end"] = v["end"] = rw.addr + rw.memsz
    for name in ("init_array", "fini_array", "preinit_array"):
        out = named.get("." + name)
        start = out.addr if out else rw.addr
        v[f"__{name}_start"] = start
        v[f"__{name}_end"] = start + (out.size if out else 0)
    # Static IFUNC relocations, which the C library applies itself at start-up.
    iplt = named.get(".rela.iplt")
    ro_end = segments[0].addr + segments[0].memsz
    v["__rela_iplt_start"] = iplt.addr if iplt else ro_end
    v["__rela_iplt_end"] = iplt.end if iplt else ro_end
    for name, out in named.items():
        if policy.is_identifier(name):
            v[f"__start_{name}"] = out.addr
            v[f"__stop_{name}"] = out.end
    return v


def _entry_address(symtab: SymbolTable, syms: SymbolAddresses,
                   named: dict[str, OutputSection], entry: str, shared: bool = False) -> int:
    sym = symtab.by_name.get(entry)
    if sym is not None and sym.defined:
        return int(syms.address[sym.id])
    try:
        return int(entry, 0)
    except ValueError:
        pass
    if shared:
        return 0  # a shared object needs no entry point (GNU ld writes 0)
    text = named.get(".text")
    fallback = text.addr if text else 0
    warn(f"cannot find entry symbol {entry}; defaulting to {fallback:#x}")
    return fallback


def _copy_inputs(image: bytearray, ordered: list[OutputSection]) -> None:
    for out in ordered:
        if out.nobits:
            continue
        for sec, off in zip(out.inputs, out.offsets):
            if sec.data is not None and sec.size:
                pos = out.file_offset + off
                image[pos:pos + sec.size] = sec.data


def _render_dynamic(entries: list[tuple[int, object]], syms: SymbolAddresses,
                    word: int) -> bytes:
    import struct
    fmt = "<qQ" if word == 8 else "<iI"
    out = bytearray()
    for tag, value in entries:
        if isinstance(value, OutputSection):
            v = value.addr
        elif isinstance(value, GlobalSymbol):
            v = int(syms.address[value.id])
        else:
            v = int(value)  # type: ignore[call-overload]
        out += struct.pack(fmt, tag, v)
    return bytes(out)
