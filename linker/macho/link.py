"""The Mach-O parts of the back half (linker/pipeline.py runs them): from a resolved symbol
table to an MH_EXECUTE, MH_DYLIB or MH_BUNDLE (what differs between them: image_kind.py).

    scan (shared with ELF) -> stubs, helper and pointers (synth.py) and rebase records
    (rebases.py) -> two segments laid out by the neutral layout -> lazy-bind stream, whose
    offsets complete the helper's push records -> the one relocation pass -> dyld
    information, symbol table and indirect symbol table -> bytes (write.py).

Word-size neutral: the arch's record (ArchTraits.word, MachoTraits) gives the base
address, header and nlist layout; i386 images whose code holds absolute addresses (every
stub does) are written without MH_PIE: we write no text rebases.
"""

from __future__ import annotations

import struct

from ..apply import SymbolAddresses, symbol_addresses
from ..errors import LinkError
from ..layout import Layout, OutputSection, Segment, assign_addresses
from ..model import SectionFlags, SectionRole
from ..pipeline import LinkedImage, RelocationFrame
from ..records import dataclass
from ..resolve import SymbolTable
from ..scan import ScanResult, scan_relocations
from ..synth import Synthetic
from ..targets import ArchTraits, MachoTraits
from . import sections as policy
from . import tlv, weak
from .chained import ChainSegment, chained_fixups_wanted, image_fixups
from .classic_relocs import DyldReloc, SegmentSpan, encode, relocation_base
from .debug_map import as_statics, debug_map
from .dyldinfo import (
    BindEntry,
    bind_opcodes,
    export_trie,
    lazy_bind_opcodes,
    rebase_opcodes,
    weak_bind_opcodes,
)
from .image_kind import SegmentIndex, image_base, library_ordinals, refuse_classic_library
from .rebases import (
    RebaseRecords,
    global_moves,
    indirect_pointer_sections,
    local_moves,
    pointer_targets,
    rebase_records,
    section_ordinal_at,
    site_addresses,
)
from .sectcreate import create_sections
from .symbols import MH_EXECUTE_HEADER, local_names, symbol_table
from .synth import MachoSynthetic, build_macho_synthetic, set_lazy_bind_offsets
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
    discard_locals: bool = False  # -x: no local (private external) symbols in the table
    sectcreate: tuple[tuple[str, str, bytes], ...] = ()  # -sectcreate SEG SECT (file bytes)
    kind: ImageKind = EXECUTABLE  # -dylib (with its LC_ID_DYLIB) or -bundle
    rpaths: tuple[str, ...] = ()  # -rpath: LC_RPATH entries, in command-line order
    dynamic_lookup: bool = False  # -undefined dynamic_lookup (no chained fixups by default)


