"""The ELF parts of the back half (linker/pipeline.py runs them): from a resolved symbol
table to the bytes of an executable, a PIE or a shared object.

prepare (strip, fold, merge, relax) -> scan -> synthesize GOT/PLT -> plan output sections,
dynamic tables and segments -> lay out -> addresses -> render tables -> [the one
relocation pass] -> tables holding relocated values -> serialise.
"""

from __future__ import annotations

import struct

from ..apply import SymbolAddresses, symbol_addresses
from ..dynamic_list import matches
from ..errors import LinkError, current, warn
from ..layout import (
    Layout,
    OutputSection,
    Segment,
    assign_addresses,
    merge_read_only_into_code,
)
from ..model import TYPE_IFUNC, InputSection, SectionFlags, SymType
from ..pipeline import LinkedImage, RelocationFrame
from ..reloc_view import RelocView, joined_symbol_column
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
from .linker_symbols import linker_symbols
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


class ElfParts:
    """ELF's side of linker/pipeline.py's FormatParts (executables, PIEs and shared
    objects): each step keeps what the later ones need on the instance."""

    def __init__(self, symtab: SymbolTable, arch: ArchTraits, target: str, opts: ImageOptions,
                 export_dynamic: bool = False, strip: bool = False) -> None:
        self.symtab, self.arch, self.target, self.opts = symtab, arch, target, opts
        self.export_dynamic, self.strip = export_dynamic, strip
        self.tables: DynamicTables | None = None
        self.deferred = DeferredLayout()
        self.exported: list[GlobalSymbol] = []
        self.view: RelocView | None = None

    def prepare(self) -> None:
        """Rewrites decided before scan: debug sections dropped, .ctors folded, .eh_frame
        packed, SHF_MERGE pieces merged, TLS and GOT-load relaxation."""
        symtab, opts, arch = self.symtab, self.opts, self.arch
        if opts.strip_debug:
            strip_debug_inputs(symtab)
        fold_ctors_into_init_arrays(symtab.objects, arch.word)
        pack_eh_frame_inputs(symtab.objects)
        merge_sections(symtab)
        shared = opts.shared
        if shared is not None:
            refuse_preinit_array(symtab)
            self.exported = exported_by_shared(symtab, shared)
        self.preemptible = preemptible_ids(symtab, shared, self.exported)
        self.before_tls = input_relocations(symtab) if opts.emit_relocs else {}
        if shared is None:  # an executable's TLS block is at a fixed offset from TP
            relax_tls_in_executable(symtab, self.preemptible)
        pick_instruction_forms(symtab)  # before relaxation reads the instructions
        # GOT relaxation's view of the relocations, its rewrites made in it, for scan
        self.view = relax_got_loads(symtab, self.preemptible) if opts.relax else None

    def scan(self) -> ScanResult:
        opts, shared = self.opts, self.opts.shared
        self.scan_result = scan_relocations(
            self.symtab, self.arch.word, pie=opts.pie, preemptible=self.preemptible,
            shared=shared is not None,
            text_relocations=shared is not None and shared.text_relocations,
            plt_reads_got_register=self.arch.plt_reads_got_register, view=self.view)
        self.view = None  # stale once synthesis adds its object
        return self.scan_result

    def synthesize(self, scan: ScanResult) -> Synthetic:
        opts, arch = self.opts, self.arch
        self.pic = scan.pie  # a PIE or a shared object: linked at 0, rebased by ld.so
        ibt_plt = opts.ibt_plt or wants_ibt_plt(self.symtab.objects, arch.word,
                                                dict(opts.properties))
        self.synthetic = build_synthetic(arch, self.symtab, scan, dynamic=opts.dynamic,
                                         pie=self.pic, ibt_plt=ibt_plt, relro=opts.relro)
        return self.synthetic

    def collect(self) -> None:
        self.outs = collect_output_sections(self.symtab, self.opts.unique)
        self.non_alloc = list(collect_non_alloc(self.symtab).values())

    def plan(self) -> None:
        """The dynamic tables (sized now, addressed after layout), notes, segments and
        the program headers' count, which places the first section."""
        symtab, arch, opts, outs = self.symtab, self.arch, self.opts, self.outs
        scan, synthetic, deferred = self.scan_result, self.synthetic, self.deferred
        if opts.dynamic:
            tables = self.tables = _plan_tables(symtab, arch, opts, self.export_dynamic, scan,
                                                self.exported)
            plan_relocations(tables, arch, deferred, synthetic, scan, symtab)
            plan_tls_relocations(tables, arch, deferred, synthetic, scan)
            if self.pic:
                plan_relative(tables, arch, deferred, synthetic, scan, symtab)
            add_dynamic_sections(outs, tables, opts)
            self.entries = dynamic_entries(outs, tables, opts, _defined(symtab, opts.init),
                                           _defined(symtab, opts.fini))
            outs[".dynamic"].size = len(self.entries) * arch.elf.dynamic_size
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
        _align_tls_start(segments)
        if not opts.separate_code and len(segments) > 1 \
                and SectionFlags.EXEC in segments[1].flags:
            # -z noseparate-code: one R+X segment before the data
            segments[:2] = [merge_read_only_into_code(segments[0], segments[1])]
        self.segments, self.fixed = split_at_section_starts(segments, dict(opts.section_starts))
        self.page = opts.max_page_size or arch.page_size
        self.relro = reserve_relro(self.segments, self.page) if opts.relro else []
        has_notes = note_runs(o for seg in self.segments for o in seg.sections)
        has_tls = any(SectionFlags.TLS in o.flags for o in outs.values())
        self.phnum = count_program_headers(opts.dynamic, len(self.segments), has_notes,
                                           ".eh_frame_hdr" in outs, has_tls, bool(self.relro),
                                           PROPERTY_NOTE in outs, shared=opts.shared is not None)

    def lay_out(self) -> Layout:
        arch, opts = self.arch, self.opts
        base = 0 if self.pic else arch.image_base  # a PIE is linked at 0, as GNU ld does
        if opts.image_base is not None:  # -Ttext-segment
            base = opts.image_base
        self.base = base
        layout = assign_addresses(self.segments, base=base, page=self.page,
                                  header_size=arch.elf.header_size
                                  + self.phnum * arch.elf.program_header_size,
                                  fixed=self.fixed)
        _check_address_space(self.segments, arch.address_bits)
        self.deferred.layout = layout
        self.ordered = [o for seg in self.segments for o in seg.sections]
        self.named = {o.name: o for o in self.ordered}
        # After the segments: debug information and the rest, at address 0.
        self.file_end = place_non_alloc(self.non_alloc, layout, layout.end_of_file_data)
        return layout

    def addresses(self, layout: Layout) -> SymbolAddresses:
        self.linker_symbols = linker_symbols(self.named, self.segments, self.base)
        self.defined = self.linker_symbols.address
        return symbol_addresses(self.symtab, layout, self.synthetic, self.scan_result,
                                self.defined)

    def fill(self, layout: Layout, syms: SymbolAddresses) -> tuple[bytearray, RelocationFrame]:
        symtab, arch, opts, named = self.symtab, self.arch, self.opts, self.named
        ordered, tables, synthetic = self.ordered, self.tables, self.synthetic
        elf = self.elf = ElfImage(arch, ordered + self.non_alloc, self.segments, layout, syms,
                                  tables, 0, self.phnum, opts, named)
        elf.anchors = self.linker_symbols.anchor
        elf.entry = _entry_address(symtab, syms, named, opts.entry, opts.shared is not None,
                                   arch.word)
        elf.relro = relro_region(self.relro, self.segments, self.page)
        elf.emit_tables = (tls_sequences_as_read(symtab, self.before_tls) if opts.emit_relocs
                           else {})
        elf.gnu_osabi = bool((joined_symbol_column(symtab.objects, "type")
                              == TYPE_IFUNC).any())
        image = bytearray(self.file_end)
        _copy_inputs(image, ordered + self.non_alloc)
        self.deferred.image = image
        tls = tls_block(ordered)
        if tables is not None:
            out_index = {id(sec): n + 1 for n, o in enumerate(ordered) for sec in o.inputs}
            scan, entries = self.scan_result, self.entries
            named[".dynsym"].render = lambda: tables.render_dynsym(
                dynsym_value(syms, out_index, scan.canonical, tls.addr if tls else 0,
                             synthetic.iplt, synthetic.iplt_entry_offset),
                synthetic.iplt_entry_offset)
            named[".dynstr"].render = tables.dynstr.bytes
            named[".dynamic"].render = lambda: _render_dynamic(entries, syms, arch)
        for out in ordered:
            if out.render is not None:
                data = out.render()
                assert len(data) == out.size, (out.name, len(data), out.size)
                image[out.file_offset:out.file_offset + len(data)] = data
        return image, RelocationFrame(self.defined.get("_GLOBAL_OFFSET_TABLE_", 0),
                                      tls.thread_pointer if tls else 0,
                                      tls.addr if tls else 0, tombstone)

    def write(self, image: bytearray) -> LinkedImage:
        """Tables that hold relocated values, then the headers around the image."""
        arch, opts, named, elf = self.arch, self.opts, self.named, self.elf
        rel_dyn_name = ".rela.dyn" if arch.is_rela else ".rel.dyn"
        if self.tables is not None and rel_dyn_name in named:
            # RELA addends of RELATIVE (and own-TLS TPOFF) relocations are the fields'
            # link-time values.
            rel_dyn = named[rel_dyn_name]
            assert rel_dyn.render is not None
            image[rel_dyn.file_offset:rel_dyn.file_offset + rel_dyn.size] = rel_dyn.render()
        if ".eh_frame_hdr" in named:
            render_eh_frame_hdr(image, named[".eh_frame_hdr"], named[".eh_frame"], arch.word)
        if opts.compress_debug != "none":
            compress_debug(image, self.non_alloc, elf.layout.end_of_file_data, arch,
                           opts.compress_debug)
        current().check()  # relocation overflows, and warnings under --fatal-warnings
        data = serialize(elf, image, self.symtab, self.strip)
        style = opts.build_id
        if style is not None:  # last: a hash covers the finished file
            fill_build_id(data, named[NOTE_NAME], style)
        tables = elf.dynamic
        return LinkedImage(data, self.target, arch.elf_bfd_name, arch.word, elf.sections,
                           elf.syms, elf.entry, tuple(tables.needed) if tables else ())


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
    verdef: list[tuple[str, int, list[str]]] = []
    own_versions: dict[int, int] = {}
    if opts.default_symver:
        # GNU ld: the executable's own exports get the node; a COPY-relocated definition
        # (s.dso set) keeps its library's version
        name = opts.default_symver
        verdef = [(name, VER_FLG_BASE, []), (name, 0, [])]
        own_versions = {s.id: 2 for s in exports if s.dso is None}
    tables = plan_dynamic(arch, needed, imports, exports, canonical, verdef, own_versions)
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
    preemptible = scan.preemptible
    imports = [s for s in symtab.symbols
               if s.file is None and not s.linker_defined and s.referenced
               and (preemptible is None or preemptible[s.id])]  # hidden ones bind to 0
    used = {id(s.dso) for s in imports if s.dso is not None}
    needed = list(dict.fromkeys(lib.soname for lib in symtab.libraries
                                if not lib.as_needed or id(lib) in used))
    verdef: list[tuple[str, int, list[str]]] = []
    if shared.named_versions:
        verdef = [(shared.base_version, VER_FLG_BASE, [])] + [
            (name, 0, parents) for name, parents in shared.named_versions]
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


