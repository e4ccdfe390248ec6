"""linker.elf.read: ET_REL objects into the neutral model, and its refusals."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from linker.elf.read import read_object
from linker.errors import LinkError
from linker.kinds import RelocKind
from linker.model import ABS, COMMON, UNDEF, Binding, SectionFlags, SectionRole

SOURCE = """
    .text
    .globl f
    .type f, @function
f:  call g@PLT
    call h
    movq k@GOTPCREL(%rip), %rax
    movl $data+8, %eax
    movq $data-4, %rax
    ret
    .section .rodata,"a"
tbl: .quad f + 16
    .short 0x1234
    .byte 7
    .data
    .globl data
data: .quad tbl, ext + 3
    .weak w
    .quad w
    .comm cbuf, 64, 32
    .set absv, 0x1234
    .globl absv
    .section .note.GNU-stack,"",@progbits
"""


def _read(path: Path):
    return read_object(memoryview(path.read_bytes()), str(path))


def test_sections_symbols_and_relocations(assemble) -> None:
    obj = _read(assemble(SOURCE, "basic"))
    assert obj.arch == "x86_64"
    assert obj.exec_stack is False
    names = {s.name: s for s in obj.sections if s is not None}
    assert {".text", ".data", ".rodata", ".bss"} <= set(names)
    text = names[".text"]
    kinds = [obj.howtos[h].kind for h in text.relocs.rows["howto"]]
    assert kinds == [RelocKind.PLT_PC, RelocKind.PC if kinds[1] == RelocKind.PC else
                     RelocKind.PLT_PC, RelocKind.GOT_PC, RelocKind.ABS, RelocKind.ABS]
    assert text.relocs.rows["offset"].tolist()[:2] == [1, 6]
    syms = obj.symbols
    index = {n: i for i, n in enumerate(syms.names) if n}
    assert syms.section[index["g"]] == UNDEF
    assert syms.section[index["cbuf"]] == COMMON
    assert int(syms.value[index["cbuf"]]) == 32 and int(syms.size[index["cbuf"]]) == 64
    assert syms.section[index["absv"]] == ABS and int(syms.value[index["absv"]]) == 0x1234
    assert syms.binding[index["w"]] == Binding.WEAK
    data_rows = names[".data"].relocs.rows
    assert data_rows["addend"].tolist() == [0, 3, 0]


def test_matches_pyelftools(compile_c) -> None:
    """Every relocation row equals what an independent reader (pyelftools) sees."""
    path = compile_c("""
        #include <stdio.h>
        static int counter; int table[8] = {1,2,3};
        int *ptrs[] = {&table[2], &counter};
        int use(int i) { counter += i; printf("%d\\n", table[i]); return *ptrs[i & 1]; }
    """, "cmp", "-O2", "-fno-pie")
    obj = _read(path)
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            if not sec.name.startswith(".rela") or sec["sh_flags"] & 2 == 0 and \
                    not elf.get_section(sec["sh_info"])["sh_flags"] & 2:
                continue
            target = obj.sections[sec["sh_info"]]
            if target is None:
                continue
            theirs = [(r["r_offset"], r["r_info_type"], r["r_info_sym"], r["r_addend"])
                      for r in sec.iter_relocations() if r["r_info_type"] != 0]
            ours = [tuple(int(v) for v in row) for row in
                    target.relocs.rows[["offset", "howto", "symbol", "addend"]].tolist()]
            assert ours == theirs, sec.name


def test_i386_rel_implicit_addends(assemble) -> None:
    obj = _read(assemble("""
        .text
        movl data+12, %eax
        call f
        .byte 0
        .data
    data: .long 0
        .long data + 5
        .short data + 2
    """, "i386", m32=True))
    assert obj.arch == "i386"
    text = next(s for s in obj.sections if s is not None and s.name == ".text")
    rows = text.relocs.rows
    assert [obj.howtos[h].name for h in rows["howto"]] == ["R_386_32", "R_386_PC32"]
    assert rows["addend"].tolist() == [12, -4]
    data = next(s for s in obj.sections if s is not None and s.name == ".data")
    assert data.relocs.rows["addend"].tolist() == [5, 2]


def test_comdat_groups(compile_c) -> None:
    obj = _read(assemble_comdat(compile_c))
    assert [g.signature for g in obj.groups] == ["shared_fn"]
    members = [obj.sections[i] for i in obj.groups[0].sections]
    assert all(m is None or m.comdat == "shared_fn" for m in members)
    assert any(m is not None and m.name.startswith(".text") for m in members)


def assemble_comdat(compile_c) -> Path:
    return compile_c("""
        __attribute__((weak)) int other(void) { return 1; }
        int call(void) { return other(); }
        __asm__(".section .text.shared_fn,\\"axG\\",@progbits,shared_fn,comdat\\n"
                ".globl shared_fn\\nshared_fn: ret\\n.text");
    """, "comdat")


def test_eh_frame_and_init_array_roles(compile_c) -> None:
    obj = _read(compile_c("""
        extern void hook(void);
        __attribute__((constructor)) static void c(void) { hook(); }
        int main(void) { return 0; }
    """, "roles", "-O1"))
    roles = {s.name: s.role for s in obj.sections if s is not None}
    assert roles[".init_array"] is SectionRole.INIT_ARRAY
    assert roles[".eh_frame"] is SectionRole.EH_FRAME


def test_debug_sections_are_loaded_with_their_relocations(compile_c) -> None:
    obj = _read(compile_c("int x = 3;", "dbg", "-g"))
    loaded = {s.name: s for s in obj.sections if s is not None}
    assert {".debug_info", ".debug_abbrev", ".debug_str", ".comment"} <= set(loaded)
    info = loaded[".debug_info"]
    assert SectionFlags.ALLOC not in info.flags and len(info.relocs) > 0
    assert SectionFlags.MERGE in loaded[".debug_str"].flags
    # The group, symbol and string tables and the address-significance table are not.
    assert not {".symtab", ".strtab", ".llvm_addrsig", ".note.GNU-stack"} & set(loaded)


# Big enough that GNU as compresses it (it keeps a section whose compression saves nothing).
_MANY_FUNCTIONS = "int x = 3;\n" + "".join(
    f"struct s{i} {{ int a{i}, b{i}; }}; int f{i}(struct s{i} *p) {{ return p->a{i} + x; }}\n"
    for i in range(40))


def _is_compressed(path: Path, name: str) -> bool:
    return bool(_shdr(path, name)[1]["sh_flags"] & 0x800)


def test_compressed_debug_sections_read_as_their_contents(compile_c) -> None:
    plain = _read(compile_c(_MANY_FUNCTIONS, "plain", "-g"))
    packed_path = compile_c(_MANY_FUNCTIONS, "packed", "-g", "-gz")
    assert _is_compressed(packed_path, ".debug_info")
    packed = _read(packed_path)
    for name in (".debug_info", ".debug_line", ".debug_abbrev"):
        a = next(s for s in plain.sections if s is not None and s.name == name)
        b = next(s for s in packed.sections if s is not None and s.name == name)
        assert bytes(b.data or b"") == bytes(a.data or b"") and b.size == a.size
        assert len(b.relocs) == len(a.relocs)


def test_corrupt_compressed_section_is_one_error(compile_c) -> None:
    path = compile_c(_MANY_FUNCTIONS, "corrupt", "-g", "-gz")
    assert _is_compressed(path, ".debug_info")
    _, hdr = _shdr(path, ".debug_info")
    data = bytearray(path.read_bytes())
    body = hdr["sh_offset"] + 24
    data[body:body + 8] = b"\xff" * 8  # the zlib stream's header
    with pytest.raises(LinkError, match=r"\.debug_info.*do not decompress"):
        read_object(memoryview(bytes(data)), str(path))


def test_dtpoff_in_debug_info_is_kept(compile_c) -> None:
    obj = _read(compile_c("__thread int t; int f(void) { return t; }", "tlsdbg", "-g"))
    info = next(s for s in obj.sections if s is not None and s.name == ".debug_info")
    names = {obj.howtos[int(h)].name for h in info.relocs.rows["howto"]}
    assert "R_X86_64_DTPOFF32" in names or "R_X86_64_DTPOFF64" in names


# -- refusals: one LinkError naming file, section and offset ------------------------------

def _patched(path: Path, offset: int, fmt: str, value: int) -> memoryview:
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    return memoryview(bytes(data))


def _shdr(path: Path, name: str) -> tuple[int, dict]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for i, sec in enumerate(elf.iter_sections()):
            if sec.name == name:
                return elf["e_shoff"] + i * elf["e_shentsize"], dict(sec.header)
    raise KeyError(name)


def test_truncated_header() -> None:
    with pytest.raises(LinkError, match="truncated ELF header") as e:
        read_object(memoryview(b"\x7fELF\x02\x01"), "short.o")
    assert str(e.value).startswith("short.o")


def test_section_past_end_of_file(assemble) -> None:
    path = assemble(SOURCE, "pastend")
    shdr_at, _ = _shdr(path, ".data")
    bad = _patched(path, shdr_at + 0x18, "<Q", 1 << 40)  # sh_offset
    with pytest.raises(LinkError, match="runs past end of file"):
        read_object(bad, str(path))


def test_symbol_section_index_out_of_range(assemble) -> None:
    path = assemble(SOURCE, "badsym")
    _, symtab = _shdr(path, ".symtab")
    first_global = symtab["sh_info"]
    bad = _patched(path, symtab["sh_offset"] + first_global * 24 + 6, "<H", 0x7FF0)
    with pytest.raises(LinkError, match=r"\.symtab\+0x48: .*section index 0x7ff0"):
        read_object(bad, str(path))


def test_relocation_symbol_out_of_range(assemble) -> None:
    path = assemble(SOURCE, "badrel")
    _, rela = _shdr(path, ".rela.text")
    bad = _patched(path, rela["sh_offset"] + 8 + 4, "<I", 99999)  # r_info high word
    with pytest.raises(LinkError, match=r"\.text\+0x1: .*symbol 99999"):
        read_object(bad, str(path))


def test_relocation_past_section_end(assemble) -> None:
    path = assemble(SOURCE, "relend")
    _, rela = _shdr(path, ".rela.text")
    bad = _patched(path, rela["sh_offset"], "<Q", 0x10000)
    with pytest.raises(LinkError, match="runs past the end of the section"):
        read_object(bad, str(path))


def test_unknown_relocation_type(assemble) -> None:
    path = assemble(SOURCE, "reltype")
    _, rela = _shdr(path, ".rela.text")
    bad = _patched(path, rela["sh_offset"] + 8, "<I", 200)
    with pytest.raises(LinkError, match="unknown relocation type 200"):
        read_object(bad, str(path))


def test_tls_descriptors_are_refused(compile_c) -> None:
    path = compile_c("__thread int x; int f(void) { return x; }", "tlsdesc", "-fPIC",
                     "-mtls-dialect=gnu2")
    with pytest.raises(LinkError, match=r"R_X86_64_GOTPC32_TLSDESC: TLS descriptors") as e:
        read_object(memoryview(path.read_bytes()), str(path))
    assert "section .text+0x" in str(e.value) and "symbol x" in str(e.value)


def test_dynamic_tls_is_kept_by_the_reader(compile_c) -> None:
    """-fPIC's general- and local-dynamic sequences are read as they are (TLSGD, TLSLD,
    DTPOFF32): whether they are relaxed is decided at link time, by the output kind."""
    path = compile_c("__thread int g; static __thread int l;\n"
                     "int f(void) { return g + l; }", "tlsgd", "-fPIC", "-O2")
    data = path.read_bytes()
    obj = read_object(memoryview(data), str(path))
    text = next(s for s in obj.sections if s is not None and s.name == ".text")
    names = {obj.howtos[h].name for h in text.relocs.rows["howto"]}
    assert "R_X86_64_TLSGD" in names and "R_X86_64_TPOFF32" not in names
    assert bytes.fromhex("64488b042500000000") not in bytes(text.data)  # no mov %fs:0,%rax


def test_not_relocatable(tmp_path: Path) -> None:
    data = bytearray(64)
    data[:4] = b"\x7fELF"
    data[4:6] = b"\x02\x01"
    struct.pack_into("<HH", data, 16, 2, 62)
    with pytest.raises(LinkError, match="not a relocatable object"):
        read_object(memoryview(bytes(data)), "exe")


def test_wrong_machine() -> None:
    data = bytearray(64)
    data[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HH", data, 16, 1, 183)  # EM_AARCH64
    with pytest.raises(LinkError, match="unsupported ELF machine 183"):
        read_object(memoryview(bytes(data)), "arm.o")


def test_bulk_tables_are_numpy(assemble) -> None:
    obj = _read(assemble(SOURCE, "np"))
    assert isinstance(obj.symbols.value, np.ndarray)
    text = next(s for s in obj.sections if s is not None and s.name == ".text")
    assert text.relocs.rows.dtype.names == ("offset", "howto", "symbol", "addend")
