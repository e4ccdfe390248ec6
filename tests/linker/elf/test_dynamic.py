"""linker/elf/dynamic.py: .dynsym order, hashing, verneed and relocation records.

Unit tests on hand-made symbols, and one real dynamic link through the gcc shim checked
with pyelftools.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir
from linker.elf.dynamic import DynamicTables, DynReloc, DynSym, StringTable, plan_dynamic
from linker.elf.hashes import gnu_hash, sysv_hash
from linker.model import Binding, DynamicLibrary, DynamicSymbol, SymType
from linker.resolve import GlobalSymbol
from linker.resolve import SymbolTable as Globals
from linker.targets import I386, X86_64

LIBC = DynamicLibrary("/lib/libc.so.6", "libc.so.6", {
    n: DynamicSymbol(n, SymType.FUNC, 0, version="GLIBC_2.2.5")
    for n in ("puts", "printf", "exit", "malloc", "free", "qsort")} | {
    "memcpy": DynamicSymbol("memcpy", SymType.FUNC, 0, version="GLIBC_2.14"),
    "plain": DynamicSymbol("plain", SymType.FUNC, 0)})
LIBM = DynamicLibrary("/lib/libm.so.6", "libm.so.6", {
    "sin": DynamicSymbol("sin", SymType.FUNC, 0, version="GLIBC_2.2.5")})


def table() -> Globals:
    t = Globals()
    t.add_library(LIBC)
    t.add_library(LIBM)
    for s in t.symbols:
        s.referenced = s.strong_ref = True
    return t


def exported(t: Globals, name: str) -> GlobalSymbol:
    s = t.intern(name)
    s.linker_defined = True  # stands for a definition in the executable
    s.binding, s.type = Binding.GLOBAL, SymType.OBJECT
    return s


def plan(t: Globals, imports: list[str], exports: list[str], canonical: Sequence[str] = ()
         ) -> DynamicTables:
    return plan_dynamic(X86_64, ["libc.so.6", "libm.so.6"],
                        [t.by_name[n] for n in imports], [exported(t, n) for n in exports],
                        {t.by_name[n].id for n in canonical})


def test_undefined_first_then_hashed_in_gnu_bucket_order() -> None:
    t = table()
    tables = plan(t, ["puts", "printf", "exit", "malloc", "sin", "qsort"],
                  ["e1", "e2", "e3", "e4", "e5"], canonical=["exit", "qsort"])
    names = [d.name for d in tables.syms]
    assert names[:4] == ["puts", "printf", "malloc", "sin"]  # undefined: command order
    assert tables.symoffset == 5
    hashed = names[4:]
    assert sorted(hashed) == sorted(["e1", "e2", "e3", "e4", "e5", "exit", "qsort"])
    buckets = [gnu_hash(n.encode()) % tables.gnu_nbucket for n in hashed]
    assert buckets == sorted(buckets)
    # canonical imports are hashed but stay references; exports are definitions
    by_name = {d.name: d for d in tables.syms}
    assert not by_name["exit"].defined and by_name["e1"].defined
    assert tables.index == {d.sym.id: i + 1 for i, d in enumerate(tables.syms)}


def _gnu_lookup(data: bytes, names: list[str], name: str) -> int:
    nbucket, symoffset, bloom_size, shift = struct.unpack_from("<IIII", data)
    bloom = struct.unpack_from(f"<{bloom_size}Q", data, 16)
    h = gnu_hash(name.encode())
    word = bloom[(h // 64) % bloom_size]
    if not (word >> (h % 64)) & 1 or not (word >> ((h >> shift) % 64)) & 1:
        return 0
    at = 16 + 8 * bloom_size
    i = struct.unpack_from(f"<{nbucket}I", data, at)[h % nbucket]
    chains = at + 4 * nbucket
    while i:
        value = struct.unpack_from("<I", data, chains + 4 * (i - symoffset))[0]
        if value | 1 == h | 1 and names[i] == name:
            return i
        if value & 1:
            return 0
        i += 1
    return 0


def test_gnu_hash_finds_exactly_the_hashed_symbols() -> None:
    t = table()
    tables = plan(t, ["puts", "free"], [f"export{n}" for n in range(40)], canonical=["free"])
    data = tables.render_gnu_hash()
    assert len(data) == tables.gnu_hash_size()
    names = [""] + [d.name for d in tables.syms]
    for i, name in enumerate(names[1:], start=1):
        assert _gnu_lookup(data, names, name) == (i if i >= tables.symoffset else 0), name


def test_sysv_hash_covers_every_symbol() -> None:
    t = table()
    tables = plan(t, ["puts", "printf"], ["e1", "e2"])
    data = tables.render_hash()
    assert len(data) == tables.sysv_hash_size()
    nbucket, nchain = struct.unpack_from("<II", data)
    assert nchain == len(tables.syms) + 1
    buckets = struct.unpack_from(f"<{nbucket}I", data, 8)
    chains = struct.unpack_from(f"<{nchain}I", data, 8 + 4 * nbucket)
    names = [""] + [d.name for d in tables.syms]
    for i, name in enumerate(names[1:], start=1):
        j = buckets[sysv_hash(name.encode()) % nbucket]
        while j and names[j] != name:
            j = chains[j]
        assert j == i


def test_dynsym_rendering_binding_and_values() -> None:
    t = table()
    t.by_name["printf"].strong_ref = False  # only weakly referenced
    tables = plan(t, ["puts", "printf"], ["e1"])
    data = tables.render_dynsym(lambda d: (0x401000, 7) if d.defined else (0, 0))
    assert len(data) == tables.dynsym_size() == 4 * 24
    assert data[:24] == bytes(24)
    rows = [struct.unpack_from("<IBBHQQ", data, 24 * i) for i in range(1, 4)]
    strtab = tables.dynstr.bytes()
    for (name_off, info, _, shndx, value, _), d in zip(rows, tables.syms):
        assert strtab[name_off:].split(b"\0")[0].decode() == d.name
        assert (value, shndx) == ((0x401000, 7) if d.defined else (0, 0))
    assert rows[0][1] >> 4 == 1 and rows[1][1] >> 4 == 2  # GLOBAL puts, WEAK printf
    assert rows[2][1] == (1 << 4) | 1  # e1: GLOBAL OBJECT


def test_verneed_per_library_with_indices_from_2() -> None:
    t = table()
    tables = plan(t, ["puts", "memcpy", "sin", "printf", "plain"], [])
    assert tables.verneed == [("libc.so.6", [("GLIBC_2.2.5", 2), ("GLIBC_2.14", 3)]),
                              ("libm.so.6", [("GLIBC_2.2.5", 4)])]
    assert [d.version for d in tables.syms] == [2, 3, 4, 2, 1]  # plain: unversioned (1)
    assert struct.unpack(f"<{len(tables.syms) + 1}H", tables.render_versym()) == (
        0, 2, 3, 4, 2, 1)
    size = tables.verneed_size()
    strings_before = len(tables.dynstr)
    data = tables.render_verneed()
    assert len(data) == size == (16 + 2 * 16) + (16 + 16)
    assert len(tables.dynstr) == strings_before  # every string interned at planning time
    strtab = tables.dynstr.bytes()

    def s(off: int) -> str:
        return strtab[off:].split(b"\0")[0].decode()

    at, seen = 0, []
    while True:
        version, cnt, file, aux, nxt = struct.unpack_from("<HHIII", data, at)
        assert version == 1 and aux == 16
        entries, a = [], at + aux
        for k in range(cnt):
            h, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
            assert h == sysv_hash(s(name).encode()) and flags == 0
            assert anext == (0 if k + 1 == cnt else 16)
            entries.append((s(name), other))
            a += 16
        seen.append((s(file), entries))
        if not nxt:
            break
        at += nxt
    assert seen == tables.verneed


def test_no_versions_no_version_sections() -> None:
    t = table()
    tables = plan(t, ["plain"], [])
    assert tables.verneed == [] and tables.versym_size() == 0 and tables.verneed_size() == 0


def test_pinned_reference_is_looked_up_by_its_plain_name() -> None:
    t = Globals()
    t.add_library(DynamicLibrary("libc.so.6", "libc.so.6", {}, versioned={
        "memcpy@GLIBC_2.2.5": DynamicSymbol("memcpy", SymType.FUNC, 0, version="GLIBC_2.2.5")}))
    ref = t.intern("memcpy@GLIBC_2.2.5")
    t.bind_versioned_references()
    assert DynSym(ref, False).name == "memcpy"


def test_string_table_stores_each_string_once() -> None:
    st = StringTable()
    assert st.add("") == 0 and st.add("abc") == 1 and st.add("de") == 5
    assert st.add("abc") == 1 and st.bytes() == b"\0abc\0de\0" and len(st) == 8


def test_relocation_records() -> None:
    for arch, fmt, info in ((X86_64, "<QQq", (3 << 32) | 7), (I386, "<II", (3 << 8) | 7)):
        tables = plan_dynamic(arch, [], [], [])
        data = tables.render_relocs([DynReloc(lambda: 0x601018, 7, 3, 5)])
        assert len(data) == tables.rel_size
        fields = struct.unpack(fmt, data)
        assert fields[:2] == (0x601018, info)
        if arch.is_rela:
            assert fields[2] == 5


def section(elf: ELFFile, name: str) -> Any:
    sec = elf.get_section_by_name(name)
    assert sec is not None, name
    return sec


@pytest.fixture(scope="module")
def dynamic_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dyn")
    src = d / "p.c"
    src.write_text("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                   "extern char **environ;\nint (*fp)(const char *) = puts;\n"
                   "int (*volatile q)(const char *);\n"
                   "int main(int c, char **v) { char b[8]; memcpy(b, v[0], 1); q = puts;\n"
                   "  printf(\"%d %p\\n\", c, (void *)environ); fp(\"x\");\n"
                   "  exit(b[0] == 0 || q != fp); }\n")
    exe = d / "p"
    subprocess.run(["gcc", "-O1", "-fno-pie", "-no-pie", "-B", shim_dir(), "-o", str(exe),
                    str(src)], check=True, capture_output=True)
    return exe


def test_real_link_dynsym_order(dynamic_exe: Path) -> None:
    with open(dynamic_exe, "rb") as f:
        elf = ELFFile(f)
        syms = list(section(elf, ".dynsym").iter_symbols())[1:]
        gnu = section(elf, ".gnu.hash")
        symoffset = gnu.params["symoffset"]
        nbucket = gnu.params["nbuckets"]
        undefined = [s for s in syms[:symoffset - 1]]
        hashed = syms[symoffset - 1:]
        assert all(s["st_shndx"] == "SHN_UNDEF" and s["st_value"] == 0 for s in undefined)
        buckets = [gnu_hash(s.name.encode()) % nbucket for s in hashed]
        assert buckets == sorted(buckets)
        names = {s.name for s in hashed}
        # environ is COPY'd (defined here, with its aliases); puts, whose address the code
        # takes (R_X86_64_32S), has a canonical PLT entry: hashed, with a value
        assert {"environ", "__environ", "puts"} <= names
        puts = next(s for s in hashed if s.name == "puts")
        assert puts["st_shndx"] == "SHN_UNDEF" and puts["st_value"] != 0
        for s in hashed:
            assert gnu.get_symbol(s.name) is not None
        versions = {v.name for _, vers in section(elf, ".gnu.version_r")
                    .iter_versions() for v in vers}
        assert "GLIBC_2.2.5" in versions
    done = subprocess.run([str(dynamic_exe)], capture_output=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith(b"1 0x")


def test_string_table_adds_a_list_as_one_at_a_time() -> None:
    """`add_all` (.symtab's names in one step) gives each name the offset `add` would, and
    the same bytes: repeats, names already in the table, non-ASCII and undecodable ones."""
    names = ["main", "f", "main", "", "g\u00e9", "x\udcff", "f", "longer_name"]
    for ascii_only in (False, True):
        batch = [n for n in names if n.isascii()] if ascii_only else names
        one, every = StringTable(), StringTable()
        one.add("f"), every.add("f")
        assert every.add_all(batch) == [one.add(n) for n in batch]
        assert every.bytes() == one.bytes()
