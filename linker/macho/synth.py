"""Mach-O synthetic sections: stubs, stub helper, lazy and non-lazy pointers.

Modern (what ld64 and ld64.lld write):

    __TEXT,__stubs         jmp *la_ptr[n](%rip)                      6 bytes per import
    __TEXT,__stub_helper   lea dyld_private(%rip),%r11; push %r11;    16-byte header
                           jmp *binder@GOT(%rip); nop
                           push $lazy_bind_offset; jmp header        10 bytes per import
    __DATA,__la_symbol_ptr initially -> its helper entry; dyld_stub_binder rebinds it
    __DATA,__got           non-lazy pointers, bound at load (imports) or rebased (locals)

Classic (the seed's way, `--macho-classic`): `__TEXT,__symbol_stub1` (jmp through
`__DATA,__nl_symbol_ptr`), with every pointer bound at load through the indirect symbol
table; no stub helper, no dyld info.

As on ELF, the sections are an ordinary synthetic object whose relocations the one
relocation pass applies; only the lazy-bind offsets are patched after layout (they depend
on where the __la_symbol_ptr slots landed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LinkError
from ..model import InputSection, SectionFlags
from ..resolve import SymbolTable
from ..scan import ScanResult
from ..synth import HOWTO_PCREL32, HOWTO_WORD, Synthetic, SyntheticBuilder, place_commons
from ..targets import ArchTraits

STUB = bytes.fromhex("ff2500000000")  # jmp *slot(%rip)
STUB_SIZE = len(STUB)
HELPER_HEADER = bytes.fromhex(
    "4c8d1d00000000"  # lea   dyld_private(%rip), %r11
    "4153"            # push  %r11
    "ff2500000000"    # jmp   *dyld_stub_binder@GOT(%rip)
    "90"              # nop
)
HELPER_ENTRY = bytes.fromhex(
    "6800000000"      # push  $lazy_bind_offset   (patched after layout)
    "e900000000"      # jmp   helper header
)
HELPER_PUSH_IMM = 1
BINDER = "dyld_stub_binder"


@dataclass
class MachoSynthetic:
    common: Synthetic  # the neutral view (stubs as "plt", lazy pointers as "got_plt")
    stub_helper_offset: dict[int, int]  # gid -> offset of its helper entry
    stub_helper: InputSection | None
    dyld_private: InputSection | None
    binder_gid: int | None


def build_macho_synthetic(arch: ArchTraits, globals_: SymbolTable, scan: ScanResult,
                          classic: bool) -> MachoSynthetic:
    b = SyntheticBuilder(arch, globals_)
    word, rw, text = HOWTO_WORD[8], SectionFlags.WRITE, SectionFlags.EXEC
    binder_gid = None
    if scan.plt and not classic:
        binder = globals_.by_name.get(BINDER)
        if binder is None or not binder.imported:
            raise LinkError(f"lazy binding needs {BINDER}, which no library exports "
                            "(link with -lSystem)", symbol=BINDER)
        binder_gid = binder.id
        binder.referenced = binder.strong_ref = True
        scan.want_got(binder.id)

    stubs = la_ptr = helper = dyld_private = None
    plt_entry: dict[int, int] = {}
    slot_of: dict[int, int] = {}
    helper_of: dict[int, int] = {}
    n_stubs = len(scan.plt)
    if classic:
        # Stubs jump through __nl_symbol_ptr slots 0..n-1; GOT loads use the slots after.
        slots = n_stubs + len(scan.got)
        if slots:
            la_ptr = b.add_section("__DATA,__nl_symbol_ptr", rw, slots * 8, 8, bytes(slots * 8))
    elif n_stubs:
        la_ptr = b.add_section("__DATA,__la_symbol_ptr", rw, n_stubs * 8, 8, bytes(n_stubs * 8))
    if n_stubs:
        name = "__TEXT,__symbol_stub1" if classic else "__TEXT,__stubs"
        stubs = b.add_section(name, text, n_stubs * STUB_SIZE, 2, STUB * n_stubs)
        assert la_ptr is not None
        la_sym = b.symbol_for_section(la_ptr)
        if not classic:
            size = len(HELPER_HEADER) + len(HELPER_ENTRY) * n_stubs
            helper = b.add_section("__TEXT,__stub_helper", text, size, 4,
                                   HELPER_HEADER + HELPER_ENTRY * n_stubs)
            dyld_private = b.add_section("__DATA,__data", rw, 8, 8, bytes(8))
            helper_sym = b.symbol_for_section(helper)
            b.reloc(helper, 3, HOWTO_PCREL32, b.symbol_for_section(dyld_private), -4)
        for n, gid in enumerate(scan.plt):
            plt_entry[gid], slot_of[gid] = n * STUB_SIZE, n * 8
            b.reloc(stubs, n * STUB_SIZE + 2, HOWTO_PCREL32, la_sym, n * 8 - 4)
            if helper is not None:
                entry = len(HELPER_HEADER) + n * len(HELPER_ENTRY)
                helper_of[gid] = entry
                b.reloc(helper, entry + 6, HOWTO_PCREL32, helper_sym, -4)  # jmp header
                b.reloc(la_ptr, n * 8, word, helper_sym, entry)

    got = None
    got_slot: dict[object, int] = {}
    if scan.got:
        if classic:
            got, base = la_ptr, n_stubs * 8
        else:
            got, base = b.add_section("__DATA,__got", rw, len(scan.got) * 8, 8,
                                      bytes(len(scan.got) * 8)), 0
        assert got is not None
        for i, key in enumerate(scan.got):
            got_slot[key] = base + i * 8
            if isinstance(key, int):
                sym = globals_.symbols[key]
                if not sym.imported:
                    b.reloc(got, base + i * 8, word, b.symbol_for_global(sym), 0)
            else:
                assert isinstance(key, tuple)
                local = b.symbol_for_local(globals_.objects[key[0]], key[1])
                b.reloc(got, base + i * 8, word, local, 0)
    if helper is not None and binder_gid is not None:
        binder_slot = got_slot[binder_gid]
        assert got is not None
        b.reloc(helper, 11, HOWTO_PCREL32, b.symbol_for_section(got), binder_slot - 4)

    place_commons(b, globals_, "__DATA,__common")
    obj, gids = b.finish()
    globals_.objects.append(obj)
    globals_.gids.append(gids)
    common = Synthetic(obj, stubs, la_ptr, got, None, plt_entry, got_slot, slot_of, {})
    return MachoSynthetic(common, helper_of, helper, dyld_private, binder_gid)
