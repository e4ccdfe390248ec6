"""linker/synth.py: the synthetic GOT/PLT/COPY/COMMON sections and the relocations they carry."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from linker.arch import PLT_TEMPLATES
from linker.errors import LinkError
from linker.model import (
    COMMON,
    UNDEF,
    Binding,
    DynamicLibrary,
    DynamicSymbol,
    InputSection,
    ObjectFile,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
)
from linker.resolve import SymbolTable as Globals
from linker.scan import TLS_GOT, ScanResult
from linker.synth import (
    IPLT_ENTRY_X86_64,
    SYNTH_HOWTOS,
    Synthetic,
    build_synthetic,
)
from linker.targets import I386, X86_64, ArchTraits

Sym = tuple[str, int, int, int, int]  # name, binding, section (1 = .text) / UNDEF / COMMON,
#                                       value (alignment for COMMON), size


def make_object(symbols: list[Sym], types: list[int] | None = None) -> ObjectFile:
    obj = ObjectFile("a.o", "x86_64", [None], None, ())  # type: ignore[arg-type]
    obj.sections.append(InputSection(obj, 1, ".text", SectionFlags.ALLOC | SectionFlags.EXEC,
                                     SectionRole.NORMAL, 16, 64, bytes(64)))
    rows: list[Sym] = [("", Binding.LOCAL, UNDEF, 0, 0), *symbols]
    n = len(rows)
    obj.symbols = SymbolTable(
        names=[r[0] for r in rows],
        value=np.array([r[3] for r in rows], dtype=np.uint64),
        size=np.array([r[4] for r in rows], dtype=np.uint64),
        section=np.array([r[2] for r in rows], dtype=np.int32),
        binding=np.array([r[1] for r in rows], dtype=np.uint8),
        type=np.array(types or [SymType.FUNC] * n, dtype=np.uint8),
        visibility=np.zeros(n, dtype=np.uint8),
    )
    return obj


G = Binding.GLOBAL
LIBC = DynamicLibrary("/lib/libc.so.6", "libc.so.6", {
    "puts": DynamicSymbol("puts", SymType.FUNC, 0, value=0x1000),
    "exit": DynamicSymbol("exit", SymType.FUNC, 0, value=0x2000),
    "environ": DynamicSymbol("environ", SymType.OBJECT, 8, value=0x9000, align=8),
    "__environ": DynamicSymbol("__environ", SymType.OBJECT, 8, value=0x9000, align=8),
    "stdout": DynamicSymbol("stdout", SymType.OBJECT, 8, value=0x9100, align=8),
    "blob": DynamicSymbol("blob", SymType.OBJECT, 24, value=0x9200),
    "big": DynamicSymbol("big", SymType.OBJECT, 64, value=0x9300),
    "odd": DynamicSymbol("odd", SymType.OBJECT, 3, value=0x9400),
})


def globals_with(symbols: list[Sym], lib: bool = True,
                 types: list[int] | None = None) -> Globals:
    t = Globals()
    t.add_object(make_object(symbols, types))
    if lib:
        t.add_library(LIBC)
    return t


def relocs(s: Synthetic, sec: InputSection | None) -> list[tuple[int, str, str, int]]:
    """(offset, howto, target, addend): target is a global's name, or `[section]` for a
    section symbol, or `local:NAME`."""
    assert sec is not None
    t = s.obj.symbols
    out = []
    for off, howto, sym, addend in sec.relocs.rows.tolist():
        if t.type[sym] == SymType.SECTION:
            target_sec = s.obj.sections[int(t.section[sym])]
            assert target_sec is not None
            target = f"[{target_sec.name}]"
        elif t.binding[sym] == Binding.LOCAL:
            target = f"local:{t.names[sym]}"
        else:
            target = t.names[sym]
        out.append((off, SYNTH_HOWTOS[howto].name, target, addend))
    return out


def scan_of(t: Globals, **lists: list[object]) -> ScanResult:
    res = ScanResult()
    for key in lists.get("got", []):
        res.want_got(key)
    for name in lists.get("plt", []):
        res.want_plt(t.by_name[str(name)].id)
    for name in lists.get("copies", []):
        res.want_copy(t.by_name[str(name)].id)
    for name in lists.get("iplt", []):
        res.want_iplt(t.by_name[str(name)].id)
    return res


def test_nothing_wanted_nothing_made_in_a_static_link() -> None:
    t = globals_with([("main", G, 1, 0, 0)], lib=False)
    s = build_synthetic(X86_64, t, ScanResult(), dynamic=False)
    assert (s.plt, s.got_plt, s.got, s.copy_bss, s.iplt) == (None, None, None, None, None)
    assert t.objects[-1] is s.obj  # the synthetic object joins the link like any other


def test_dynamic_link_always_has_got_plt_with_dynamic_in_slot_0() -> None:
    t = globals_with([("main", G, 1, 0, 0), ("_DYNAMIC", G, UNDEF, 0, 0)])
    t.by_name["_DYNAMIC"].linker_defined = True
    s = build_synthetic(X86_64, t, ScanResult(), dynamic=True)
    assert s.got_plt is not None and s.got_plt.size == 3 * 8
    assert SectionFlags.WRITE in s.got_plt.flags
    assert relocs(s, s.got_plt) == [(0, "<word64>", "_DYNAMIC", 0)]
    assert s.plt is None


def test_got_base_use_makes_got_plt_in_a_static_link() -> None:
    t = globals_with([("main", G, 1, 0, 0)], lib=False)
    scan = ScanResult(uses_got_base=True)
    s = build_synthetic(X86_64, t, scan, dynamic=False)
    assert s.got_plt is not None and s.got_plt.size == 24 and len(s.got_plt.relocs) == 0


@pytest.mark.parametrize("arch", [X86_64, I386], ids=lambda a: a.name)
def test_plt_sizes_and_bytes(arch: ArchTraits) -> None:
    t = globals_with([("main", G, 1, 0, 0), ("puts", G, UNDEF, 0, 0), ("exit", G, UNDEF, 0, 0)])
    s = build_synthetic(arch, t, scan_of(t, plt=["exit", "puts"]), dynamic=True)
    w = arch.word
    assert s.plt is not None and s.got_plt is not None
    assert s.plt.size == arch.plt0_size + 2 * arch.plt_entry_size
    assert s.got_plt.size == (3 + 2) * w
    exit_id, puts_id = t.by_name["exit"].id, t.by_name["puts"].id
    assert s.plt_entry_offset == {exit_id: 16, puts_id: 32}  # in PLT order
    assert s.jump_slot_offset == {exit_id: 3 * w, puts_id: 4 * w}
    template = PLT_TEMPLATES[arch.name]
    data = bytes(s.plt.data or b"")
    assert data[:16] == template.plt0
    for n in range(2):
        entry = data[16 + 16 * n:32 + 16 * n]
        imm = template.push_imm_offset
        assert entry[imm:imm + 4] == template.push_value(n).to_bytes(4, "little")
        assert entry[:imm] == template.entry[:imm]


def test_x86_64_plt_relocations() -> None:
    t = globals_with([("main", G, 1, 0, 0), ("puts", G, UNDEF, 0, 0), ("exit", G, UNDEF, 0, 0)])
    s = build_synthetic(X86_64, t, scan_of(t, plt=["puts", "exit"]), dynamic=True)
    assert relocs(s, s.plt) == [
        # PLT0: push GOT+8(%rip); jmp *GOT+16(%rip)
        (2, "<pcrel32>", "[.got.plt]", 8 - 4), (8, "<pcrel32>", "[.got.plt]", 16 - 4),
        # PLT1: jmp *slot(%rip) ... jmp PLT0
        (16 + 2, "<pcrel32>", "[.got.plt]", 24 - 4), (16 + 12, "<pcrel32>", "[.plt]", -4),
        (32 + 2, "<pcrel32>", "[.got.plt]", 32 - 4), (32 + 12, "<pcrel32>", "[.plt]", -4),
    ]
    # the lazy slots point at their entry's push
    assert relocs(s, s.got_plt) == [(24, "<word64>", "[.plt]", 16 + 6),
                                    (32, "<word64>", "[.plt]", 32 + 6)]


def test_i386_lazy_slot_points_at_the_push() -> None:
    t = globals_with([("main", G, 1, 0, 0), ("puts", G, UNDEF, 0, 0)])
    s = build_synthetic(I386, t, scan_of(t, plt=["puts"]), dynamic=True)
    push = PLT_TEMPLATES["i386"].push_offset
    assert relocs(s, s.got_plt) == [(12, "<word32>", "[.plt]", 16 + push)]


def test_got_slots_static_ones_carry_a_word_imports_do_not() -> None:
    t = globals_with([("main", G, 1, 0, 0), ("puts", G, UNDEF, 0, 0), ("loc", Binding.LOCAL, 1,
                                                                        8, 0)])
    main, puts = t.by_name["main"].id, t.by_name["puts"].id
    loc_index = 3
    s = build_synthetic(X86_64, t, scan_of(t, got=[main, puts, (0, loc_index)]), dynamic=True)
    assert s.got is not None and s.got.size == 24
    assert s.got_slot_offset == {main: 0, puts: 8, (0, loc_index): 16}
    # puts' slot is left to ld.so (GLOB_DAT); main's and the local's are static words
    assert relocs(s, s.got) == [(0, "<word64>", "main", 0), (16, "<word64>", "local:loc", 0)]


def test_tls_got_slot_holds_tpoff() -> None:
    t = globals_with([("tv", G, 1, 0, 4)], lib=False, types=[SymType.NOTYPE, SymType.TLS])
    tv = t.by_name["tv"].id
    s = build_synthetic(X86_64, t, scan_of(t, got=[(TLS_GOT, tv), tv]), dynamic=False)
    assert relocs(s, s.got) == [(0, "<tpoff64>", "tv", 0), (8, "<word64>", "tv", 0)]


def test_copy_aliases_share_one_slot() -> None:
    t = globals_with([("main", G, 1, 0, 0), ("environ", G, UNDEF, 0, 0),
                      ("__environ", G, UNDEF, 0, 0), ("stdout", G, UNDEF, 0, 0)])
    s = build_synthetic(X86_64, t, scan_of(t, copies=["environ", "stdout", "__environ"]),
                        dynamic=True)
    env, alias, out = (t.by_name[n] for n in ("environ", "__environ", "stdout"))
    assert s.copy_bss is not None and s.copy_bss.name == ".dynbss"
    assert s.copy_bss.role is SectionRole.ZEROFILL and s.copy_bss.size == 16
    assert s.copy_offset == {env.id: 0, out.id: 8}  # one COPY for the two names
    for sym, offset in ((env, 0), (alias, 0), (out, 8)):
        assert sym.section is s.copy_bss and sym.value == offset and sym.file is s.obj
        assert not sym.imported


def test_copy_alignment_from_library_or_size() -> None:
    t = globals_with([("odd", G, UNDEF, 0, 0), ("blob", G, UNDEF, 0, 0),
                      ("big", G, UNDEF, 0, 0)])
    s = build_synthetic(X86_64, t, scan_of(t, copies=["odd", "blob", "big"]), dynamic=True)
    odd, blob, big = (t.by_name[n].id for n in ("odd", "blob", "big"))
    # odd: 3 bytes, align 1; blob: 24 bytes -> align 8; big: 64 bytes -> align 32 (the cap)
    assert s.copy_offset == {odd: 0, blob: 8, big: 32}
    assert s.copy_bss is not None and s.copy_bss.size == 96 and s.copy_bss.align == 32


def test_commons_packed_by_alignment_in_symbol_order() -> None:
    t = globals_with([("c1", G, COMMON, 1, 3), ("c8", G, COMMON, 8, 16),
                      ("c4", G, COMMON, 4, 4)], lib=False, types=[SymType.NOTYPE] * 4)
    s = build_synthetic(X86_64, t, ScanResult(), dynamic=False)
    bss = [sec for sec in s.obj.sections if sec is not None and sec.name == ".bss.common"]
    assert len(bss) == 1 and bss[0].role is SectionRole.ZEROFILL
    placed = {n: t.by_name[n].value for n in ("c1", "c8", "c4")}
    assert placed == {"c1": 0, "c8": 8, "c4": 24}
    assert bss[0].size == 28 and bss[0].align == 8
    for n in ("c1", "c8", "c4"):
        sym = t.by_name[n]
        assert not sym.common and sym.section is bss[0] and sym.type == SymType.OBJECT  # NOTYPE -> OBJECT


def test_static_ifunc_iplt_entry_slot_and_irelative() -> None:
    t = globals_with([("pick", G, 1, 0x20, 0)], lib=False,
                     types=[SymType.NOTYPE, SymType.IFUNC])
    pick = t.by_name["pick"].id
    s = build_synthetic(X86_64, t, scan_of(t, iplt=["pick"]), dynamic=False)
    assert s.iplt is not None and s.iplt_entry_offset == {pick: 0}
    assert bytes(s.iplt.data or b"") == IPLT_ENTRY_X86_64
    assert relocs(s, s.iplt) == [(2, "<pcrel32>", "[.got.iplt]", -4)]
    rela = next(sec for sec in s.obj.sections if sec is not None and sec.name == ".rela.iplt")
    assert struct.unpack("<3Q", bytes(rela.data or b"")) == (0, X86_64.dyn.irelative, 0)
    assert relocs(s, rela) == [(0, "<word64>", "[.got.iplt]", 0),
                               (16, "<word64>", "local:pick", 0)]


def test_dynamic_ifunc_slot_holds_the_resolver_and_no_rela_iplt() -> None:
    """In a dynamic link ld.so applies the IRELATIVE (written in .rela.plt by the ELF
    planner); the slot starts as the resolver's address, which i386's REL reads."""
    t = globals_with([("pick", G, 1, 0, 0)], types=[SymType.NOTYPE, SymType.IFUNC])
    pick = t.by_name["pick"].id
    s = build_synthetic(X86_64, t, scan_of(t, iplt=["pick"]), dynamic=True)
    assert s.iplt is not None and s.iplt_entry_offset == {pick: 0} and s.ifunc is not None
    assert not any(sec is not None and sec.name == ".rela.iplt" for sec in s.obj.sections)
    assert relocs(s, s.ifunc.slots) == [(0, "<word64>", "local:pick", 0)]
    assert len(s.ifunc.resolvers) == 1


def test_ifunc_refused_in_a_static_i386_link() -> None:
    t = globals_with([("pick", G, 1, 0, 0)], lib=False, types=[SymType.NOTYPE, SymType.IFUNC])
    with pytest.raises(LinkError, match="a.o: symbol pick: STT_GNU_IFUNC in a static i386 "
                       "link is not supported"):
        build_synthetic(I386, t, scan_of(t, iplt=["pick"]), dynamic=False)