"""What the small-link work (issue 15, issue 12's linking stage) made cheaper must keep
giving the answers the eager code gave: a library's exports made on demand, SectionFlags'
operators, lookup tables kept per howto table, inputs read once with their status."""

from __future__ import annotations

import enum
import mmap
import os
import re
import subprocess
from pathlib import Path

import pytest

from linker import link
from linker.elf.load import Loader
from linker.elf.shared import read_shared
from linker.input_file import read_input_status
from linker.kinds import Howto, Overflow, RelocKind, per_howto_table
from linker.model import LazySymbols, SectionFlags, SymType
from linker.resolve import SymbolTable

LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")
_DYNSYM_LINE = re.compile(r"^([0-9a-f]{16}) (.)(.{6}) (\S+)\t([0-9a-f]{16}) +(.*)$")


def _objdump_exports(path: Path) -> tuple[dict[str, tuple[int, int, str]], set[str]]:
    """llvm-objdump's reading of a library's defined dynamic symbols: the default exports
    (name -> value, size, version; the last row of a name wins, as a dict of all would
    keep it) and every "name@version" (hidden versions too)."""
    text = subprocess.run(["llvm-objdump-14", "-T", str(path)], check=True,
                          capture_output=True, text=True).stdout
    default: dict[str, tuple[int, int, str]] = {}
    versioned: set[str] = set()
    for line in text.splitlines():
        m = _DYNSYM_LINE.match(line)
        if m is None or m.group(4) == "*UND*":
            continue
        flags = m.group(2) + m.group(3)  # l/g/u/!, then w for weak, ...
        if flags[0] not in "gu" and flags[1] != "w":
            continue
        tokens = m.group(6).split()
        name, version = tokens[-1], tokens[-2]
        if ".hidden" in tokens or ".internal" in tokens:
            continue  # not exported (STV_HIDDEN, STV_INTERNAL)
        hidden = version.startswith("(")
        version = version.strip("()")
        versioned.add(f"{name}@{version}")
        if not hidden:
            default[name] = (int(m.group(1), 16), int(m.group(5), 16), version)
    return default, versioned


def test_lazy_exports_agree_with_objdump_on_every_libc_name() -> None:
    lib = read_shared(memoryview(LIBC.read_bytes()), str(LIBC))
    assert isinstance(lib.symbols, LazySymbols)
    default, versioned = _objdump_exports(LIBC)
    assert len(default) > 2000 and set(lib.symbols) == set(default)
    for name, (value, size, version) in default.items():
        dsym = lib.symbols[name]
        assert (dsym.name, dsym.value, dsym.size, dsym.version) == (name, value, size, version)
        assert lib.symbols.type_of(name) is dsym.type
    assert set(lib.versioned) == versioned
    # one record per row: the default version and its "name@version" are the same object
    assert lib.versioned["memcpy@GLIBC_2.14"] is lib.symbols["memcpy"]
    assert lib.versioned["memcpy@GLIBC_2.2.5"] is not lib.symbols["memcpy"]
    assert lib.symbols.get("no_such_name") is None and "no_such_name" not in lib.symbols


def test_exports_at_an_address_are_the_aliases_in_order() -> None:
    lib = read_shared(memoryview(LIBC.read_bytes()), str(LIBC))
    exports = lib.symbols
    assert isinstance(exports, LazySymbols)
    value = exports["environ"].value
    expected = [name for name in exports if exports[name].value == value]
    assert exports.with_value(value) == expected
    assert {"environ", "__environ", "_environ"} <= set(expected)


def test_section_flags_operators_give_intflags_answers() -> None:
    class Reference(enum.IntFlag):  # the standard operators, same members
        NONE = 0
        ALLOC = 1
        WRITE = 2
        EXEC = 4
        TLS = 8
        MERGE = 16
        STRINGS = 32

    for a in range(64):
        for b in (0, 1, 2, 4, 8, 16, 32, 5, 63):
            ours, theirs = SectionFlags(a), Reference(a)
            assert int(ours | SectionFlags(b)) == int(theirs | Reference(b))
            assert int(ours & SectionFlags(b)) == int(theirs & Reference(b))
            assert type(ours | b) is SectionFlags and type(ours & b) is SectionFlags
            assert (SectionFlags(b) in ours) == (Reference(b) in theirs)
    with pytest.raises(TypeError):
        _ = 1 in SectionFlags.ALLOC
    assert (SectionFlags.ALLOC | SectionFlags.EXEC) is SectionFlags(5)


