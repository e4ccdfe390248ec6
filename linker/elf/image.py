"""Plan an ELF executable: output sections, dynamic tables, segments, addresses.

The result, an `ElfImage`, holds everything the writer needs; symbol addresses are final
when `plan_image` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Protocol

from ..apply import SymbolAddresses
from ..layout import Layout, OutputSection, Segment
from ..model import (
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymType,
    is_allocated,
)
from ..records import dataclass, field
from ..resolve import GlobalSymbol, SymbolTable
from ..scan import ScanResult
from ..synth import Synthetic
from ..targets import ArchTraits
from . import sections as policy
from .dso import SharedOptions
from .dynamic import (
    DF_1_NODEFLIB,
    DF_1_NOW,
    DF_1_ORIGIN,
    DF_BIND_NOW,
    DF_ORIGIN,
    DF_STATIC_TLS,
    DF_SYMBOLIC,
    DF_TEXTREL,
    DT_AUDIT,
    DT_BIND_NOW,
    DT_DEBUG,
    DT_DEPAUDIT,
    DT_FINI,
    DT_FINI_ARRAY,
    DT_FINI_ARRAYSZ,
    DT_FLAGS,
    DT_FLAGS_1,
    DT_GNU_HASH,
    DT_HASH,
    DT_INIT,
    DT_INIT_ARRAY,
    DT_INIT_ARRAYSZ,
    DT_JMPREL,
    DT_NEEDED,
    DT_NULL,
    DT_PLTGOT,
    DT_PLTREL,
    DT_PLTRELSZ,
    DT_PREINIT_ARRAY,
    DT_PREINIT_ARRAYSZ,
    DT_REL,
    DT_RELA,
    DT_RELAENT,
    DT_RELASZ,
    DT_RELENT,
    DT_RELSZ,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMBOLIC,
    DT_SYMENT,
    DT_SYMTAB,
    DT_TEXTREL,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    DynamicTables,
    DynReloc,
    DynSym,
)
from .pie import DF_1_PIE, DT_RELACOUNT, DT_RELCOUNT, sort_relative
from .relro import RelroRegion

SHT_PROGBITS, SHT_NOBITS, SHT_NOTE, SHT_DYNAMIC = 1, 8, 7, 6
SHT_HASH, SHT_DYNSYM, SHT_STRTAB, SHT_RELA, SHT_REL = 5, 11, 3, 4, 9
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY = 14, 15, 16
SHT_GNU_HASH, SHT_GNU_VERSYM, SHT_GNU_VERNEED = 0x6FFFFFF6, 0x6FFFFFFF, 0x6FFFFFFE
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_X86_64_UNWIND = 0x70000001

# Inputs that are not concatenated: GNU property notes are merged into one note
# (elf/gnu_property.py), which link.py adds with its PT_GNU_PROPERTY.
DROPPED = frozenset({".note.gnu.property"})

_ROLE_TYPE = {
    SectionRole.INIT_ARRAY: SHT_INIT_ARRAY,
    SectionRole.FINI_ARRAY: SHT_FINI_ARRAY,
    SectionRole.PREINIT_ARRAY: SHT_PREINIT_ARRAY,
    SectionRole.NOTE: SHT_NOTE,
}


@dataclass(frozen=True)
class ImageOptions:
    dynamic: bool
    dynamic_linker: str
    bind_now: bool
    hash_style: str  # "sysv", "gnu" or "both"
    exec_stack: bool
    runpath: str | None
    entry: str
    eh_frame_hdr: bool = False  # write .eh_frame_hdr and PT_GNU_EH_FRAME
    relro: bool = False  # -z relro: PT_GNU_RELRO over .got, .dynamic, the init arrays ...
    pie: bool = False  # -pie: ET_DYN linked at 0, rebased by RELATIVE relocations
    build_id: str | None = None  # --build-id style (sha1, md5, uuid, 0xHEX): the note
    strip_debug: bool = False  # -S (and -s): no .debug_* in the output
    compress_debug: str = "none"  # --compress-debug-sections: none, zlib or zstd
    new_dtags: bool = True  # --enable-new-dtags: DT_RUNPATH, DT_FLAGS (else DT_RPATH, ...)
    audit: str | None = None  # --audit: DT_AUDIT
    depaudit: str | None = None  # --depaudit: DT_DEPAUDIT
    origin: bool = False  # -z origin: DF_ORIGIN, DF_1_ORIGIN
    nodefaultlib: bool = False  # -z nodefaultlib: DF_1_NODEFLIB
    stack_size: int = 0  # -z stack-size: PT_GNU_STACK's p_memsz
    discard_all: bool = False  # -x: no local symbols in .symtab
    init: str = "_init"  # -init: DT_INIT's symbol
    fini: str = "_fini"  # -fini: DT_FINI's symbol
    separate_code: bool = True  # -z noseparate-code: headers, read-only data and code share
    max_page_size: int = 0  # -z max-page-size: segment alignment (0: the target's page)
    image_base: int | None = None  # -Ttext-segment: the first segment's address
    # More DT_FLAGS_1 bits (-z interpose, nodump, loadfltr, global), and whether the tag is
    # written even when 0 (-z nodelete, nodlopen, initfirst: GNU ld keeps the tag and drops
    # the bit, which means nothing in an executable).
    more_flags_1: int = 0
    flags_1_tag: bool = False
    # --dynamic-list names and globs, --dynamic-list-data: more exports to .dynsym
    dynamic_list: tuple[str, ...] = ()
    dynamic_list_data: bool = False
    shared: SharedOptions | None = None  # -shared: a shared object, not an executable
    # --default-symver in a dynamic executable: the version node (the output's file name)
    # its own exports get, at index 2 after the base (a shared object's is SharedOptions')
    default_symver: str | None = None
    relax: bool = True  # --no-relax: keep every GOT load (elf/got_relax.py)
    # .note.gnu.property bits forced by -z ibt/shstk/x86-64-vN: (pr_type, bits) pairs
    properties: tuple[tuple[int, int], ...] = ()
    # --section-start / -Ttext / -Tdata / -Tbss: (output section, address) pairs
    section_starts: tuple[tuple[str, int], ...] = ()
    sort_section: str | None = None  # --sort-section=name|alignment
    unique: bool = False  # -unique: each orphan input section an output section of its own
    ibt_plt: bool = False  # -z ibtplt: the IBT PLT (.plt + .plt.sec) whatever the inputs say
    emit_relocs: bool = False  # --emit-relocs / -q: keep the inputs' relocations (emit_relocs.py)


@dataclass
class ElfImage:
    arch: ArchTraits
    sections: list[OutputSection]  # in address order (section header order)
    segments: list[Segment]
    layout: Layout
    syms: SymbolAddresses
    dynamic: DynamicTables | None
    entry: int
    phdr_count: int
    options: ImageOptions
    named: dict[str, OutputSection] = field(default_factory=dict)
    gnu_osabi: bool = False  # an input has STT_GNU_IFUNC symbols: EI_OSABI = ELFOSABI_GNU
    relro: RelroRegion | None = None  # PT_GNU_RELRO (-z relro)
    # --emit-relocs: the relocations of the sections TLS relaxation rewrote, as the inputs
    # had them (GNU ld emits the original sequence), by id(InputSection)
    emit_tables: dict[int, RelocTable] = field(default_factory=dict)
    # the output section each linker-defined symbol's .symtab row is relative to, by name
    anchors: dict[str, OutputSection] = field(default_factory=dict)

    def section_index(self, out: OutputSection) -> int:
        return self.sections.index(out) + 1  # 0 is SHN_UNDEF


def collect_output_sections(symtab: SymbolTable, unique: bool = False
                            ) -> dict[str, OutputSection]:
    """Group every placed input section under its output section, in input order.  With
    `unique` (-unique), an orphan input section (a name GNU ld's default script does not
    place) is an output section of its own, keyed "NAME\0n"; its name stays NAME."""
    outs: dict[str, OutputSection] = {}
    # Thousands of input sections share a few names and flag words: their output name and
    # the flags' union are looked up, not recomputed (an IntFlag `|` costs microseconds).
    names: dict[tuple[str, SectionRole], str] = {}
    unions: dict[tuple[SectionFlags, SectionFlags], SectionFlags] = {}
    for obj in symtab.objects:
        linker_made = obj.path == "<linker>"
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not is_allocated(sec.flags):
                continue
            if sec.role is SectionRole.MARKER or sec.name in DROPPED:
                continue
            name = names.get((sec.name, sec.role)) if not linker_made else None
            if name is None:
                name = policy.output_name(sec)
                if not linker_made:
                    names[(sec.name, sec.role)] = name
            key = f"{name}\0{len(outs)}" if unique and policy.is_orphan(name) else name
            out = outs.get(key)
            if out is None:
                out = outs[key] = OutputSection(name, SectionFlags.ALLOC, nobits=True)
                out.meta["type"] = _ROLE_TYPE.get(sec.role, SHT_PROGBITS)
            union = unions.get((out.flags, sec.flags))
            if union is None:
                union = unions[(out.flags, sec.flags)] = out.flags | (
                    sec.flags & (SectionFlags.WRITE | SectionFlags.EXEC | SectionFlags.TLS))
            out.flags = union
            out.nobits = out.nobits and sec.role is SectionRole.ZEROFILL
            out.inputs.append(sec)
    for out in outs.values():
        inputs = out.inputs
        if out.name in (".init_array", ".fini_array", ".preinit_array"):
            inputs = sorted(inputs, key=policy.init_priority)
        out.inputs = []
        for sec in inputs:
            out.add(sec)
        if out.nobits:
            out.meta["type"] = SHT_NOBITS
    return outs


def _format_section(name: str, flags: SectionFlags, size: int, align: int, sh_type: int,
                    entsize: int = 0) -> OutputSection:
    out = OutputSection(name, SectionFlags.ALLOC | flags, align=align, size=size)
    out.meta.update(type=sh_type, entsize=entsize)
    return out


def add_dynamic_sections(
    outs: dict[str, OutputSection], tables: DynamicTables, opts: ImageOptions
) -> None:
    word = tables.arch.word
    ro = SectionFlags.NONE
    if opts.shared is None:  # a shared object has no interpreter
        interp = opts.dynamic_linker.encode() + b"\0"
        outs[".interp"] = _format_section(".interp", ro, len(interp), 1, SHT_PROGBITS)
        outs[".interp"].render = lambda: interp
    outs[".dynsym"] = _format_section(".dynsym", ro, tables.dynsym_size(), word, SHT_DYNSYM,
                                      tables.sym_size)
    outs[".dynstr"] = _format_section(".dynstr", ro, len(tables.dynstr), 1, SHT_STRTAB)
    if opts.hash_style in ("sysv", "both"):
        outs[".hash"] = _format_section(".hash", ro, tables.sysv_hash_size(), word, SHT_HASH, 4)
        outs[".hash"].render = tables.render_hash
    if opts.hash_style in ("gnu", "both"):
        outs[".gnu.hash"] = _format_section(".gnu.hash", ro, tables.gnu_hash_size(), word,
                                            SHT_GNU_HASH)
        outs[".gnu.hash"].render = tables.render_gnu_hash
    if tables.verneed or tables.verdef:
        outs[".gnu.version"] = _format_section(".gnu.version", ro, tables.versym_size(), 2,
                                               SHT_GNU_VERSYM, 2)
        outs[".gnu.version"].render = tables.render_versym
    if tables.verdef:
        outs[".gnu.version_d"] = _format_section(".gnu.version_d", ro, tables.verdef_size(),
                                                 word, SHT_GNU_VERDEF)
        outs[".gnu.version_d"].render = tables.render_verdef
    if tables.verneed:
        outs[".gnu.version_r"] = _format_section(".gnu.version_r", ro, tables.verneed_size(),
                                                 word, SHT_GNU_VERNEED)
        outs[".gnu.version_r"].render = tables.render_verneed
    rel_name = ".rela" if tables.arch.is_rela else ".rel"
    rel_type = SHT_RELA if tables.arch.is_rela else SHT_REL
    if tables.rela_dyn:
        out = _format_section(rel_name + ".dyn", ro, len(tables.rela_dyn) * tables.rel_size,
                              word, rel_type, tables.rel_size)
        out.render = lambda: tables.render_relocs(
            sort_relative(tables.rela_dyn, tables.relative_count))
        outs[out.name] = out
    if tables.rela_plt:
        out = _format_section(rel_name + ".plt", ro, len(tables.rela_plt) * tables.rel_size,
                              word, rel_type, tables.rel_size)
        out.render = lambda: tables.render_relocs(tables.rela_plt)
        outs[out.name] = out
    outs[".dynamic"] = _format_section(".dynamic", SectionFlags.WRITE, 0, word, SHT_DYNAMIC,
                                       2 * word)


def dynamic_entries(
    outs: dict[str, OutputSection], tables: DynamicTables, opts: ImageOptions,
    init: GlobalSymbol | None, fini: GlobalSymbol | None,
) -> list[tuple[int, object]]:
    """The .dynamic entries; values are output sections or symbols resolved after layout."""
    e: list[tuple[int, object]] = [(DT_NEEDED, tables.dynstr.add(n)) for n in tables.needed]
    shared = opts.shared
    if shared is not None and shared.soname:
        e.append((DT_SONAME, tables.dynstr.add(shared.soname)))
    if tables.runpath:
        e.append((DT_RUNPATH if opts.new_dtags else DT_RPATH,
                  tables.dynstr.add(tables.runpath)))
    for tag, library in ((DT_AUDIT, opts.audit), (DT_DEPAUDIT, opts.depaudit)):
        if library:
            e.append((tag, tables.dynstr.add(library)))
    if init is not None:
        e.append((DT_INIT, init))
    if fini is not None:
        e.append((DT_FINI, fini))
    for name, tag, size_tag in ((".preinit_array", DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ),
                                (".init_array", DT_INIT_ARRAY, DT_INIT_ARRAYSZ),
                                (".fini_array", DT_FINI_ARRAY, DT_FINI_ARRAYSZ)):
        if name in outs:
            e += [(tag, outs[name]), (size_tag, outs[name].size)]
    if ".hash" in outs:
        e.append((DT_HASH, outs[".hash"]))
    if ".gnu.hash" in outs:
        e.append((DT_GNU_HASH, outs[".gnu.hash"]))
    e += [(DT_STRTAB, outs[".dynstr"]), (DT_SYMTAB, outs[".dynsym"]),
          (DT_STRSZ, len(tables.dynstr)), (DT_SYMENT, tables.sym_size)]
    if shared is None:
        e.append((DT_DEBUG, 0))  # the debugger's rendezvous: executables only
    if tables.symbolic:
        e.append((DT_SYMBOLIC, 0))
    if tables.text_relocations:
        e.append((DT_TEXTREL, 0))
    rel = ".rela" if tables.arch.is_rela else ".rel"
    if ".got.plt" in outs:
        e.append((DT_PLTGOT, outs[".got.plt"]))
    if rel + ".plt" in outs:
        e += [(DT_PLTRELSZ, outs[rel + ".plt"].size),
              (DT_PLTREL, DT_RELA if tables.arch.is_rela else DT_REL),
              (DT_JMPREL, outs[rel + ".plt"])]
    if rel + ".dyn" in outs:
        out = outs[rel + ".dyn"]
        if tables.arch.is_rela:
            e += [(DT_RELA, out), (DT_RELASZ, out.size), (DT_RELAENT, tables.rel_size)]
        else:
            e += [(DT_REL, out), (DT_RELSZ, out.size), (DT_RELENT, tables.rel_size)]
        if tables.relative_count:
            count_tag = DT_RELACOUNT if tables.arch.is_rela else DT_RELCOUNT
            e.append((count_tag, tables.relative_count))
    # GNU ld: DT_FLAGS with new dtags, DT_BIND_NOW without (and no DT_FLAGS then).
    flags = ((DF_BIND_NOW if opts.bind_now else 0) | (DF_ORIGIN if opts.origin else 0)
             | (DF_SYMBOLIC if tables.symbolic else 0)
             | (DF_TEXTREL if tables.text_relocations else 0)
             | (DF_STATIC_TLS if tables.static_tls else 0))
    if flags and opts.new_dtags:
        e.append((DT_FLAGS, flags))
    elif opts.bind_now:
        e.append((DT_BIND_NOW, 0))
    flags_1 = ((DF_1_NOW if opts.bind_now else 0) | (DF_1_PIE if opts.pie else 0)
               | (DF_1_ORIGIN if opts.origin else 0)
               | (DF_1_NODEFLIB if opts.nodefaultlib else 0) | opts.more_flags_1)
    if flags_1 or opts.flags_1_tag:
        e.append((DT_FLAGS_1, flags_1))
    if tables.verdef:
        e += [(DT_VERDEF, outs[".gnu.version_d"]), (DT_VERDEFNUM, len(tables.verdef))]
    if tables.verneed:
        e += [(DT_VERNEED, outs[".gnu.version_r"]), (DT_VERNEEDNUM, len(tables.verneed))]
    if tables.verneed or tables.verdef:
        e.append((DT_VERSYM, outs[".gnu.version"]))
    e.append((DT_NULL, 0))
    return e


def _tls_orphan_key(out: OutputSection, first_seen: int) -> tuple[int, int] | None:
    """A TLS section the default script does not name (`.tdata1`) goes beside its kind,
    after .tdata or .tbss, as GNU ld places such an orphan: the TLS block is one run."""
    if SectionFlags.TLS not in out.flags or not policy.is_orphan(out.name):
        return None
    return (policy.WRITE_ORDER.index(".tbss" if out.nobits else ".tdata"), 1 + first_seen)


def make_segments(outs: dict[str, OutputSection]) -> list[Segment]:
    first_seen = {id(out): i for i, out in enumerate(outs.values())}
    groups: list[list[OutputSection]] = [[], [], []]
    for out in outs.values():
        groups[policy.segment_of(out.flags)].append(out)
    segments = []
    for n, group in enumerate(groups):
        # Zero-fill goes last, except .tbss: the TLS block (.tdata, .tbss) must be contiguous.
        group.sort(key=lambda o: (o.nobits and SectionFlags.TLS not in o.flags,
                                  _tls_orphan_key(o, first_seen[id(o)])
                                  or policy.order_key(o.name, n, first_seen[id(o)])))
        if group or n == 0:
            flags = SectionFlags.ALLOC | (SectionFlags.EXEC if n == 1 else SectionFlags.NONE) | (
                SectionFlags.WRITE if n == 2 else SectionFlags.NONE)
            segments.append(Segment(flags, group))
    return segments


class Addresses(Protocol):
    def address_of(self, sec: InputSection) -> int: ...


def plan_relocations(tables: DynamicTables, arch: ArchTraits, layout: Addresses,
                     synthetic: Synthetic, scan: ScanResult, symtab: SymbolTable) -> None:
    """Fill .rela.dyn and .rela.plt (their sizes must be known before layout)."""
    dyn = arch.dyn
    got = synthetic.got
    for key, offset in synthetic.got_slot_offset.items():
        if isinstance(key, int) and (symtab.symbols[key].imported or scan.is_preemptible(key)):
            assert got is not None
            tables.rela_dyn.append(DynReloc(_at(layout, got, offset), dyn.glob_dat,
                                            tables.index[key]))
    for area, offsets in ((synthetic.copy_bss, synthetic.copy_offset),
                          (synthetic.copy_relro, synthetic.copy_relro_offset)):
        for gid, offset in offsets.items():
            assert area is not None
            tables.rela_dyn.append(DynReloc(_at(layout, area, offset), dyn.copy,
                                            tables.index[gid]))
    for site in scan.dynamic_words:
        tables.rela_dyn.append(DynReloc(_at(layout, site.section, site.offset), dyn.abs_word,
                                        tables.index[site.gid],
                                        site.addend if arch.is_rela else 0))
    if synthetic.got_plt is not None:
        for gid in scan.plt:
            if (symtab.symbols[gid].imported or gid in synthetic.copy_offset
                    or gid in synthetic.copy_relro_offset or scan.is_preemptible(gid)):
                tables.rela_plt.append(DynReloc(
                    _at(layout, synthetic.got_plt, synthetic.jump_slot_offset[gid]),
                    dyn.jump_slot, tables.index[gid]))
    if synthetic.ifunc is not None:
        # IFUNC slots after the JUMP_SLOTs (lazy binding indexes only those): ld.so calls
        # the resolver at load time and stores its result.  RELA carries the resolver as the
        # addend; REL reads it from the slot, where the synthetic object wrote it.
        obj = synthetic.obj
        for k, resolver in enumerate(synthetic.ifunc.resolvers):
            tables.rela_plt.append(DynReloc(
                _at(layout, synthetic.ifunc.slots, k * arch.word), dyn.irelative, 0,
                addend_at=_local_symbol_at(layout, obj, resolver) if arch.is_rela else None))


def _local_symbol_at(layout: Addresses, obj: ObjectFile, index: int) -> Callable[[], int]:
    """The address of a symbol of the synthetic object (a section-relative local)."""
    shndx, value = int(obj.symbols.section[index]), int(obj.symbols.value[index])
    sec = obj.sections[shndx]
    assert sec is not None
    return lambda: layout.address_of(sec) + value


def _at(layout: Addresses, sec: InputSection, offset: int) -> Callable[[], int]:
    return lambda: layout.address_of(sec) + offset


def dynsym_value(image_syms: SymbolAddresses, index_of: dict[int, int],
                 canonical: set[int], tls_base: int = 0,
                 iplt: InputSection | None = None,
                 iplt_entries: Container[object] = ()) -> Callable[[DynSym], tuple[int, int]]:
    """(st_value, st_shndx) of a .dynsym entry; `index_of` maps id(input section) to the
    output section index, `tls_base` is the TLS template's address (a TLS symbol's value is
    its offset in the template); an exported IFUNC with an entry in `iplt` (its global id
    among `iplt_entries`) is that entry (GNU ld: its PLT entry, in .plt)."""
    def value_of(d: DynSym) -> tuple[int, int]:
        i = d.sym.id
        if d.defined:
            section = iplt if d.sym.type == SymType.IFUNC and iplt is not None \
                and i in iplt_entries else d.sym.section
            out_index = index_of.get(id(section), 0) if section else 0xFFF1
            value = int(image_syms.address[i])
            if d.sym.type == SymType.TLS and d.sym.section is not None:
                value -= tls_base
            # an absolute symbol's address may be negative (apply.absolute_word)
            return value & ((1 << 64) - 1), out_index
        if i in canonical:
            return int(image_syms.plt[i]), 0  # the PLT entry is the function's address
        return 0, 0
    return value_of