def _check_address_space(segments: list[Segment], bits: int) -> None:
    """Every segment inside the target's address space: an image base or --section-start
    near the top (a command line's, not an input's) would otherwise reach the int64
    arrays of the relocation pass as an OverflowError.  GNU ld's words for it."""
    for seg in segments:
        if seg.addr >= 1 << bits or seg.addr + seg.memsz > 1 << bits:
            name = f"section {seg.sections[0].name}" if seg.sections else "the headers' segment"
            raise LinkError(f"{name} VMA wraps around address space "
                            f"({seg.addr:#x} + {seg.memsz:#x} is past the {bits}-bit space "
                            "linkharness lays out)")


def _entry_address(symtab: SymbolTable, syms: SymbolAddresses,
                   named: dict[str, OutputSection], entry: str, shared: bool = False,
                   word: int = 8) -> int:
    sym = symtab.by_name.get(entry)
    if sym is not None and sym.defined:
        return int(syms.address[sym.id])
    try:
        number = int(entry, 0)
    except ValueError:
        pass
    else:
        # As GNU ld reads -e NUMBER (strtoull): a negative number wraps, one past 64 bits
        # is 2**64-1; then e_entry keeps what fits in the class's word.
        number = number % (1 << 64) if number < 0 else min(number, (1 << 64) - 1)
        return number & ((1 << 8 * word) - 1)
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
                    arch: ArchTraits) -> bytes:
    fmt = arch.elf.dynamic_format
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


def _align_tls_start(segments: list[Segment]) -> None:
    """The TLS template starts on its largest alignment (as GNU ld places it), so that
    the block's offsets from the thread pointer are the same whether ld.so or the linker
    computes them: an orphan `.tdata1` of 4 bytes before a 256-aligned `.tdata2` would
    otherwise start the block off its alignment."""
    tls = [o for seg in segments for o in seg.sections if SectionFlags.TLS in o.flags]
    if tls:
        tls[0].align = max(o.align for o in tls)
