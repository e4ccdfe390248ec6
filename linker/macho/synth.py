"""Mach-O synthetic sections: stubs, stub helper, lazy and non-lazy pointers.

Modern (what ld64 and ld64.lld write), with the arch's byte templates (linker/arch:
`MACHO_STUB_TEMPLATES`; x86-64 addresses everything rip-relative, i386 absolutely):

    __TEXT,__stubs         jmp *la_ptr[n]                            6 bytes per import
    __TEXT,__stub_helper   pass dyld_private to dyld_stub_binder     header
                           push $lazy_bind_offset; jmp header        10 bytes per import
    __DATA,__la_symbol_ptr initially -> its helper entry; dyld_stub_binder rebinds it
    __DATA,__got           non-lazy pointers, bound at load (imports) or rebased (locals);
                           i386 calls it __nl_symbol_ptr, as ld64 does

Classic (the seed's way, `--macho-classic`): `__TEXT,__symbol_stub1` (jmp through
`__DATA,__nl_symbol_ptr`), with every pointer bound at load through the indirect symbol
table; no stub helper, no dyld info.

As on ELF, the sections are an ordinary synthetic object whose relocations the one
relocation pass applies, the helper's `push $lazy_bind_offset` operands included: each is
an absolute 32-bit relocation against a per-import absolute symbol of the synthetic
object, whose value (the import's offset in the lazy-bind stream, which depends on where
the __la_symbol_ptr slots land) `set_lazy_bind_offsets` fills in once layout has run.
Slots are a word wide (arch.word).
"""

from __future__ import annotations

from ..arch import MACHO_STUB_TEMPLATES, MachoStubTemplate, PltField
from ..errors import LinkError
from ..model import InputSection, SectionFlags
from ..records import dataclass, field
from ..resolve import SymbolTable
from ..scan import ScanResult
from ..synth import HOWTO_PCREL32, HOWTO_WORD, Synthetic, SyntheticBuilder, place_commons
from ..targets import ArchTraits

# The x86-64 template's bytes under their old names (tests and the field oracle's checks).
STUB = MACHO_STUB_TEMPLATES["x86_64"].stub
STUB_SIZE = len(STUB)
HELPER_HEADER = MACHO_STUB_TEMPLATES["x86_64"].helper_header
HELPER_ENTRY = MACHO_STUB_TEMPLATES["x86_64"].helper_entry
HELPER_PUSH_IMM = MACHO_STUB_TEMPLATES["x86_64"].entry_push_imm
BINDER = "dyld_stub_binder"


@dataclass
class MachoSynthetic:
    common: Synthetic  # the neutral view (stubs as "plt", lazy pointers as "got_plt")
    stub_helper_offset: dict[int, int]  # gid -> offset of its helper entry
    stub_helper: InputSection | None
    dyld_private: InputSection | None
    binder_gid: int | None
    helper_push_imm: int = 1  # where, in a helper entry, the lazy-bind offset goes
    # gid -> the synthetic object's absolute symbol the helper's push relocation names
    lazy_bind_offset_symbol: dict[int, int] = field(default_factory=dict)


