"""linker/macho/synth.py: stubs, stub helper, lazy and non-lazy pointers, and their relocations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from linker.errors import LinkError
from linker.macho.synth import (
    BINDER,
    HELPER_ENTRY,
    HELPER_HEADER,
    STUB,
    MachoSynthetic,
    build_macho_synthetic,
    set_lazy_bind_offsets,
)
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
from linker.scan import ScanResult
from linker.synth import SYNTH_HOWTOS
from linker.targets import X86_64

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def globals_with(names: list[tuple[str, int]], binder: bool = True) -> Globals:
    """An object defining _main and referring to `names` ((name, UNDEF or COMMON))."""
    obj = ObjectFile("m.o", "x86_64", [None], None, ())  # type: ignore[arg-type]
    obj.sections.append(InputSection(obj, 1, "__TEXT,__text", SectionFlags.ALLOC
                                     | SectionFlags.EXEC, SectionRole.NORMAL, 16, 16, bytes(16)))
    rows = [("", UNDEF), ("_main", 1), *names]
    n = len(rows)
    obj.symbols = SymbolTable(
        names=[r[0] for r in rows], value=np.array([8 if r[1] == COMMON else 0 for r in rows],
                                                   dtype=np.uint64),
        size=np.array([16 if r[1] == COMMON else 0 for r in rows], dtype=np.uint64),
        section=np.array([r[1] for r in rows], dtype=np.int32),
        binding=np.array([Binding.LOCAL] + [Binding.GLOBAL] * (n - 1), dtype=np.uint8),
        type=np.zeros(n, dtype=np.uint8), visibility=np.zeros(n, dtype=np.uint8))
    t = Globals()
    t.add_object(obj)
    exports = ["_puts", "_exit", "_printf", "___stdoutp"] + ([BINDER] if binder else [])
    t.add_library(DynamicLibrary(LIBSYSTEM, LIBSYSTEM, {
        e: DynamicSymbol(e, SymType.OBJECT if e == "___stdoutp" else SymType.FUNC, 8)
        for e in exports}))
    return t


def scan_of(t: Globals, plt: Sequence[str], got: Sequence[str] = ()) -> ScanResult:
    res = ScanResult()
    for name in plt:
        res.want_plt(t.by_name[name].id)
    for name in got:
        res.want_got(t.by_name[name].id)
    return res


def relocs(s: MachoSynthetic, sec: InputSection | None) -> list[tuple[int, str, str, int]]:
    assert sec is not None
    t = s.common.obj.symbols
    out = []
    for off, howto, sym, addend in sec.relocs.rows.tolist():
        if t.type[sym] == SymType.SECTION:
            target = s.common.obj.sections[int(t.section[sym])]
            assert target is not None
            name = f"[{target.name}]"
        else:
            name = t.names[sym]
        out.append((off, SYNTH_HOWTOS[howto].name, name, addend))
    return out


def test_modern_stubs_helper_and_lazy_pointers() -> None:
    t = globals_with([("_puts", UNDEF), ("_exit", UNDEF)])
    scan = scan_of(t, ["_puts", "_exit"])
    s = build_macho_synthetic(X86_64, t, scan, classic=False)
    c = s.common
    assert c.plt is not None and c.got_plt is not None and s.stub_helper is not None
    assert (c.plt.name, c.got_plt.name, s.stub_helper.name) == (
        "__TEXT,__stubs", "__DATA,__la_symbol_ptr", "__TEXT,__stub_helper")
    assert bytes(c.plt.data or b"") == STUB * 2 and c.plt.size == 12
    assert c.got_plt.size == 16
    assert s.stub_helper.size == len(HELPER_HEADER) + 2 * len(HELPER_ENTRY) == 36
    assert bytes(s.stub_helper.data or b"") == HELPER_HEADER + HELPER_ENTRY * 2
    puts, exit_ = t.by_name["_puts"].id, t.by_name["_exit"].id
    assert c.plt_entry_offset == {puts: 0, exit_: 6}
    assert c.jump_slot_offset == {puts: 0, exit_: 8}
    assert s.stub_helper_offset == {puts: 16, exit_: 26}
    # stub n: jmp *la_ptr[n](%rip)
    assert relocs(s, c.plt) == [(2, "<pcrel32>", "[__DATA,__la_symbol_ptr]", -4),
                                (8, "<pcrel32>", "[__DATA,__la_symbol_ptr]", 8 - 4)]
    # lazy pointer n starts at its helper entry
    assert relocs(s, c.got_plt) == [(0, "<word64>", "[__TEXT,__stub_helper]", 16),
                                    (8, "<word64>", "[__TEXT,__stub_helper]", 26)]
    # the binder is wanted in __got (bound at load) after the scan's own slots
    binder = t.by_name[BINDER]
    assert s.binder_gid == binder.id and scan.got == [binder.id] and binder.strong_ref
    assert c.got is not None and c.got.name == "__DATA,__got"
    assert relocs(s, s.stub_helper) == [
        (3, "<pcrel32>", "[__DATA,__data]", -4),  # lea dyld_private(%rip), %r11
        (16 + 6, "<pcrel32>", "[__TEXT,__stub_helper]", -4),  # jmp header
        # push $offset: the import's place in the lazy-bind stream, an absolute symbol
        # whose value set_lazy_bind_offsets gives after layout
        (16 + 1, "<word32>", "<lazy bind offset 0>", 0),
        (26 + 6, "<pcrel32>", "[__TEXT,__stub_helper]", -4),
        (26 + 1, "<word32>", "<lazy bind offset 1>", 0),
        (11, "<pcrel32>", "[__DATA,__got]", 0 - 4),  # jmp *binder@GOT(%rip)
    ]
    offsets = s.lazy_bind_offset_symbol
    set_lazy_bind_offsets(s, scan, [0x0, 0x13])
    assert [int(s.common.obj.symbols.value[offsets[g]]) for g in (puts, exit_)] == [0, 0x13]
    assert s.dyld_private is not None and s.dyld_private.size == 8
    assert relocs(s, c.got) == []  # imports' GOT slots are bound by dyld


def test_modern_without_binder_refused() -> None:
    t = globals_with([("_puts", UNDEF)], binder=False)
    with pytest.raises(LinkError, match="lazy binding needs dyld_stub_binder.*-lSystem"):
        build_macho_synthetic(X86_64, t, scan_of(t, ["_puts"]), classic=False)


def test_modern_got_only_needs_no_binder() -> None:
    t = globals_with([("___stdoutp", UNDEF)], binder=False)
    s = build_macho_synthetic(X86_64, t, scan_of(t, [], ["___stdoutp", "_main"]), classic=False)
    assert s.common.plt is None and s.stub_helper is None and s.binder_gid is None
    assert s.common.got is not None and s.common.got.size == 16
    assert relocs(s, s.common.got) == [(8, "<word64>", "_main", 0)]  # rebased, not bound


def test_classic_stubs_share_nl_symbol_ptr_with_the_got() -> None:
    t = globals_with([("_puts", UNDEF), ("_exit", UNDEF), ("___stdoutp", UNDEF)],
                     binder=False)
    s = build_macho_synthetic(X86_64, t, scan_of(t, ["_puts", "_exit"], ["___stdoutp"]),
                              classic=True)
    c = s.common
    assert c.plt is not None and c.plt.name == "__TEXT,__symbol_stub1"
    assert c.got is c.got_plt and c.got is not None
    assert c.got.name == "__DATA,__nl_symbol_ptr" and c.got.size == 3 * 8
    assert s.stub_helper is None and s.dyld_private is None
    # stubs use slots 0..1, GOT loads the slots after them
    assert c.got_slot_offset == {t.by_name["___stdoutp"].id: 16}
    assert relocs(s, c.plt) == [(2, "<pcrel32>", "[__DATA,__nl_symbol_ptr]", -4),
                                (8, "<pcrel32>", "[__DATA,__nl_symbol_ptr]", 4)]
    assert relocs(s, c.got) == []  # every pointer bound at load through the indirect table


def test_commons_go_to_data_common() -> None:
    t = globals_with([("_c", COMMON)], binder=False)
    s = build_macho_synthetic(X86_64, t, ScanResult(), classic=False)
    names = [sec.name for sec in s.common.obj.sections if sec is not None]
    assert names == ["__DATA,__common"]
    assert t.by_name["_c"].section is s.common.obj.sections[1]
