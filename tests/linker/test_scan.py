"""linker/scan.py: the decision table of its docstring, row by row, on hand-made objects."""

from __future__ import annotations

import numpy as np
import pytest

from linker.elf.relocs_x86_64 import SUPPORTED
from linker.errors import LinkError
from linker.kinds import Howto, Overflow, RelocKind
from linker.model import (
    RELOC_DTYPE,
    UNDEF,
    Binding,
    DynamicLibrary,
    DynamicSymbol,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
)
from linker.resolve import SymbolTable as Globals
from linker.scan import TLS_GOT, scan_relocations

R = {h.name.removeprefix("R_X86_64_"): n for n, h in SUPPORTED.items()}
HOWTOS = [SUPPORTED.get(n, Howto("R_X86_64_UNKNOWN", RelocKind.NONE, 0, Overflow.NONE))
          for n in range(43)]
TEXT, DATA, RODATA = 1, 2, 3
# symbol indices in the hand-made object
LOCAL, DEFINED, FUNC, DATA_SYM, IFUNC, TLSVAR = 1, 2, 3, 4, 5, 6


def build(relocs: dict[int, list[tuple[int, str, int, int]]],
          ifunc_defined: bool = False) -> tuple[Globals, ObjectFile]:
    """An object with .text, .data (writable) and .rodata; `relocs` maps a section number to
    rows (offset, type name without R_X86_64_, symbol index, addend).  Symbols: a local, a
    defined global `mine`, undefined `puts` (a function import) and `environ` (a data
    import), `pick` (an IFUNC defined here when asked), `tv` (a TLS definition)."""
    obj = ObjectFile("a.o", "x86_64", [None], None, HOWTOS)  # type: ignore[arg-type]
    for n, (name, flags) in enumerate([
            (".text", SectionFlags.ALLOC | SectionFlags.EXEC),
            (".data", SectionFlags.ALLOC | SectionFlags.WRITE),
            (".rodata", SectionFlags.ALLOC)], start=1):
        rows = np.array([(o, R[t], s, a) for o, t, s, a in relocs.get(n, [])],
                        dtype=RELOC_DTYPE)
        obj.sections.append(InputSection(obj, n, name, flags, SectionRole.NORMAL, 8, 64,
                                         bytes(64), RelocTable(rows)))
    names = ["", "loc", "mine", "puts", "environ", "pick", "tv"]
    section = [UNDEF, TEXT, TEXT, UNDEF, UNDEF, TEXT if ifunc_defined else UNDEF, DATA]
    binding = [Binding.LOCAL, Binding.LOCAL] + [Binding.GLOBAL] * 5
    types = [SymType.NOTYPE, SymType.FUNC, SymType.FUNC, SymType.NOTYPE, SymType.NOTYPE,
             SymType.IFUNC if ifunc_defined else SymType.NOTYPE, SymType.TLS]
    obj.symbols = SymbolTable(
        names=names, value=np.zeros(7, dtype=np.uint64), size=np.zeros(7, dtype=np.uint64),
        section=np.array(section, dtype=np.int32), binding=np.array(binding, dtype=np.uint8),
        type=np.array(types, dtype=np.uint8), visibility=np.zeros(7, dtype=np.uint8))
    table = Globals()
    table.add_object(obj)
    table.add_library(DynamicLibrary("libc.so.6", "libc.so.6", {
        "puts": DynamicSymbol("puts", SymType.FUNC, 0),
        "environ": DynamicSymbol("environ", SymType.OBJECT, 8),
        "errno_tls": DynamicSymbol("errno_tls", SymType.TLS, 4),
    }))
    return table, obj


def gid(table: Globals, name: str) -> int:
    return table.by_name[name].id


def test_plt_pc_on_an_import_wants_a_plt_entry_not_canonical() -> None:
    for target in (FUNC, DATA_SYM):
        table, _ = build({TEXT: [(1, "PLT32", target, -4), (9, "PLT32", target, -4)]})
        res = scan_relocations(table, 8)
        g = table.symbols[int(table.gids[0][target])].id
        assert res.plt == [g] and res.plt_index == {g: 0}
        assert res.canonical == set() and res.copies == [] and res.got == []


@pytest.mark.parametrize("rtype", ["GOTPCREL", "GOTPCRELX", "REX_GOTPCRELX", "GOT32"])
def test_got_kinds_want_one_slot_per_symbol(rtype: str) -> None:
    table, _ = build({TEXT: [(0, rtype, FUNC, -4), (8, rtype, DATA_SYM, -4),
                             (16, rtype, FUNC, -4)]})
    res = scan_relocations(table, 8)
    assert res.got == [gid(table, "puts"), gid(table, "environ")]
    assert res.got_index == {gid(table, "puts"): 0, gid(table, "environ"): 1}
    assert res.plt == [] and res.copies == [] and res.dynamic_words == []


def test_got_for_a_local_is_keyed_by_object_and_index() -> None:
    table, _ = build({TEXT: [(0, "GOTPCREL", LOCAL, -4), (8, "GOTPCREL", DEFINED, -4)]})
    res = scan_relocations(table, 8)
    assert res.got == [(0, LOCAL), gid(table, "mine")]


def test_word_abs_in_writable_data_is_a_dynamic_word() -> None:
    table, obj = build({DATA: [(8, "64", FUNC, 0), (16, "64", DATA_SYM, 24)]})
    res = scan_relocations(table, 8)
    sites = [(s.section, s.offset, s.gid, s.addend) for s in res.dynamic_words]
    assert sites == [(obj.sections[DATA], 8, gid(table, "puts"), 0),
                     (obj.sections[DATA], 16, gid(table, "environ"), 24)]
    assert res.plt == [] and res.copies == [] and res.canonical == set()