def test_per_howto_table_remembers_tuples_only() -> None:
    calls: list[int] = []

    @per_howto_table
    def count(howtos: object) -> int:
        calls.append(1)
        return len(calls)

    table = (Howto("<a>", RelocKind.ABS, 8, Overflow.NONE),)
    assert count(table) == count(table) == 1
    assert count(tuple(table)) == 1  # the same tuple object
    listed = list(table)
    assert count(listed) == 2 and count(listed) == 3  # a list could change: never kept
    assert count((Howto("<a>", RelocKind.ABS, 8, Overflow.NONE),)) == 4  # another table


def test_read_input_status_refuses_streams_when_asked(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 1000)
    read = read_input_status(str(plain), only_regular=True)
    assert read is not None and read[0] == b"x" * 1000
    assert (read[1].st_dev, read[1].st_ino) == (plain.stat().st_dev, plain.stat().st_ino)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_input_status(str(fifo), only_regular=True) is None
    data = read_input_status(str(fifo))
    assert data is not None and data[0] == b""  # no writer: empty, as read_input gives


def _library(tmp_path: Path) -> Path:
    src = tmp_path / "l.c"
    src.write_text("int lib_value = 7; int lib_fn(void) { return lib_value; }\n")
    so = tmp_path / "libl.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", so, src], check=True)
    return so


def test_a_library_named_twice_through_a_symlink_is_loaded_once(tmp_path: Path) -> None:
    so = _library(tmp_path)
    alias = tmp_path / "alias.so"
    alias.symlink_to(so)
    copy = tmp_path / "copy.so"
    copy.write_bytes(so.read_bytes())  # another file with the same bytes: a second library
    symtab = SymbolTable()
    Loader(symtab, "x86_64", []).load([str(so), str(alias), str(so), str(copy)])
    assert [lib.path for lib in symtab.libraries] == [str(so), str(copy)]


def test_a_single_object_and_a_library_are_each_read_once(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    so = _library(tmp_path)
    src = tmp_path / "main.c"
    src.write_text("extern int lib_fn(void); void _start(void) { lib_fn(); for (;;); }\n")
    obj = tmp_path / "main.o"
    subprocess.run(["gcc", "-c", "-fno-pie", "-o", obj, src], check=True)
    from linker.elf import load as load_module
    opened: list[str] = []
    original = load_module.read_input_status

    def counted(path: str, map_at_least: int | None = None, only_regular: bool = False
                ) -> tuple[bytes | mmap.mmap, os.stat_result] | None:
        opened.append(os.path.basename(path))
        return original(path, map_at_least, only_regular)
    monkeypatch.setattr(load_module, "read_input_status", counted)
    result = link([str(obj), str(so)], tmp_path / "a.out", entry="_start")
    assert result.needed == ("libl.so",) or result.needed == (str(so),)
    assert sorted(opened) == ["libl.so", "main.o"]


def test_lazy_exports_keep_their_types_for_names_never_asked() -> None:
    lib = read_shared(memoryview(LIBC.read_bytes()), str(LIBC))
    exports = lib.symbols
    assert isinstance(exports, LazySymbols)
    assert exports.type_of("printf") is SymType.FUNC
    assert exports.type_of("stdout") is SymType.OBJECT
    with pytest.raises(KeyError):
        exports.type_of("no_such_name")


def test_add_library_binds_a_lazy_table_as_it_binds_a_dict() -> None:
    """The names bound, their ids and what they are bound to: a LazySymbols (data objects
    first, then the functions seen) and the same exports as a plain dict (one walk)."""
    from dataclasses import replace
    lib = read_shared(memoryview(LIBC.read_bytes()), str(LIBC))
    eager = replace(lib, symbols=dict(lib.symbols.items()))
    seen = ["printf", "main", "stdout", "environ", "no_such_name", "malloc", "errno"]
    tables = []
    for library in (lib, eager):
        symtab = SymbolTable()
        for name in seen:
            symtab.intern(name)
        symtab.add_library(library, every_name=False)
        symtab.intern("puts")  # a name first seen after the library binds in intern
        tables.append([(s.id, s.name, s.dso is not None, s.type, s.size)
                       for s in symtab.symbols])
    assert tables[0] == tables[1]
    assert len(tables[0]) > len(seen) + 100  # libc's data objects were made symbols
