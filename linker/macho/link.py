"""The Mach-O back half: from a resolved symbol table to an MH_EXECUTE, MH_DYLIB or
MH_BUNDLE (what differs between them: image_kind.py).

scan (shared with ELF) -> stubs and pointers (synth.py) -> two segments laid out by the
neutral layout -> relocations applied by the neutral pass -> dyld information, symbol
table and indirect symbol table -> bytes (write.py).

Word-size neutral: the arch's record (ArchTraits.word, MachoTraits) gives the base
address, header and nlist layout; i386 images whose code holds absolute addresses (every
stub does) are written without MH_PIE: we write no text rebases.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..apply import SymbolAddresses, apply_relocations, symbol_addresses
from ..errors import LinkError
from ..kinds import RelocKind
from ..layout import Layout, OutputSection, Segment, assign_addresses
from ..model import ABS, UNDEF, InputSection, SectionFlags, SectionRole
from ..model import SymbolTable as ObjTable
from ..resolve import SymbolTable
from ..scan import ScanResult, scan_relocations
from ..targets import ArchTraits
from . import sections as policy
from . import tlv, weak
from .chained import ChainSegment, chained_fixups_wanted, image_fixups
from .classic_relocs import DyldReloc, SegmentSpan, encode, relocation_base
from .debug_map import debug_map
from .dyldinfo import (
    BindEntry,
    bind_opcodes,
    export_trie,
    lazy_bind_opcodes,
    rebase_opcodes,
    weak_bind_opcodes,
)
from .image_kind import SegmentIndex, image_base, library_ordinals, refuse_classic_library
from .sectcreate import create_sections
from .symbols import MH_EXECUTE_HEADER, symbol_table
from .synth import MachoSynthetic, build_macho_synthetic
from .write import (
    EXECUTABLE,
    VM_PROT_R,
    VM_PROT_W,
    VM_PROT_X,
    ImageKind,
    LinkeditPlan,
    SectionHeader,
    SegmentPlan,
    load_commands_size,
    serialize,
)

BASE = 0x100000000  # x86-64's; each arch's is MachoTraits.base
DYLD_INFO_MIN_OS = 0x000A0600  # LC_DYLD_INFO(_ONLY) is 10.6's: older targets get classic
PAGE = 0x1000
INDIRECT_SYMBOL_LOCAL, INDIRECT_SYMBOL_ABS = 0x80000000, 0x40000000
DSO_HANDLE = "___dso_handle"
LINKER_DEFINED = (MH_EXECUTE_HEADER, DSO_HANDLE)


@dataclass(frozen=True)
class MachoOptions:
    entry: str = "_main"
    classic: bool = False
    min_os: int = 0x000A0900  # 10.9
    sdk: int = 0x000B0000
    fixup_chains: bool | None = None  # None: ld64's default for the deployment target
    pie: bool = True  # -no_pie: no MH_PIE (dyld does not slide the image)
    pagezero_size: int | None = None  # -pagezero_size: __TEXT's address (default: arch's)
    headerpad: int = 0  # -headerpad: free bytes after the load commands
    stack_size: int = 0  # -stack_size: LC_MAIN's stacksize (0: the default 8 MiB)
    exported: tuple[str, ...] | None = None  # -exported_symbols_list patterns (None: all)
    strip: bool = False  # --strip: only the undefined symbols stay in the symbol table
    strip_debug: bool = False  # -S: no debug map (the stabs naming the objects' DWARF)
    sectcreate: tuple[tuple[str, str, bytes], ...] = ()  # -sectcreate SEG SECT (file bytes)
    kind: ImageKind = EXECUTABLE  # -dylib (with its LC_ID_DYLIB) or -bundle
    rpaths: tuple[str, ...] = ()  # -rpath: LC_RPATH entries, in command-line order


def link_macho(symtab: SymbolTable, arch: ArchTraits, opts: MachoOptions,
               link_map: dict[str, object] | None = None) -> bytes:
    """The image's bytes; `link_map`, when given, is filled with the --map data."""
    macho = arch.macho
    assert macho is not None, f"{arch.name} has no Mach-O traits"
    kind = opts.kind
    executable = kind.executable
    base = image_base(macho.base, opts.pagezero_size, kind)
    unixthread = executable and (opts.classic or opts.min_os < macho.lc_main_min_os)
    chained = chained_fixups_wanted(opts.classic, arch.word, opts.fixup_chains, opts.min_os)
    if opts.stack_size and unixthread:
        # ld64 would add a __UNIXSTACK segment for an LC_UNIXTHREAD image; we do not
        raise LinkError("-stack_size is written in LC_MAIN only (macOS 10.8 or later, not "
                        "classic)")
    if opts.fixup_chains and not chained:
        raise LinkError(f"-fixup_chains: chained fixups are written for x86_64 modern "
                        f"images only (not {arch.name}{' --macho-classic' if opts.classic else ''})")
    refuse_classic_library(opts.classic, kind)
    tlv.relax_descriptor_loads(symtab)
    scan = scan_relocations(symtab, arch.word)
    _refuse_unsupported(symtab, scan, opts)
    own_weak = set() if opts.classic else weak.exported_weak_definitions(symtab, opts.exported)
    weak.route_calls_through_stubs(symtab, scan, own_weak)
    synthetic = build_macho_synthetic(arch, symtab, scan, opts.classic)
    create_sections(symtab, synthetic.common.obj, opts.sectcreate)
    outs = _collect(symtab)
    tlv.align_template(outs)
    text = Segment(SectionFlags.ALLOC | SectionFlags.EXEC,
                   [o for o in outs if not o.name.startswith("__DATA,")])
    data = Segment(SectionFlags.ALLOC | SectionFlags.WRITE,
                   [o for o in outs if o.name.startswith("__DATA,")])
    segments = [s for s in (text, data) if s.sections or s is text]
    ordinal = library_ordinals(symtab)
    dylibs = [name for name, n in ordinal.items() if n > 0]
    _, cmds_size = load_commands_size([len(s.sections) for s in segments], dylibs, opts.classic,
                                      macho, unixthread, chained, kind, opts.rpaths)
    layout = assign_addresses(segments, base=base, page=PAGE,
                              header_size=macho.header_size + cmds_size + opts.headerpad)
    # ld64 defines both: the header's address, and ___dso_handle (what clang passes to
    # __cxa_atexit to name the image) at the same place.
    defined = {MH_EXECUTE_HEADER: base, DSO_HANDLE: base}
    symtab.define_linker_symbol(MH_EXECUTE_HEADER)
    symtab.define_linker_symbol(DSO_HANDLE)
    syms = symbol_addresses(symtab, layout, synthetic.common, scan, defined)
    # The file holds the segments' file data only: zero-fill (__bss, __common, last in
    # __DATA) takes addresses but no file bytes, as ld64 lays it out.
    file_end = max(seg.file_offset + seg.filesz for seg in segments)
    image = bytearray(file_end)
    for out in outs:
        for sec, off in zip(out.inputs, out.offsets):
            if sec.data is not None and sec.size:
                pos = out.file_offset + off
                image[pos:pos + sec.size] = sec.data
    apply_relocations(image, symtab, layout, syms, scan, synthetic.common, 0)

    plans = _segment_plans(segments)
    # bind and rebase opcodes name segments by load-command index: __PAGEZERO is 0 in an
    # executable, and a dylib or bundle has none
    seg_index = SegmentIndex(plans, 1 if executable else 0)
    linkedit = LinkeditPlan()
    stabs = [] if opts.strip_debug else debug_map(symtab, syms, layout, outs, macho.cpusubtype)
    symbols, index_of = symbol_table(symtab, syms, outs, ordinal, linkedit, base, macho.nlist,
                                     opts.exported, opts.strip, executable, stabs)
    headers = _section_headers(outs, synthetic, scan, index_of, linkedit, symtab, arch.word)
    # Classic non-lazy pointer slots (__nl_symbol_ptr, i386 objects' __pointers) are bound
    # through the indirect table, and those marked INDIRECT_SYMBOL_LOCAL slid by dyld itself.
    slid_by_dyld = _indirect_pointer_sections(symtab, synthetic) if opts.classic else ()
    slid, read_only = _rebase_sites(symtab, layout, scan, arch.word, slid_by_dyld,
                                    text_rebases=not executable and macho.text_pointers,
                                    library=not executable)
    tlv.refuse_unsupported(outs, opts.classic, opts.min_os)
    tlv_offsets = tlv.descriptor_offsets(image, outs, arch.word)
    slid = [a for a in slid if a not in tlv_offsets]
    pie = opts.pie
    weak_flags = 0
    if opts.classic:
        # A classic MH_PIE image needs a local relocation for every pointer into it (dyld's
        # classic rebase walks only those, and the INDIRECT_SYMBOL_LOCAL slots); an image
        # that is not MH_PIE is never slid and needs none.  We write MH_PIE with local
        # relocations unless a pointer sits in a read-only segment (i386 code with
        # absolute addresses), which dyld could not slide without text relocations.
        pie = pie and read_only is None
        _classic_relocations(symtab, scan, layout, plans, index_of, outs, image,
                             slid if pie else [], arch, linkedit)
    else:
        if read_only is not None and not macho.text_pointers:
            raise read_only
        pie = pie and read_only is None  # i386 code with absolute addresses: never slid
        binds = _binds(symtab, scan, synthetic, layout, seg_index, ordinal)
        lazy = _lazy_binds(symtab, scan, synthetic, layout, seg_index, ordinal)
        linkedit.exports = export_trie(symbols)
        weak_sites = weak.weak_sites(symtab, scan, layout, synthetic.common,
                                     weak.coalesced(symtab, own_weak), arch.word)
        weak_flags = weak.header_flags(own_weak, weak_sites)
        if chained:
            spans = ([ChainSegment(0, base, 0)] if executable else []) + [
                ChainSegment(p.vmaddr, p.vmsize, p.fileoff) for p in plans]
            binds, lazy, slid = weak.as_chained_binds(symtab, weak_sites, seg_index, binds,
                                                      lazy, slid)
            linkedit.chained_fixups = image_fixups(
                image, spans, base, slid, [(seg_index.address(b), b) for b in binds],
                [(seg_index.address(b), b) for b in lazy])
        else:
            linkedit.rebase = rebase_opcodes([seg_index.locate(a) for a in slid],
                                             seg_index.read_only())
            linkedit.bind = bind_opcodes(binds)
            linkedit.weak_bind = weak_bind_opcodes(weak.weak_binds(symtab, weak_sites,
                                                                   seg_index))
            linkedit.lazy_bind, starts = lazy_bind_opcodes(lazy)
            _patch_helper_pushes(image, synthetic, layout, scan, starts, symtab)
    entry = _entry(symtab, syms, opts.entry) if executable else 0
    if link_map is not None:
        from ..linkmap import build_macho_link_map
        link_map.update(build_macho_link_map(arch.name, outs, syms, symtab, entry))
    linkedit_offset = (file_end + PAGE - 1) & -PAGE
    image.extend(bytes(linkedit_offset - len(image)))
    return serialize(image, plans, headers, linkedit, linkedit_offset, dylibs, entry,
                     opts.classic, opts.min_os, opts.sdk, pie, macho, unixthread,
                     tlv.header_flag(outs) | weak_flags, opts.stack_size, kind,
                     {lib.soname: lib.macho_versions for lib in symtab.libraries},
                     opts.rpaths)