class MachoParts:
    """Mach-O's side of linker/pipeline.py's FormatParts: each step keeps what the later
    ones need on the instance."""

    def __init__(self, symtab: SymbolTable, arch: ArchTraits, target: str,
                 opts: MachoOptions) -> None:
        assert arch.macho is not None, f"{arch.name} has no Mach-O traits"
        self.symtab, self.arch, self.target, self.opts = symtab, arch, target, opts
        self.macho: MachoTraits = arch.macho
        self.executable = opts.kind.executable
        self.base = image_base(self.macho.base, opts.pagezero_size, opts.kind)
        self.unixthread = self.executable and (opts.classic
                                               or opts.min_os < self.macho.lc_main_min_os)
        self.chained = chained_fixups_wanted(opts.classic, self.macho.chained_fixups,
                                             opts.fixup_chains, opts.min_os,
                                             opts.dynamic_lookup)
        self.outs: list[OutputSection] = []
        self.segments: list[Segment] = []
        self.linkedit = LinkeditPlan()
        self.absolute_tlv = False  # prepare: the code holds an absolute TLV load

    def prepare(self) -> None:
        opts = self.opts
        if opts.stack_size and self.unixthread:
            # ld64 would add a __UNIXSTACK segment for an LC_UNIXTHREAD image; we do not
            raise LinkError("-stack_size is written in LC_MAIN only (macOS 10.8 or later, "
                            "not classic)")
        if opts.fixup_chains and not self.chained:
            raise LinkError(f"-fixup_chains: chained fixups are written for x86_64 modern "
                            f"images only (not {self.target}"
                            f"{' --macho-classic' if opts.classic else ''})")
        refuse_classic_library(opts.classic, opts.kind)
        self.absolute_tlv = tlv.relax_descriptor_loads(self.symtab, library=not self.executable)

    def scan(self) -> ScanResult:
        self.scan_result = scan_relocations(self.symtab, self.arch.word)
        _refuse_unsupported(self.symtab, self.scan_result, self.opts)
        self.own_weak = set() if self.opts.classic else weak.exported_weak_definitions(
            self.symtab, self.opts.exported)
        weak.route_calls_through_stubs(self.symtab, self.scan_result, self.own_weak)
        return self.scan_result

    def synthesize(self, scan: ScanResult) -> Synthetic:
        symtab, opts = self.symtab, self.opts
        self.synthetic = build_macho_synthetic(self.arch, symtab, scan, opts.classic)
        create_sections(symtab, self.synthetic.common.obj, opts.sectcreate)
        # Descriptor offsets are relocations of their own kind (not pointers to rebase)
        self.tlv_offsets = tlv.offset_records(symtab, self.arch.word)
        # Classic non-lazy pointer slots (__nl_symbol_ptr, i386 objects' __pointers) are
        # bound through the indirect table, and those marked INDIRECT_SYMBOL_LOCAL slid by
        # dyld itself: no rebase records for them.
        slid_by_dyld = indirect_pointer_sections(symtab, self.synthetic) if opts.classic else ()
        self.rebases: RebaseRecords = rebase_records(
            symtab, scan, self.arch.word, slid_by_dyld,
            text_rebases=not self.executable and self.macho.text_pointers,
            library=not self.executable)
        return self.synthetic.common

    def collect(self) -> None:
        self.outs = _collect(self.symtab)
        tlv.align_template(self.outs)
        text = Segment(SectionFlags.ALLOC | SectionFlags.EXEC,
                       [o for o in self.outs if not o.name.startswith("__DATA,")])
        data = Segment(SectionFlags.ALLOC | SectionFlags.WRITE,
                       [o for o in self.outs if o.name.startswith("__DATA,")])
        self.segments = [s for s in (text, data) if s.sections or s is text]

    def plan(self) -> None:
        """The load commands' size, which places the first section."""
        self.ordinal = library_ordinals(self.symtab)
        self.dylibs = [name for name, n in self.ordinal.items() if n > 0]
        _, self.commands_size = load_commands_size(
            [len(s.sections) for s in self.segments], self.dylibs, self.opts.classic,
            self.macho, self.unixthread, self.chained, self.opts.kind, self.opts.rpaths)

    def lay_out(self) -> Layout:
        self.layout = assign_addresses(
            self.segments, base=self.base, page=PAGE,
            header_size=self.macho.header_size + self.commands_size + self.opts.headerpad)
        return self.layout

    def addresses(self, layout: Layout) -> SymbolAddresses:
        # ld64 defines both: the header's address, and ___dso_handle (what clang passes to
        # __cxa_atexit to name the image) at the same place.
        defined = {MH_EXECUTE_HEADER: self.base, DSO_HANDLE: self.base}
        self.symtab.define_linker_symbol(MH_EXECUTE_HEADER)
        self.symtab.define_linker_symbol(DSO_HANDLE)
        self.syms = symbol_addresses(self.symtab, layout, self.synthetic.common,
                                     self.scan_result, defined)
        return self.syms

    def fill(self, layout: Layout, syms: SymbolAddresses) -> tuple[bytearray, RelocationFrame]:
        # The file holds the segments' file data only: zero-fill (__bss, __common, last in
        # __DATA) takes addresses but no file bytes, as ld64 lays it out.
        self.file_end = max(seg.file_offset + seg.filesz for seg in self.segments)
        image = bytearray(self.file_end)
        for out in self.outs:
            for sec, off in zip(out.inputs, out.offsets):
                if sec.data is not None and sec.size:
                    pos = out.file_offset + off
                    image[pos:pos + sec.size] = sec.data
        self.plans = _segment_plans(self.segments)
        # bind and rebase opcodes name segments by load-command index: __PAGEZERO is 0 in
        # an executable, and a dylib or bundle has none
        self.seg_index = SegmentIndex(self.plans, 1 if self.executable else 0)
        tlv.refuse_unsupported(self.outs, self.opts.classic, self.opts.min_os)
        template = tlv.check_descriptors(
            self.outs, self.tlv_offsets,
            pointer_targets(self.tlv_offsets, layout, syms.address, self.arch.word),
            self.arch.word)
        if not self.opts.classic:
            self.lazy = _lazy_binds(self.symtab, self.scan_result, self.synthetic, layout,
                                    self.seg_index, self.ordinal)
            if not self.chained:
                # Each stub-helper entry pushes its import's offset in the lazy-bind
                # stream: a relocation record of the helper, completed here, applied by
                # the one relocation pass with everything else.
                self.linkedit.lazy_bind, starts = lazy_bind_opcodes(self.lazy)
                set_lazy_bind_offsets(self.synthetic, self.scan_result, starts)
        # the template's start is TLS for the descriptors' offsets (S + A - TLS)
        return image, RelocationFrame(tls_start=template or 0)

    def write(self, image: bytearray) -> LinkedImage:
        symtab, opts, arch, macho = self.symtab, self.opts, self.arch, self.macho
        layout, syms, scan, outs = self.layout, self.syms, self.scan_result, self.outs
        linkedit, plans, seg_index = self.linkedit, self.plans, self.seg_index
        executable = self.executable
        stabs = [] if opts.strip_debug else debug_map(symtab, syms, layout, outs,
                                                      macho.cpusubtype)
        if opts.discard_locals:
            stabs = as_statics(stabs, local_names(symtab, opts.exported))
        symbols, index_of = symbol_table(symtab, syms, outs, self.ordinal, linkedit,
                                         self.base, macho.nlist, opts.exported, opts.strip,
                                         executable, stabs, opts.discard_locals,
                                         frozenset(self.own_weak & set(scan.plt)))
        headers = _section_headers(outs, self.synthetic, scan, index_of, linkedit, symtab,
                                   arch.word)
        slid = site_addresses(self.rebases, layout)
        read_only = self.rebases.read_only
        pie = opts.pie
        weak_flags = 0
        if opts.classic:
            # A classic MH_PIE image needs a local relocation for every pointer into it
            # (dyld's classic rebase walks only those, and the INDIRECT_SYMBOL_LOCAL
            # slots); an image that is not MH_PIE is never slid and needs none.  We write
            # MH_PIE with local relocations unless a pointer sits in a read-only segment
            # (i386 code with absolute addresses), which dyld could not slide without text
            # relocations.
            pie = pie and read_only is None
            targets = pointer_targets(self.rebases.sites, layout, syms.address, arch.word)
            _classic_relocations(scan, layout, plans, index_of, outs,
                                 [(a, targets[a]) for a in slid] if pie else [], arch,
                                 linkedit)
        else:
            if read_only is not None and not macho.text_pointers:
                raise read_only
            # i386 code with absolute addresses (a -mdynamic-no-pic TLV load's among them,
            # a pointer slot's address when not relaxed): never slid
            pie = pie and read_only is None and not self.absolute_tlv
            binds = _binds(symtab, scan, self.synthetic, layout, seg_index, self.ordinal)
            linkedit.exports = export_trie(symbols)
            weak_sites = weak.weak_sites(symtab, scan, layout, self.synthetic.common,
                                         weak.coalesced(symtab, self.own_weak), arch.word)
            weak_flags = weak.header_flags(self.own_weak, weak_sites)
            if self.chained:
                spans = ([ChainSegment(0, self.base, 0)] if executable else []) + [
                    ChainSegment(p.vmaddr, p.vmsize, p.fileoff) for p in plans]
                binds, lazy, slid = weak.as_chained_binds(symtab, weak_sites, seg_index,
                                                          binds, self.lazy, slid)
                linkedit.chained_fixups = image_fixups(
                    image, spans, self.base, slid,
                    [(seg_index.address(b), b) for b in binds],
                    [(seg_index.address(b), b) for b in lazy])
            else:
                linkedit.rebase = rebase_opcodes([seg_index.locate(a) for a in slid],
                                                 seg_index.read_only())
                linkedit.bind = bind_opcodes(binds)
                linkedit.weak_bind = weak_bind_opcodes(weak.weak_binds(symtab, weak_sites,
                                                                       seg_index))
        entry = _entry(symtab, syms, opts.entry) if executable else 0
        linkedit_offset = (self.file_end + PAGE - 1) & -PAGE
        image.extend(bytes(linkedit_offset - len(image)))
        data = serialize(image, plans, headers, linkedit, linkedit_offset, self.dylibs, entry,
                         opts.classic, opts.min_os, opts.sdk, pie, macho, self.unixthread,
                         tlv.header_flag(outs) | weak_flags, opts.stack_size, opts.kind,
                         {lib.soname: lib.macho_versions for lib in symtab.libraries},
                         opts.rpaths)
        return LinkedImage(data, self.target, macho.bfd_name, arch.word, outs, syms, entry,
                           tuple(lib.soname for lib in symtab.libraries))


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
        moves = global_moves(symtab, key)
    else:
        assert isinstance(key, tuple)
        number, index = key
        moves = local_moves(symtab, number, index)
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


