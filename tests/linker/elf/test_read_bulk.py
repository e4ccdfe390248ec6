"""The bulk reader (read_bulk.read_objects) against the one-at-a-time reader: the same
records for every object it takes, and None (so the loader reads one by one and reports
the first error as before) for what it does not."""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from linker.elf.load import Loader
from linker.elf.read import read_object
from linker.elf.read_bulk import read_objects
from linker.errors import LinkError
from linker.model import ObjectFile
from linker.resolve import SymbolTable as Globals

PLAIN = """
static int counter;
int shared_value = 3;
extern int elsewhere(int);
__attribute__((weak)) int maybe(void) { return 1; }
int entry(int x) { counter += x; return elsewhere(counter) + shared_value + maybe(); }
"""
TLS_AND_COMMON = """
__thread int per_thread = 5;
int common_one;
static const char *names[] = {"a", "b", "c"};
const char *pick(int i) { per_thread++; return names[i % 3]; }
"""


def _same(one: ObjectFile, bulk: ObjectFile) -> None:
    assert (bulk.path, bulk.arch, bulk.exec_stack, bulk.groups) == \
        (one.path, one.arch, one.exec_stack, one.groups)
    a, b = one.symbols, bulk.symbols
    assert b.names == a.names
    for column in ("value", "size", "section", "binding", "type", "visibility"):
        x, y = getattr(a, column), getattr(b, column)
        assert y.dtype == x.dtype and np.array_equal(y, x), column
    assert len(bulk.sections) == len(one.sections)
    for p, q in zip(one.sections, bulk.sections):
        assert (p is None) == (q is None)
        if p is None or q is None:
            continue
        for field in ("index", "name", "flags", "role", "align", "size", "comdat", "entsize"):
            assert getattr(q, field) == getattr(p, field), (p.name, field)
        assert (None if q.data is None else bytes(q.data)) == \
            (None if p.data is None else bytes(p.data))
        assert q.relocs.rows.dtype == p.relocs.rows.dtype
        assert np.array_equal(q.relocs.rows, p.relocs.rows), p.name


def _items(paths: list[Path]) -> list[tuple[memoryview, str]]:
    return [(memoryview(p.read_bytes()), str(p)) for p in paths]


@pytest.fixture(scope="module")
def objects(compile_c: Callable[..., Path]) -> list[Path]:
    """Objects of several shapes: plain, -g (debug sections and their relocations),
    -fPIC -O2, thread-locals with a COMMON, one section per function and datum."""
    return [compile_c(PLAIN, "plain"), compile_c(PLAIN, "plain_g", "-g"),
            compile_c(PLAIN, "plain_pic", "-fPIC", "-O2"),
            compile_c(TLS_AND_COMMON, "tls", "-fcommon"),
            compile_c(TLS_AND_COMMON, "tls_sections", "-fcommon", "-ffunction-sections",
                      "-fdata-sections", "-g")]


def test_bulk_records_equal_one_at_a_time(objects: list[Path]) -> None:
    bulk = read_objects(_items(objects))
    assert bulk is not None
    for path, obj in zip(objects, bulk):
        _same(read_object(memoryview(path.read_bytes()), str(path)), obj)


def test_bulk_reads_comdat_groups(assemble: Callable[..., Path]) -> None:
    group = """
        .section .text.f,"axG",@progbits,f,comdat
        .globl f
    f:  call g@PLT
        ret
        .text
        .globl main
    main: call f
        ret
    """
    paths = [assemble(group, "comdat_a"), assemble(group.replace("main", "other"), "comdat_b")]
    bulk = read_objects(_items(paths))
    assert bulk is not None and bulk[0].groups and bulk[0].groups[0].signature == "f"
    for path, obj in zip(paths, bulk):
        _same(read_object(memoryview(path.read_bytes()), str(path)), obj)


def test_i386_objects_are_left_to_the_one_at_a_time_reader(
        compile_c: Callable[..., Path]) -> None:
    paths = [compile_c(PLAIN, "m32_a", "-m32"), compile_c(PLAIN, "m32_b", "-m32")]
    assert read_objects(_items(paths)) is None


def _corrupt_symbol_section(path: Path, out: Path) -> Path:
    """A copy of `path` whose last symbol names section 0x7fff, past the section headers."""
    data = bytearray(path.read_bytes())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, = struct.unpack_from("<H", data, 0x3C)
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", data, shoff + i * 64 + 4)
        if sh_type == 2:  # SHT_SYMTAB
            offset, size = struct.unpack_from("<QQ", data, shoff + i * 64 + 0x18)
            struct.pack_into("<H", data, offset + size - 24 + 6, 0x7FFF)
    out.write_bytes(bytes(data))
    return out


def test_a_bad_object_makes_the_batch_fall_back_and_its_error_stands(
        objects: list[Path], tmp_path: Path) -> None:
    bad = _corrupt_symbol_section(objects[0], tmp_path / "bad.o")
    items = _items([objects[3], bad])
    assert read_objects(items) is None
    with pytest.raises(LinkError) as one:
        read_object(items[1][0], items[1][1])
    assert "bad.o" in str(one.value) and "section index" in str(one.value)


def test_a_large_object_in_a_run_is_mapped_and_read_with_the_batch(
        compile_c: Callable[..., Path], objects: list[Path]) -> None:
    """An object of 64 KiB or more in a run of objects is mapped, not read, and still
    goes through the batch (its sections then slice the map)."""
    big = compile_c("char big[100000] = {1};\nint use(void) { return big[5]; }\n", "big")
    assert big.stat().st_size >= 64 * 1024
    symtab = Globals()
    loader = Loader(symtab, "x86_64", [])
    run = loader._object_run([str(objects[0]), str(big)], 0)
    assert len(run) == 2 and isinstance(run[1][1], mmap.mmap)
    loader.objects(run)
    assert [o.path for o in symtab.objects] == [str(objects[0]), str(big)]
    assert symtab.by_name["big"].file is symtab.objects[1]
    data = next(s for s in symtab.objects[1].sections if s is not None and s.name == ".data")
    assert data.data is not None and bytes(data.data)[:1] == b"\x01"


def test_sections_of_one_shape_are_planned_once_and_made_per_object(
        objects: list[Path]) -> None:
    """Two copies of each shape in one batch: the second of each reuses the first's plan of
    which sections load, and still gets sections of its own (its own bytes, its own file)."""
    doubled = [p for p in objects for _ in range(2)]
    bulk = read_objects(_items(doubled))
    assert bulk is not None
    for path, obj in zip(doubled, bulk):
        _same(read_object(memoryview(path.read_bytes()), str(path)), obj)
        assert all(sec is None or sec.file is obj for sec in obj.sections)
    assert all(a is not b for a, b in zip(bulk[0].sections, bulk[1].sections) if a)


def test_a_legacy_compressed_debug_section_makes_the_batch_fall_back(
        assemble: Callable[..., Path], objects: list[Path]) -> None:
    """A `.zdebug_*` section starting "ZLIB" (`-gz=zlib-gnu`; here one without relocations,
    which would pass every other check of the batch): read_object refuses it by its bytes,
    which the batch's plans do not look at, so the batch must not take it."""
    legacy = assemble("""
        .section .zdebug_str,"",@progbits
        .ascii "ZLIB"
        .quad 0
        .text
        .globl h
    h:  ret
    """, "zdebug")
    items = _items([objects[0], legacy])
    assert read_objects(items) is None
    with pytest.raises(LinkError, match="legacy compressed debug section"):
        read_object(items[1][0], items[1][1])
