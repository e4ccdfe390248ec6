"""linker/elf/sections.py: output section names, their order, and their segment."""

from __future__ import annotations

import pytest

from linker.elf import sections as s
from linker.model import InputSection, ObjectFile, SectionFlags, SectionRole

F = SectionFlags
OBJ = ObjectFile("a.o", "x86_64", [], None, ())  # type: ignore[arg-type]
LINKER = ObjectFile("<linker>", "x86_64", [], None, ())  # type: ignore[arg-type]


def sec(name: str, role: SectionRole = SectionRole.NORMAL, file: ObjectFile = OBJ
        ) -> InputSection:
    return InputSection(file, 1, name, F.ALLOC, role, 1, 0, b"")


@pytest.mark.parametrize(("name", "output"), [
    (".text", ".text"), (".text.main", ".text"), (".text.unlikely.f", ".text"),
    (".rodata.str1.1", ".rodata"), (".rodata", ".rodata"),
    (".data.rel.ro.local", ".data.rel.ro"), (".data.rel.ro", ".data.rel.ro"),
    (".data.rel.local", ".data"), (".data.x", ".data"),
    (".bss.counter", ".bss"), (".tbss.t", ".tbss"), (".tdata.t", ".tdata"),
    (".init_array.00100", ".init_array"), (".fini_array.5", ".fini_array"),
    (".preinit_array.1", ".preinit_array"), (".ctors.65535", ".ctors"),
    (".dtors.1", ".dtors"), (".gcc_except_table.main", ".gcc_except_table"),
    (".sdata.x", ".data"), (".lrodata.x", ".rodata"), (".ldata.x", ".data"),
    (".lbss.x", ".bss"), (".dynbss.x", ".bss"),
    # not a prefix match: the dot after the prefix is required
    (".textual", ".textual"), (".database", ".database"),
    ("my_section", "my_section"), (".eh_frame", ".eh_frame"), (".init", ".init"),
])
def test_output_name(name: str, output: str) -> None:
    assert s.output_name(sec(name)) == output


def test_zerofill_named_bss_something_is_bss() -> None:
    assert s.output_name(sec(".bssextra", SectionRole.ZEROFILL)) == ".bss"
    assert s.output_name(sec(".bssextra")) == ".bssextra"


def test_linker_dynbss_goes_to_bss() -> None:
    assert s.output_name(sec(".dynbss", file=LINKER)) == ".bss"


def test_init_priority_numbered_before_plain() -> None:
    names = [".init_array", ".init_array.00200", ".init_array.00100", ".init_array.65535"]
    ordered = sorted((sec(n) for n in names), key=s.init_priority)
    assert [x.name for x in ordered] == [".init_array.00100", ".init_array.00200",
                                         ".init_array.65535", ".init_array"]
    assert s.init_priority(sec(".init_array.00100")) == 100


@pytest.mark.parametrize(("flags", "segment"), [
    (F.ALLOC, 0), (F.ALLOC | F.EXEC, 1), (F.ALLOC | F.WRITE, 2),
    (F.ALLOC | F.WRITE | F.EXEC, 2), (F.ALLOC | F.WRITE | F.TLS, 2), (F.ALLOC | F.MERGE, 0),
])
def test_segment_of(flags: SectionFlags, segment: int) -> None:
    assert s.segment_of(flags) == segment


def _sorted(names: list[str], seg: int) -> list[str]:
    return sorted(names, key=lambda n: s.order_key(n, seg, names.index(n)))


def test_read_only_order() -> None:
    names = [".eh_frame", ".rodata", "custom_b", ".dynsym", ".interp", "custom_a",
             ".rela.plt", ".gnu.hash", ".hash", ".eh_frame_hdr", ".rela.dyn", ".dynstr"]
    assert _sorted(names, 0) == [".interp", ".hash", ".gnu.hash", ".dynsym", ".dynstr",
                                 ".rela.dyn", ".rela.plt", ".rodata", ".eh_frame_hdr",
                                 ".eh_frame", "custom_b", "custom_a"]


def test_exec_order() -> None:
    names = [".text", "my_text", ".fini", ".plt", ".init", ".iplt"]
    assert _sorted(names, 1) == [".init", ".plt", ".iplt", ".text", ".fini", "my_text"]


def test_write_order_tls_first_bss_last_before_unknowns() -> None:
    names = [".bss", ".data", ".got.plt", ".got", ".dynamic", ".init_array", ".tbss",
             ".tdata", ".fini_array", ".data.rel.ro", "zz", ".got.iplt"]
    assert _sorted(names, 2) == [".tdata", ".tbss", ".init_array", ".fini_array",
                                 ".data.rel.ro", ".dynamic", ".got", ".got.plt", ".got.iplt",
                                 ".data", ".bss", "zz"]


def test_relro_sections_precede_the_plt_got_and_data() -> None:
    # .dynamic and .got (RELRO in GNU ld's script) come before .got.plt and .data
    w = s.WRITE_ORDER
    assert w.index(".dynamic") < w.index(".got") < w.index(".got.plt") < w.index(".data")
    assert w[-1] == ".bss"


@pytest.mark.parametrize(("name", "ok"), [
    ("my_section", True), ("set_1", True), (".text", False), ("a-b", False),
    ("1abc", False), ("caf\u00e9", False), ("", False)])
def test_is_identifier(name: str, ok: bool) -> None:
    assert s.is_identifier(name) is ok