def _classic_relocations(scan: ScanResult, layout: Layout, plans: list[SegmentPlan],
                         index_of: dict[int, int], outs: list[OutputSection],
                         slid: list[tuple[int, int]], arch: ArchTraits,
                         linkedit: LinkeditPlan) -> None:
    """LC_DYSYMTAB's external relocations (pointers to imports, their addend left in the
    word: the relocation pass wrote A there) and local relocations (pointers that slide,
    each naming the section its target, from the rebase records, lies in)."""
    assert arch.macho is not None
    spans = [SegmentSpan(0, False)]  # __PAGEZERO
    spans += [SegmentSpan(p.vmaddr, bool(p.prot & VM_PROT_W)) for p in plans]
    base = relocation_base(arch.macho.reloc_base_writable, spans)
    external = [DyldReloc(layout.address_of(s.section) + s.offset, index_of[s.gid])
                for s in scan.dynamic_words if s.section.role is not SectionRole.NON_LAZY_POINTERS]
    local = [DyldReloc(a, section_ordinal_at(outs, target)) for a, target in slid]
    linkedit.external_relocs = encode(external, extern=True, pointer_type=arch.macho.pointer_reloc,
                                      word=arch.word, base=base)
    linkedit.local_relocs = encode(local, extern=False, pointer_type=arch.macho.pointer_reloc,
                                   word=arch.word, base=base)
    linkedit.nextrel, linkedit.nlocrel = len(external), len(local)


def _entry(symtab: SymbolTable, syms: SymbolAddresses, name: str) -> int:
    sym = symtab.by_name.get(name)
    if sym is None or not sym.defined:
        raise LinkError(f"entry point {name} is not defined (use -e to choose another)",
                        symbol=name)
    return int(syms.address[sym.id])


__all__ = ["MachoOptions", "MachoParts"]