def build_macho_synthetic(arch: ArchTraits, globals_: SymbolTable, scan: ScanResult,
                          classic: bool) -> MachoSynthetic:
    b = SyntheticBuilder(arch, globals_)
    t = MACHO_STUB_TEMPLATES[arch.name]
    w = arch.word
    word, rw, text = HOWTO_WORD[w], SectionFlags.WRITE, SectionFlags.EXEC
    binder_gid = None
    if scan.plt and not classic and any(globals_.symbols[g].imported for g in scan.plt):
        binder = globals_.by_name.get(BINDER)
        if binder is None or not binder.imported:
            raise LinkError(f"lazy binding needs {BINDER}, which no library exports "
                            "(link with -lSystem)", symbol=BINDER)
        binder_gid = binder.id
        binder.referenced = binder.strong_ref = True
        scan.want_got(binder.id)

    def field(sec: InputSection, at: int, f: PltField, symbol: int, extra: int = 0) -> None:
        howto = HOWTO_PCREL32 if f.pc_relative else HOWTO_WORD[4]
        b.reloc(sec, at + f.offset, howto, symbol, f.addend + extra)

    stubs = la_ptr = helper = dyld_private = None
    plt_entry: dict[int, int] = {}
    slot_of: dict[int, int] = {}
    helper_of: dict[int, int] = {}
    offset_symbol: dict[int, int] = {}
    n_stubs = len(scan.plt)
    # a stub to the image's own weak definition (weak.py) needs no helper: its lazy pointer
    # holds the definition until dyld's weak binding rewrites it
    n_lazy = sum(1 for gid in scan.plt if globals_.symbols[gid].imported)
    stub_size = len(t.stub)
    if classic:
        # Stubs jump through __nl_symbol_ptr slots 0..n-1; GOT loads use the slots after.
        slots = n_stubs + len(scan.got)
        if slots:
            la_ptr = b.add_section("__DATA,__nl_symbol_ptr", rw, slots * w, w, bytes(slots * w))
    elif n_stubs:
        la_ptr = b.add_section("__DATA,__la_symbol_ptr", rw, n_stubs * w, w, bytes(n_stubs * w))
    if n_stubs:
        name = "__TEXT,__symbol_stub1" if classic else "__TEXT,__stubs"
        stubs = b.add_section(name, text, n_stubs * stub_size, 2, t.stub * n_stubs)
        assert la_ptr is not None
        la_sym = b.symbol_for_section(la_ptr)
        if not classic and n_lazy:
            size = len(t.helper_header) + len(t.helper_entry) * n_lazy
            helper = b.add_section("__TEXT,__stub_helper", text, size, 4,
                                   t.helper_header + t.helper_entry * n_lazy)
            dyld_private = b.add_section("__DATA,__data", rw, w, w, bytes(w))
            helper_sym = b.symbol_for_section(helper)
            targets = {"dyld_private": b.symbol_for_section(dyld_private)}
            for f in t.header_fields:
                if f.target in targets:
                    field(helper, 0, f, targets[f.target])
        lazy_n = 0
        for n, gid in enumerate(scan.plt):
            plt_entry[gid], slot_of[gid] = n * stub_size, n * w
            field(stubs, n * stub_size, t.stub_field, la_sym, n * w)
            if not classic and not globals_.symbols[gid].imported:
                b.reloc(la_ptr, n * w, word, b.symbol_for_global(globals_.symbols[gid]), 0)
                continue
            if helper is not None:
                entry = len(t.helper_header) + lazy_n * len(t.helper_entry)
                lazy_n += 1
                helper_of[gid] = entry
                for f in t.entry_fields:
                    field(helper, entry, f, helper_sym)  # jmp header
                # push $offset: the import's place in the lazy-bind stream, an absolute
                # value known after layout (set_lazy_bind_offsets)
                offset_symbol[gid] = b.absolute_symbol(f"<lazy bind offset {n}>")
                b.reloc(helper, entry + t.entry_push_imm, HOWTO_WORD[4], offset_symbol[gid], 0)
                b.reloc(la_ptr, n * w, word, helper_sym, entry)

    got = None
    got_slot: dict[object, int] = {}
    if scan.got:
        if classic:
            got, base = la_ptr, n_stubs * w
        else:
            got, base = b.add_section(arch.macho.got_section if arch.macho else "__DATA,__got",
                                      rw, len(scan.got) * w, w, bytes(len(scan.got) * w)), 0
        assert got is not None
        for i, key in enumerate(scan.got):
            got_slot[key] = base + i * w
            if isinstance(key, int):
                sym = globals_.symbols[key]
                if not sym.imported:
                    b.reloc(got, base + i * w, word, b.symbol_for_global(sym), 0)
            else:
                assert isinstance(key, tuple)
                local = b.symbol_for_local(globals_.objects[key[0]], key[1])
                b.reloc(got, base + i * w, word, local, 0)
    if helper is not None and binder_gid is not None:
        assert got is not None
        got_sym = b.symbol_for_section(got)
        for f in t.header_fields:
            if f.target == "binder":
                field(helper, 0, f, got_sym, got_slot[binder_gid])

    place_commons(b, globals_, "__DATA,__common")
    obj, gids = b.finish()
    globals_.objects.append(obj)
    globals_.gids.append(gids)
    common = Synthetic(obj, stubs, la_ptr, got, None, plt_entry, got_slot, slot_of, {})
    return MachoSynthetic(common, helper_of, helper, dyld_private, binder_gid,
                          t.entry_push_imm, offset_symbol)


def set_lazy_bind_offsets(synthetic: MachoSynthetic, scan: ScanResult, starts: list[int]
                          ) -> None:
    """Complete the helper's push records: each import's offset in the lazy-bind stream
    (`starts`, in scan.plt order) becomes the value of the absolute symbol its push
    relocation names."""
    values = synthetic.common.obj.symbols.value
    # the stubs of the image's own weak definitions have no helper entry (weak.py)
    lazy = [gid for gid in scan.plt if gid in synthetic.lazy_bind_offset_symbol]
    for gid, start in zip(lazy, starts, strict=True):
        values[synthetic.lazy_bind_offset_symbol[gid]] = start


__all__ = ["BINDER", "HELPER_ENTRY", "HELPER_HEADER", "HELPER_PUSH_IMM", "STUB",
           "MachoStubTemplate", "MachoSynthetic", "build_macho_synthetic"]
