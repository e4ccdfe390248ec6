"""Symbol resolution rules, on hand-made objects."""

import numpy as np
import pytest

from linker.errors import LinkError
from linker.model import (
    COMMON,
    UNDEF,
    Binding,
    ComdatGroup,
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


def make_object(path: str, symbols: list[tuple[str, int, int, int]],
                groups: tuple[str, ...] = ()) -> ObjectFile:
    """symbols: (name, binding, section index or UNDEF/COMMON, value); section 1 is .text,
    2.. are COMDAT members for `groups`."""
    obj = ObjectFile(path, "x86_64", [None], None, ())  # type: ignore[arg-type]
    for n, name in enumerate((".text",) + tuple(f".text.{g}" for g in groups)):
        obj.sections.append(InputSection(obj, n + 1, name, SectionFlags.ALLOC | SectionFlags.EXEC,
                                         SectionRole.NORMAL, 1, 16, bytes(16)))
    obj.groups = [ComdatGroup(g, (n + 2,)) for n, g in enumerate(groups)]
    rows = [("", Binding.LOCAL, UNDEF, 0)] + symbols
    obj.symbols = SymbolTable(
        names=[r[0] for r in rows],
        value=np.array([r[3] for r in rows], dtype=np.uint64),
        size=np.array([8 if r[2] == COMMON else 0 for r in rows], dtype=np.uint64),
        section=np.array([r[2] for r in rows], dtype=np.int32),
        binding=np.array([r[1] for r in rows], dtype=np.uint8),
        type=np.array([SymType.FUNC] * len(rows), dtype=np.uint8),
        visibility=np.zeros(len(rows), dtype=np.uint8),
    )
    return obj


G, W = Binding.GLOBAL, Binding.WEAK


def test_strong_beats_weak_in_either_order() -> None:
    for order in ((W, G), (G, W)):
        t = Globals()
        t.add_object(make_object("a.o", [("f", order[0], 1, 0)]))
        t.add_object(make_object("b.o", [("f", order[1], 1, 4)]))
        assert t.by_name["f"].binding == G
        assert t.by_name["f"].file.path == ("b.o" if order[0] == W else "a.o")


def test_first_weak_wins_among_weaks() -> None:
    t = Globals()
    t.add_object(make_object("a.o", [("f", W, 1, 0)]))
    t.add_object(make_object("b.o", [("f", W, 1, 4)]))
    assert t.by_name["f"].file.path == "a.o"


def test_duplicate_strong_definition_names_both_files() -> None:
    t = Globals()
    t.add_object(make_object("a.o", [("f", G, 1, 0)]))
    with pytest.raises(LinkError) as e:
        t.add_object(make_object("b.o", [("f", G, 1, 4)]))
    assert "b.o" in str(e.value) and "a.o" in str(e.value) and "symbol f" in str(e.value)


def test_commons_merge_and_lose_to_a_definition() -> None:
    t = Globals()
    t.add_object(make_object("a.o", [("c", G, COMMON, 4)]))
    t.add_object(make_object("b.o", [("c", G, COMMON, 16)]))
    sym = t.by_name["c"]
    assert sym.common and sym.common_align == 16
    t.add_object(make_object("c.o", [("c", G, 1, 0)]))
    assert not sym.common and sym.file.path == "c.o"


def test_object_definition_beats_shared_library() -> None:
    t = Globals()
    t.add_library(DynamicLibrary("libx.so", "libx.so", {"f": DynamicSymbol("f", SymType.FUNC, 0)}))
    assert t.by_name["f"].imported
    t.add_object(make_object("a.o", [("f", G, 1, 0)]))
    assert not t.by_name["f"].imported and t.by_name["f"].file.path == "a.o"


def test_duplicate_comdat_group_is_discarded_and_becomes_a_reference() -> None:
    t = Globals()
    t.add_object(make_object("a.o", [("inl", W, 2, 0)], groups=("inl",)))
    b = make_object("b.o", [("inl", W, 2, 0)], groups=("inl",))
    t.add_object(b)
    assert b.sections[2] is None
    assert t.by_name["inl"].file.path == "a.o"


def test_undefined_symbol_lists_its_referrers() -> None:
    t = Globals()
    t.add_object(make_object("a.o", [("missing", G, UNDEF, 0)]))
    t.add_object(make_object("b.o", [("missing", G, UNDEF, 0), ("weakref", W, UNDEF, 0)]))
    with pytest.raises(LinkError) as e:
        t.check_undefined()
    assert "missing" in str(e.value) and "a.o, b.o" in str(e.value)
    assert "weakref" not in str(e.value)


def test_an_elf_library_makes_symbols_only_for_names_in_use_and_data() -> None:
    """add_library(every_name=False): a function nobody named yet gets no global symbol
    until an object names it; the first library exporting it still wins; data objects
    (possible COPY aliases) are made at once."""
    t = Globals()
    t.intern("early").referenced = True
    first = DynamicLibrary("liba.so", "liba.so", {
        "early": DynamicSymbol("early", SymType.FUNC, 0),
        "late": DynamicSymbol("late", SymType.FUNC, 0),
        "data": DynamicSymbol("data", SymType.OBJECT, 8)})
    second = DynamicLibrary("libb.so", "libb.so", {"late": DynamicSymbol("late", SymType.FUNC, 0)})
    t.add_library(first, every_name=False)
    t.add_library(second, every_name=False)
    assert t.by_name["early"].dso is first and t.by_name["data"].dso is first
    assert "late" not in t.by_name
    assert t.intern("late").dso is first  # named later: bound to the first exporter
    eager = Globals()
    eager.add_library(second)
    assert eager.by_name["late"].dso is second  # Mach-O's default: every name at once
