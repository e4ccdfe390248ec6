"""linker/demangle.py: names for diagnostics, demangled by c++filt as GNU ld shows them."""

from __future__ import annotations

from linker.demangle import demangled


def test_names_demangle_as_gnu_ld_prints_them() -> None:
    assert demangled(["_Z3foov", "main", "_ZN2ns3barEi"]) == {
        "_Z3foov": "foo()", "_ZN2ns3barEi": "ns::bar(int)"}


def test_a_name_that_is_not_utf8_passes_through_as_its_bytes() -> None:
    """An object's names are bytes; one that is not UTF-8 is held with surrogate escapes
    (a campaign's mutated C++ object: UnicodeEncodeError out of linker.link)."""
    odd = "_ZTVN10__cxxabiv\udcb117__class_type_infoE"
    out = demangled(["_Z3foov", odd])
    assert out["_Z3foov"] == "foo()"
    assert out[odd].encode("utf-8", "surrogateescape").startswith(b"_ZTVN10__cxxabiv\xb1")
