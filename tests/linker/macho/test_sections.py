"""linker/macho/sections.py: output names, the order within __TEXT and __DATA, section types."""

from __future__ import annotations

import pytest

from linker.layout import OutputSection
from linker.macho import sections as s
from linker.model import InputSection, ObjectFile, SectionFlags, SectionRole

F = SectionFlags
OBJ = ObjectFile("m.o", "x86_64", [], None, ())  # type: ignore[arg-type]


def sec(name: str, flags: SectionFlags) -> InputSection:
    return InputSection(OBJ, 1, name, flags, SectionRole.NORMAL, 1, 0, b"")


@pytest.mark.parametrize(("name", "flags", "output"), [
    ("__TEXT,__text", F.ALLOC | F.EXEC, "__TEXT,__text"),
    ("__TEXT,__cstring", F.ALLOC, "__TEXT,__cstring"),
    ("__DATA,__data", F.ALLOC | F.WRITE, "__DATA,__data"),
    # the segment follows the permissions, not the input's segment name
    ("__DATA,__const", F.ALLOC, "__TEXT,__const"),
    ("__TEXT,__const", F.ALLOC | F.WRITE, "__DATA,__const"),
    ("__mysect", F.ALLOC, "__TEXT,__mysect"),
])
def test_output_name(name: str, flags: SectionFlags, output: str) -> None:
    assert s.output_name(sec(name, flags)) == output


def out(name: str, nobits: bool = False, flags: SectionFlags = F.ALLOC) -> OutputSection:
    return OutputSection(name, flags, nobits=nobits)


def test_order_text_then_data_then_zerofill() -> None:
    outs = [out("__DATA,__bss", True), out("__DATA,__data"), out("__TEXT,__cstring"),
            out("__DATA,__common", True), out("__TEXT,__text"), out("__DATA,__got"),
            out("__TEXT,__stubs"), out("__TEXT,__zzz"), out("__DATA,__la_symbol_ptr"),
            out("__DATA,__const"), out("__DATA,__mod_init_func"), out("__TEXT,__stub_helper")]
    ordered = sorted(outs, key=lambda o: (o.name.startswith("__DATA,"),
                                          s.order_key(o, outs.index(o))))
    assert [o.name for o in ordered] == [
        "__TEXT,__text", "__TEXT,__stubs", "__TEXT,__stub_helper", "__TEXT,__cstring",
        "__TEXT,__zzz", "__DATA,__got", "__DATA,__la_symbol_ptr", "__DATA,__mod_init_func",
        "__DATA,__const", "__DATA,__data", "__DATA,__bss", "__DATA,__common"]


def test_unknown_sections_keep_their_order_of_appearance() -> None:
    a, b = out("__TEXT,__b"), out("__TEXT,__a")
    assert s.order_key(a, 0) < s.order_key(b, 1)


@pytest.mark.parametrize(("name", "nobits", "flags", "role", "type_"), [
    ("__DATA,__bss", True, F.ALLOC | F.WRITE, None, s.S_ZEROFILL),
    ("__TEXT,__cstring", False, F.ALLOC, None, s.S_CSTRING_LITERALS),
    ("__DATA,__got", False, F.ALLOC | F.WRITE, None, s.S_NON_LAZY_SYMBOL_POINTERS),
    ("__DATA,__nl_symbol_ptr", False, F.ALLOC | F.WRITE, None, s.S_NON_LAZY_SYMBOL_POINTERS),
    ("__DATA,__la_symbol_ptr", False, F.ALLOC | F.WRITE, None, s.S_LAZY_SYMBOL_POINTERS),
    ("__TEXT,__stubs", False, F.ALLOC | F.EXEC, None, s.S_SYMBOL_STUBS | s.S_ATTR_CODE),
    ("__TEXT,__symbol_stub1", False, F.ALLOC | F.EXEC, None, s.S_SYMBOL_STUBS | s.S_ATTR_CODE),
    ("__DATA,__mod_init_func", False, F.ALLOC | F.WRITE, SectionRole.INIT_ARRAY,
     s.S_MOD_INIT_FUNC_POINTERS),
    ("__DATA,__mod_term_func", False, F.ALLOC | F.WRITE, SectionRole.FINI_ARRAY,
     s.S_MOD_TERM_FUNC_POINTERS),
    ("__TEXT,__text", False, F.ALLOC | F.EXEC, SectionRole.NORMAL, s.S_ATTR_CODE),
    ("__DATA,__data", False, F.ALLOC | F.WRITE, SectionRole.NORMAL, s.S_REGULAR),
])
def test_section_type(name: str, nobits: bool, flags: SectionFlags, role: SectionRole | None,
                      type_: int) -> None:
    assert s.section_type(out(name, nobits, flags), role) == type_