def _refuse_unsupported(symtab: SymbolTable, scan: ScanResult, opts: MachoOptions) -> None:
    for gid in scan.copies:
        sym = symtab.symbols[gid]
        raise LinkError("Mach-O has no COPY relocations: imported data must be reached "
                        "through the GOT (compile with the default -fPIC semantics)",
                        file=sym.referrers[0] if sym.referrers else None, symbol=sym.name)
    for gid in sorted(scan.canonical):
        sym = symtab.symbols[gid]
        raise LinkError("a direct (pc-relative or absolute) reference to a symbol imported from "
                        "a dylib: Mach-O reaches imports through stubs (calls) or non-lazy "
                        "pointers (x86-64 sym@GOTPCREL, i386 __IMPORT,__pointers: not -fno-pic "
                        "or -static code), as ld64 requires",
                        file=sym.referrers[0] if sym.referrers else None, symbol=sym.name)


def _collect(symtab: SymbolTable) -> list[OutputSection]:
    outs: dict[str, OutputSection] = {}
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is None or sec.file is not obj:
                continue
            name = policy.output_name(sec)
            out = outs.get(name)
            if out is None:
                out = outs[name] = OutputSection(name, SectionFlags.ALLOC, nobits=True)
                out.meta["first"] = len(outs)
            out.flags |= sec.flags & (SectionFlags.WRITE | SectionFlags.EXEC)
            out.nobits = out.nobits and sec.data is None
            out.inputs.append(sec)
    for out in outs.values():
        inputs, out.inputs = out.inputs, []
        for sec in inputs:
            out.add(sec)
    return sorted(outs.values(), key=lambda o: (o.name.startswith("__DATA,"),
                                                policy.order_key(o, o.meta["first"])))


