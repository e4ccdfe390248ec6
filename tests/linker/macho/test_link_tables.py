"""linker/macho/link.py: the indirect symbol table, the stub -> lazy pointer -> helper chain,
the nlist partition and the link-level refusals (tests/linker/macho/test_link.py compares
whole outputs with ld64.lld; these check the tables' internal consistency)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from macholib.MachO import MachO

from linker import LinkError, link
from linker.macho.link import INDIRECT_SYMBOL_LOCAL
from linker.macho.sections import (
    S_LAZY_SYMBOL_POINTERS,
    S_NON_LAZY_SYMBOL_POINTERS,
    S_SYMBOL_STUBS,
)
from linker.macho.synth import HELPER_ENTRY, HELPER_HEADER
from linker.macho.write import LC_DYSYMTAB, LC_SYMTAB

PROGRAM = r"""
int printf(const char *, ...);
int puts(const char *);
int fprintf(void *, const char *, ...);
extern void *__stdoutp;
static int hidden_counter = 5;
int table[4] = {1, 2, 3, 4};
int *ptr = &table[2];
__attribute__((visibility("hidden"))) int internal = 3;
int main(int argc, char **argv) {
    printf("%d\n", *ptr + hidden_counter + internal);
    puts("x");
    fprintf(__stdoutp, "y");
    return 0;
}
"""


@dataclass
class Image:
    data: bytes
    sections: dict[str, Any]  # "__seg,__sect" -> section_64
    indirect: list[int]
    names: list[str]  # nlist index -> name
    dysymtab: Any

    def entries(self, name: str) -> list[int]:
        s = self.sections[name]
        kind = s.flags & 0xFF
        count = s.size // (s.reserved2 if kind == S_SYMBOL_STUBS else 8)
        return self.indirect[s.reserved1:s.reserved1 + count]

    def read(self, name: str, offset: int, fmt: str) -> int:
        s = self.sections[name]
        value: int = struct.unpack_from(fmt, self.data, s.offset + offset)[0]
        return value


def load(path: Path) -> Image:
    h = MachO(str(path)).headers[0]
    data = path.read_bytes()
    sections = {}
    for lc, cmd, sects in h.commands:
        if hasattr(cmd, "nsects") and sects:
            for s in sects:
                seg, sect = (bytes(n).rstrip(b"\0").decode() for n in (s.segname, s.sectname))
                sections[f"{seg},{sect}"] = s
    st = next(c[1] for c in h.commands if c[0].cmd == LC_SYMTAB)
    dy = next(c[1] for c in h.commands if c[0].cmd == LC_DYSYMTAB)
    names = [data[st.stroff + struct.unpack_from("<I", data, st.symoff + 16 * i)[0]:]
             .split(b"\0")[0].decode() for i in range(st.nsyms)]
    indirect = list(struct.unpack_from(f"<{dy.nindirectsyms}I", data, dy.indirectsymoff))
    return Image(data, sections, indirect, names, dy)


@pytest.fixture(scope="module")
def obj(macho_cc: Callable[..., Path]) -> Path:
    return macho_cc(PROGRAM, "tables", "-O1")


@pytest.fixture(scope="module")
def modern(obj: Path, tmp_path_factory: pytest.TempPathFactory) -> Image:
    out = tmp_path_factory.mktemp("tables") / "modern"
    link([obj, "-lSystem"], out, target="macho-x86_64")
    return load(out)


def test_section_types(modern: Image) -> None:
    s = modern.sections
    assert s["__TEXT,__stubs"].flags & 0xFF == S_SYMBOL_STUBS
    assert s["__TEXT,__stubs"].reserved2 == 6
    assert s["__DATA,__la_symbol_ptr"].flags & 0xFF == S_LAZY_SYMBOL_POINTERS
    assert s["__DATA,__got"].flags & 0xFF == S_NON_LAZY_SYMBOL_POINTERS


def test_stubs_and_lazy_pointers_index_the_same_imports(modern: Image) -> None:
    stubs = [modern.names[i] for i in modern.entries("__TEXT,__stubs")]
    lazy = [modern.names[i] for i in modern.entries("__DATA,__la_symbol_ptr")]
    # clang turns fprintf(f, "y") into fputc: three imports called, one stub each
    assert stubs == lazy and sorted(stubs) == ["_fputc", "_printf", "_puts"]
    # the table is laid out section by section, without gaps or overlaps
    spans = sorted((s.reserved1, s.reserved1 + len(modern.entries(k)))
                   for k, s in modern.sections.items()
                   if s.flags & 0xFF in (S_SYMBOL_STUBS, S_LAZY_SYMBOL_POINTERS,
                                         S_NON_LAZY_SYMBOL_POINTERS))
    assert spans[0][0] == 0 and spans[-1][1] == len(modern.indirect)
    assert all(a[1] == b[0] for a, b in pairwise(spans))


def test_got_entries_name_imports(modern: Image) -> None:
    got = modern.entries("__DATA,__got")
    named = [modern.names[i] for i in got if i != INDIRECT_SYMBOL_LOCAL]
    assert "dyld_stub_binder" in named and "___stdoutp" in named
    undef = range(modern.dysymtab.iundefsym,
                  modern.dysymtab.iundefsym + modern.dysymtab.nundefsym)
    assert all(i in undef for i in got if i != INDIRECT_SYMBOL_LOCAL)


def test_stub_to_lazy_pointer_to_helper_chain(modern: Image) -> None:
    stubs, la, helper = (modern.sections[k] for k in (
        "__TEXT,__stubs", "__DATA,__la_symbol_ptr", "__TEXT,__stub_helper"))
    n = stubs.size // 6
    assert la.size == 8 * n and helper.size == len(HELPER_HEADER) + len(HELPER_ENTRY) * n
    pushes = []
    for i in range(n):
        disp = modern.read("__TEXT,__stubs", 6 * i + 2, "<i")
        assert stubs.addr + 6 * i + 6 + disp == la.addr + 8 * i  # jmp *la_ptr[i](%rip)
        entry = len(HELPER_HEADER) + len(HELPER_ENTRY) * i
        assert modern.read("__DATA,__la_symbol_ptr", 8 * i, "<Q") == helper.addr + entry
        jmp = modern.read("__TEXT,__stub_helper", entry + 6, "<i")
        assert helper.addr + entry + 10 + jmp == helper.addr  # back to the header
        pushes.append(modern.read("__TEXT,__stub_helper", entry + 1, "<I"))
    assert pushes == sorted(set(pushes))  # a distinct lazy-bind offset per import


def test_helper_header_reaches_dyld_private_and_the_binder(modern: Image) -> None:
    helper, got = modern.sections["__TEXT,__stub_helper"], modern.sections["__DATA,__got"]
    lea = modern.read("__TEXT,__stub_helper", 3, "<i")
    private = helper.addr + 7 + lea
    data = modern.sections["__DATA,__data"]
    assert data.addr <= private < data.addr + data.size
    jmp = modern.read("__TEXT,__stub_helper", 11, "<i")
    slot = helper.addr + 15 + jmp
    got_names = [modern.names[i] if i != INDIRECT_SYMBOL_LOCAL else None
                 for i in modern.entries("__DATA,__got")]
    assert slot == got.addr + 8 * got_names.index("dyld_stub_binder")


def test_nlist_partition(modern: Image) -> None:
    d = modern.dysymtab
    assert d.ilocalsym == 0 and d.iextdefsym == d.nlocalsym
    assert d.iundefsym == d.iextdefsym + d.nextdefsym
    assert d.iundefsym + d.nundefsym == len(modern.names)
    local = modern.names[:d.nlocalsym]
    extdef = modern.names[d.iextdefsym:d.iundefsym]
    undef = modern.names[d.iundefsym:]
    assert "_internal" in local  # hidden visibility: private extern
    assert "__mh_execute_header" in extdef and "_main" in extdef and "_table" in extdef
    assert extdef == sorted(extdef) and undef == sorted(undef)
    assert {"_printf", "_puts", "_fputc", "___stdoutp", "dyld_stub_binder"} <= set(undef)
    assert "_hidden_counter" not in modern.names  # a static stays out


def test_classic_indirect_table(obj: Path, tmp_path: Path, macho_cc: Callable[..., Path]
                                ) -> None:
    src = macho_cc("int printf(const char *, ...); extern void *__stdoutp;\n"
                   "int fputs(const char *, void *);\n"
                   "int main(void) { printf(\"a\"); fputs(\"b\", __stdoutp); return 0; }",
                   "tables_classic", "-O1")
    out = tmp_path / "classic"
    link([src, "-lSystem"], out, target="macho-x86_64", macho_classic=True)
    img = load(out)
    stubs = [img.names[i] for i in img.entries("__TEXT,__symbol_stub1")]
    pointers = [img.names[i] if i != INDIRECT_SYMBOL_LOCAL else None
                for i in img.entries("__DATA,__nl_symbol_ptr")]
    # the stubs' pointers first, in stub order, then the GOT's
    assert pointers[:len(stubs)] == stubs and pointers[len(stubs):] == ["___stdoutp"]
    assert "__DATA,__la_symbol_ptr" not in img.sections
    assert "__TEXT,__stub_helper" not in img.sections


def test_read_only_absolute_pointer_refused(macho_asm: Callable[[str, str], Path],
                                            tmp_path: Path) -> None:
    o = macho_asm(".globl _main\n.text\n_main: ret\n.section __TEXT,__const\n"
                  "_p: .quad _main\n", "ro_pointer")
    with pytest.raises(LinkError, match=r"__TEXT,__const\+0x0: symbol _main: an absolute "
                                        r"pointer in a read-only section cannot be rebased"):
        link([o, "-lSystem"], tmp_path / "x", target="macho-x86_64")


def test_imported_data_by_rip_relative_address_refused(macho_asm: Callable[[str, str], Path],
                                                   tmp_path: Path) -> None:
    o = macho_asm(".globl _main\n.text\n_main: movq ___stdoutp(%rip), %rax\nret\n",
                  "copy_needed")
    with pytest.raises(LinkError, match="___stdoutp"):
        link([o, "-lSystem"], tmp_path / "x", target="macho-x86_64")


def test_missing_entry_point(obj: Path, tmp_path: Path) -> None:
    with pytest.raises(LinkError, match=r"^-e \(entry point\): symbol _nope: "
                                        r"undefined reference to `_nope' \(undefined symbol"):
        link([obj, "-lSystem"], tmp_path / "x", target="macho-x86_64", entry="_nope")