def test_narrow_abs_in_writable_data_is_not_a_dynamic_word() -> None:
    table, _ = build({DATA: [(0, "32", FUNC, 0), (4, "32", DATA_SYM, 0)]})
    res = scan_relocations(table, 8)
    assert res.dynamic_words == []
    assert res.canonical == {gid(table, "puts")} and res.copies == [gid(table, "environ")]


def test_word_size_follows_the_target() -> None:
    # On a 4-byte-word target R_X86_64_32 in .data would be the word; R_X86_64_64 is not.
    table, _ = build({DATA: [(0, "32", DATA_SYM, 0), (8, "64", DATA_SYM, 0)]})
    res = scan_relocations(table, 4)
    assert [s.offset for s in res.dynamic_words] == [0]
    assert res.copies == [gid(table, "environ")]


@pytest.mark.parametrize(("section", "rtype"), [
    (TEXT, "PC32"), (TEXT, "32S"), (RODATA, "64"), (TEXT, "64"), (RODATA, "PC32")])
def test_other_abs_or_pc_on_a_function_import_is_a_canonical_plt(
        section: int, rtype: str) -> None:
    table, _ = build({section: [(0, rtype, FUNC, 0)]})
    res = scan_relocations(table, 8)
    g = gid(table, "puts")
    assert res.plt == [g] and res.canonical == {g} and res.copies == []
    assert res.dynamic_words == []


@pytest.mark.parametrize(("section", "rtype"), [
    (TEXT, "PC32"), (TEXT, "32S"), (RODATA, "64"), (TEXT, "32")])
def test_other_abs_or_pc_on_a_data_import_is_a_copy(section: int, rtype: str) -> None:
    table, _ = build({section: [(0, rtype, DATA_SYM, 0), (8, rtype, DATA_SYM, 0)]})
    res = scan_relocations(table, 8)
    assert res.copies == [gid(table, "environ")]  # once, however many references
    assert res.plt == [] and res.canonical == set()


def test_size_relocations_need_nothing() -> None:
    table, _ = build({TEXT: [(0, "SIZE32", DATA_SYM, 0), (8, "SIZE64", FUNC, 0)]})
    res = scan_relocations(table, 8)
    assert (res.got, res.plt, res.copies, res.dynamic_words) == ([], [], [], [])


def test_defined_symbols_need_only_got_slots() -> None:
    table, _ = build({TEXT: [(0, "PLT32", DEFINED, -4), (8, "PC32", DEFINED, -4),
                             (16, "GOTPCRELX", DEFINED, -4)],
                      DATA: [(0, "64", DEFINED, 0)]})
    res = scan_relocations(table, 8)
    assert res.got == [gid(table, "mine")]
    assert (res.plt, res.copies, res.dynamic_words, res.canonical) == ([], [], [], set())


def test_got_base_use_is_noticed() -> None:
    assert not scan_relocations(build({TEXT: [(0, "PC32", DEFINED, -4)]})[0], 8).uses_got_base
    for rtype in ("GOTPC32", "GOTOFF64"):
        table, _ = build({TEXT: [(0, rtype, DEFINED, 0)]})
        assert scan_relocations(table, 8).uses_got_base


def test_tls_got_keys_are_tagged() -> None:
    table, _ = build({TEXT: [(0, "GOTTPOFF", TLSVAR, -4), (8, "GOTPCREL", TLSVAR, -4),
                             (16, "GOTTPOFF", TLSVAR, -4)]})
    res = scan_relocations(table, 8)
    g = gid(table, "tv")
    # a TLS slot (holding S - TP) is distinct from an ordinary slot for the same symbol
    assert res.got == [(TLS_GOT, g), g]


def test_initial_exec_access_to_an_imported_tls_variable_gets_a_bound_slot() -> None:
    """The slot of an imported TLS variable is ld.so's (R_X86_64_TPOFF64 against it)."""
    _, obj = build({TEXT: [(0x10, "GOTTPOFF", DATA_SYM, -4)]})
    obj.symbols.names[DATA_SYM] = "errno_tls"  # the reference now names the TLS export
    table = Globals()
    table.add_object(obj)
    table.add_library(DynamicLibrary("libc.so.6", "libc.so.6", {
        "errno_tls": DynamicSymbol("errno_tls", SymType.TLS, 4)}))
    res = scan_relocations(table, 8)
    g = gid(table, "errno_tls")
    assert res.got == [(TLS_GOT, g)] and res.is_preemptible(g) and not res.static_tls


def test_defined_ifunc_gets_an_iplt_entry_per_symbol() -> None:
    table, _ = build({TEXT: [(0, "PLT32", IFUNC, -4), (8, "PC32", IFUNC, -4)],
                      DATA: [(0, "64", IFUNC, 0)]}, ifunc_defined=True)
    res = scan_relocations(table, 8)
    g = gid(table, "pick")
    assert res.iplt == [g] and res.iplt_index == {g: 0}
    assert res.plt == [] and res.dynamic_words == []


def test_import_with_an_unsupported_kind_is_refused() -> None:
    table, _ = build({TEXT: [(0, "GOTOFF64", FUNC, 0)]})
    with pytest.raises(LinkError) as e:
        scan_relocations(table, 8)
    assert str(e.value) == ("a.o: section .text+0x0: symbol puts: R_X86_64_GOTOFF64 cannot "
                            "refer to a symbol imported from libc.so.6")