def _segment_plans(segments: list[Segment]) -> list[SegmentPlan]:
    plans = []
    for seg in segments:
        name = "__DATA" if SectionFlags.WRITE in seg.flags else "__TEXT"
        prot = VM_PROT_R | (VM_PROT_W if name == "__DATA" else VM_PROT_X)
        # __TEXT maps the headers too: it starts at file offset 0.
        plans.append(SegmentPlan(name, seg.addr, (seg.memsz + PAGE - 1) & -PAGE,
                                 seg.file_offset, (seg.filesz + PAGE - 1) & -PAGE, prot,
                                 seg.sections))
    # A segment aligned past the page (16 KB-aligned data) starts past a gap, in memory and
    # in the file alike.  A segment without zero-fill covers the gap after it, as ld64.lld
    # writes it, so that no file byte lies outside every segment (MACHO-FILE-SPACE).
    for seg, plan, after in zip(segments, plans, plans[1:]):
        gap_file, gap_memory = after.fileoff - plan.fileoff, after.vmaddr - plan.vmaddr
        if seg.filesz == seg.memsz and gap_file == gap_memory >= plan.filesize:
            plan.filesize = plan.vmsize = gap_file
    return plans


def _section_headers(outs: list[OutputSection], synthetic: MachoSynthetic, scan: ScanResult,
                     index_of: dict[int, int], plan: LinkeditPlan,
                     symtab: SymbolTable | None = None, word: int = 8
                     ) -> dict[str, SectionHeader]:
    """Section types, and the indirect symbol table that stub and pointer sections index
    (ours, and the non-lazy pointer sections of i386 objects: `_object_pointer_entries`)."""
    indirect: list[int] = []
    common = synthetic.common
    shared = common.got is not None and common.got is common.got_plt  # classic __nl_symbol_ptr
    role: dict[int, str] = {}
    for sec, name in ((common.got, "got"), (common.got_plt, "lazy"), (common.plt, "stubs")):
        if sec is not None:
            role[id(sec)] = name  # in classic mode "lazy" overrides "got": one section
    stub_imports = [index_of[g] for g in scan.plt]
    got_entries = [_got_indirect_entry(key, index_of, symtab) for key in scan.got]
    headers: dict[str, SectionHeader] = {}
    for out in outs:
        h = SectionHeader(out, policy.section_type(out, out.inputs[0].role if out.inputs
                                                   else None))
        kinds = [role[id(s)] for s in out.inputs if id(s) in role]
        if kinds:
            h.reserved1 = len(indirect)
            kind = kinds[0]
            if kind == "stubs":
                indirect += stub_imports
                h.reserved2 = 6  # bytes per stub
            elif kind == "lazy":
                indirect += stub_imports + (got_entries if shared else [])
            else:
                indirect += got_entries
        elif out.inputs and out.inputs[0].role is SectionRole.NON_LAZY_POINTERS:
            assert symtab is not None
            h.reserved1 = len(indirect)
            indirect += _object_pointer_entries(out, symtab, index_of, word)
        headers[out.name] = h
    plan.indirect = struct.pack(f"<{len(indirect)}I", *indirect)
    plan.nindirect = len(indirect)
    return headers


def _got_indirect_entry(key: object, index_of: dict[int, int], symtab: SymbolTable | None
                        ) -> int:
    """The indirect entry of a GOT slot: the symbol's index (dyld binds the slot to it),
    INDIRECT_SYMBOL_LOCAL (an address in the image, which dyld slides), or
    INDIRECT_SYMBOL_ABS (a value that does not move: an absolute symbol, or an undefined
    weak one resolved to 0, which a slide would turn into a wild pointer)."""
    if isinstance(key, int) and key in index_of:
        return index_of[key]
    if symtab is None:
        return INDIRECT_SYMBOL_LOCAL
    if isinstance(key, int):
        moves = _global_moves(symtab, key)
    else:
        assert isinstance(key, tuple)
        number, index = key
        moves = _moves(symtab, symtab.objects[number].symbols, symtab.gids[number], index)
    return INDIRECT_SYMBOL_LOCAL if moves else INDIRECT_SYMBOL_ABS


def _object_pointer_entries(out: OutputSection, symtab: SymbolTable,
                            index_of: dict[int, int], word: int) -> list[int]:
    """One indirect entry per word of an output `__pointers`: the symbol its slot's
    relocation names (INDIRECT_SYMBOL_LOCAL when that is not a global in our symbol table,
    or the slot was a local one in the object)."""
    gids_of = {id(obj): gids for obj, gids in zip(symtab.objects, symtab.gids)}
    entries = [INDIRECT_SYMBOL_LOCAL] * (out.size // word)
    for sec, offset in zip(out.inputs, out.offsets):
        rows = sec.relocs.rows
        gids = gids_of[id(sec.file)]
        for at, symbol in zip(rows["offset"].tolist(), rows["symbol"].tolist()):
            gid = int(gids[symbol])
            if gid >= 0 and (offset + at) % word == 0:
                entries[(offset + at) // word] = index_of.get(gid, INDIRECT_SYMBOL_LOCAL)
    return entries


def _binds(symtab: SymbolTable, scan: ScanResult, synthetic: MachoSynthetic, layout: Layout,
           data: SegmentIndex, ordinal: dict[str, int]) -> list[BindEntry]:
    out = []
    got = synthetic.common.got
    for key, offset in synthetic.common.got_slot_offset.items():
        if isinstance(key, int) and symtab.symbols[key].imported:
            sym = symtab.symbols[key]
            assert got is not None and sym.dso is not None
            seg, off = data.locate(layout.address_of(got) + offset)
            out.append(BindEntry(seg, off, ordinal[sym.dso.soname], sym.name,
                                 weak_import=not sym.strong_ref))
    for site in scan.dynamic_words:
        sym = symtab.symbols[site.gid]
        assert sym.dso is not None
        seg, off = data.locate(layout.address_of(site.section) + site.offset)
        out.append(BindEntry(seg, off, ordinal[sym.dso.soname], sym.name, site.addend,
                             weak_import=not sym.strong_ref))
    return sorted(out, key=lambda e: (e.segment, e.offset))


def _lazy_binds(symtab: SymbolTable, scan: ScanResult, synthetic: MachoSynthetic,
                layout: Layout, data: SegmentIndex,
                ordinal: dict[str, int]) -> list[BindEntry]:
    la = synthetic.common.got_plt
    out = []
    for gid in scan.plt:
        sym = symtab.symbols[gid]
        if not sym.imported:
            continue  # the image's own weak definition: weak-bound, not lazily (weak.py)
        assert la is not None and sym.dso is not None
        seg, off = data.locate(layout.address_of(la) + synthetic.common.jump_slot_offset[gid])
        out.append(BindEntry(seg, off, ordinal[sym.dso.soname], sym.name))
    return out


def _patch_helper_pushes(image: bytearray, synthetic: MachoSynthetic, layout: Layout,
                         scan: ScanResult, starts: list[int], symtab: SymbolTable) -> None:
    helper = synthetic.stub_helper
    if helper is None:
        return
    base = layout.section_file_offset[id(helper)]
    lazy = [gid for gid in scan.plt if symtab.symbols[gid].imported]
    for gid, start in zip(lazy, starts, strict=True):
        at = base + synthetic.stub_helper_offset[gid] + synthetic.helper_push_imm
        image[at:at + 4] = struct.pack("<I", start)


def _rebase_sites(symtab: SymbolTable, layout: Layout, scan: ScanResult, word: int,
                  skip: tuple[InputSection, ...], text_rebases: bool = False,
                  library: bool = False) -> tuple[list[int], LinkError | None]:
    """The address of every absolute pointer to something inside the image (what moves
    with the slide), and the refusal for the first one in a read-only section, if any.
    `text_rebases`: those in read-only sections are rebased too (an i386 dylib, which dyld
    slides whatever its code holds: dyld makes __TEXT writable for its text rebases).
    `library` (a dylib or bundle, always slid): an absolute address narrower than a
    pointer, which no rebase can fix, is refused."""
    bound = {(id(s.section), s.offset) for s in scan.dynamic_words}
    sites = []
    read_only: LinkError | None = None
    for obj, gids in zip(symtab.objects, symtab.gids):
        kinds = np.array([h.kind == RelocKind.ABS and (h.width == word or library)
                          for h in obj.howtos])
        t = obj.symbols
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) \
                    or id(sec) not in layout.section_address or sec in skip:
                continue
            rows = sec.relocs.rows
            for r in np.nonzero(kinds[rows["howto"]])[0].tolist():
                offset, symbol = int(rows["offset"][r]), int(rows["symbol"][r])
                if (id(sec), offset) in bound or not _moves(symtab, t, gids, symbol):
                    continue
                width = obj.howtos[int(rows["howto"][r])].width
                if width != word:
                    raise LinkError(f"a {width}-byte absolute address of a symbol in a dylib "
                                    f"or bundle: dyld slides the image and can rebase only "
                                    f"{word}-byte pointers", file=obj.path, section=sec.name,
                                    offset=offset, symbol=t.names[symbol] or None)
                if SectionFlags.WRITE not in sec.flags and not text_rebases:
                    read_only = read_only or LinkError(
                        "an absolute pointer in a read-only section cannot be rebased in a "
                        "PIE (put it in __DATA,__const)", file=obj.path, section=sec.name,
                        offset=offset, symbol=t.names[symbol] or None)
                    continue
                sites.append(layout.address_of(sec) + offset)
    return sites, read_only


def _indirect_pointer_sections(symtab: SymbolTable, synthetic: MachoSynthetic
                               ) -> tuple[InputSection, ...]:
    """Sections whose slots the classic indirect symbol table binds (or dyld slides)."""
    found = [sec for obj in symtab.objects for sec in obj.sections
             if sec is not None and sec.file is obj
             and sec.role is SectionRole.NON_LAZY_POINTERS]
    got = synthetic.common.got
    return tuple(([got] if got is not None else []) + found)


def _classic_relocations(symtab: SymbolTable, scan: ScanResult, layout: Layout,
                         plans: list[SegmentPlan], index_of: dict[int, int],
                         outs: list[OutputSection], image: bytearray, slid: list[int],
                         arch: ArchTraits, linkedit: LinkeditPlan) -> None:
    """LC_DYSYMTAB's external relocations (pointers to imports, their addend left in the
    word: apply_relocations wrote A there) and local relocations (pointers that slide)."""
    spans = [SegmentSpan(0, False)]  # __PAGEZERO
    spans += [SegmentSpan(p.vmaddr, bool(p.prot & VM_PROT_W)) for p in plans]
    base = relocation_base(arch.name, spans)
    external = [DyldReloc(layout.address_of(s.section) + s.offset, index_of[s.gid])
                for s in scan.dynamic_words if s.section.role is not SectionRole.NON_LAZY_POINTERS]
    local = [DyldReloc(a, _section_ordinal_at(outs, _read_word(image, layout, a, arch.word)))
             for a in slid]
    linkedit.external_relocs = encode(external, extern=True, arch=arch.name, word=arch.word,
                                      base=base)
    linkedit.local_relocs = encode(local, extern=False, arch=arch.name, word=arch.word,
                                   base=base)
    linkedit.nextrel, linkedit.nlocrel = len(external), len(local)


def _read_word(image: bytearray, layout: Layout, addr: int, word: int) -> int:
    seg = next(s for s in layout.segments if s.addr <= addr < s.addr + s.memsz)
    at = seg.file_offset + addr - seg.addr
    return int.from_bytes(image[at:at + word], "little")


def _section_ordinal_at(outs: list[OutputSection], addr: int) -> int:
    """The 1-based ordinal of the output section a pointer points into (its end counts:
    a one-past-the-end pointer), else 1 (r_symbolnum must not be R_ABS, 0)."""
    for n, out in enumerate(outs, start=1):
        if out.addr <= addr < out.addr + out.size:
            return n
    for n, out in enumerate(outs, start=1):
        if addr == out.addr + out.size:
            return n
    return 1


def _moves(symtab: SymbolTable, t: ObjTable, gids: np.ndarray, symbol: int) -> bool:
    """Whether the symbol's address moves with the image (so a pointer to it is rebased)."""
    gid = int(gids[symbol])
    if gid >= 0:
        return _global_moves(symtab, gid)
    section = int(t.section[symbol])
    return section not in (UNDEF, ABS) and section >= 0


def _global_moves(symtab: SymbolTable, gid: int) -> bool:
    sym = symtab.symbols[gid]
    return bool(sym.defined and not sym.absolute and not sym.imported or sym.linker_defined)


def _entry(symtab: SymbolTable, syms: SymbolAddresses, name: str) -> int:
    sym = symtab.by_name.get(name)
    if sym is None or not sym.defined:
        raise LinkError(f"entry point {name} is not defined (use -e to choose another)",
                        symbol=name)
    return int(syms.address[sym.id])


__all__ = ["InputSection", "MachoOptions", "link_macho"]
