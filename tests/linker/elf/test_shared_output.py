"""`-shared` on elf64-x86-64 and elf32-i386: the relocation decisions, the options, the
refusals, GOT-load relaxation and TLS in shared objects, asserted on the output.

Objects are assembled from small hand-written sources, so each relocation is known; the
decision a test asserts is the one GNU ld (and lld) make for the same input.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from linker.api import link
from linker.elf.version_script import parse_version_script
from linker.errors import LinkError
from oracle.check import check

Assemble = Callable[..., Path]

LIBRARY = """
    .text
    .globl call_all, api, api_data_ptr, hidden_fn, prot_fn
    .hidden hidden_fn
    .protected prot_fn
    .type api, @function
api:        ret
hidden_fn:  ret
prot_fn:    ret
call_all:
    call api@PLT                 # preemptible: through the PLT
    call hidden_fn               # hidden: direct (PC32 to a non-preemptible symbol)
    call prot_fn@PLT             # protected: bound to itself, no PLT entry
    movq counter@GOTPCREL(%rip), %rax    # preemptible data: GOT slot + GLOB_DAT
    movq local_var@GOTPCREL(%rip), %rax  # a local: relaxed to lea (GOTPCRELX)
    ret
    .data
    .globl counter
    .type counter, @object
counter:    .quad 5
local_var:  .quad 6
api_data_ptr:
    .quad counter                # preemptible: R_X86_64_64 against it
    .quad local_var              # local: RELATIVE
    .quad undefined_elsewhere    # undefined: a symbolic relocation (ld.so finds it)
"""


def _relocs(path: Path) -> list[tuple[str, str, int]]:
    """(type, symbol name, offset) of every dynamic relocation."""
    out = []
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection) and sec.name in (
                    ".rela.dyn", ".rela.plt", ".rel.dyn", ".rel.plt"):
                symtab = elf.get_section(sec["sh_link"])
                for r in sec.iter_relocations():
                    name = symtab.get_symbol(r["r_info_sym"]).name if r["r_info_sym"] else ""
                    out.append((_type_name(elf, r["r_info_type"]), name, r["r_offset"]))
    return out


_X86_64 = {1: "64", 6: "GLOB_DAT", 7: "JUMP_SLOT", 8: "RELATIVE", 16: "DTPMOD64",
           17: "DTPOFF64", 18: "TPOFF64"}
_I386 = {1: "32", 6: "GLOB_DAT", 7: "JUMP_SLOT", 8: "RELATIVE", 14: "TLS_TPOFF",
         35: "TLS_DTPMOD32", 36: "TLS_DTPOFF32"}


def _type_name(elf: ELFFile, number: int) -> str:
    return (_X86_64 if elf["e_machine"] == "EM_X86_64" else _I386).get(number, str(number))


def _dynamic(path: Path) -> dict[str, int | str]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        dyn = elf.get_section_by_name(".dynamic")
        assert isinstance(dyn, DynamicSection)
        out: dict[str, int | str] = {}
        for tag in dyn.iter_tags():
            out[tag.entry.d_tag] = getattr(tag, "soname", None) or tag.entry.d_val
        return out


def _header(path: Path) -> tuple[str, list[str]]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return elf["e_type"], [s["p_type"] for s in elf.iter_segments()]


def _shared(assemble: Assemble, tmp_path: Path, source: str, name: str = "lib", *,
            m32: bool = False, **options: object) -> Path:
    obj = assemble(source, name, m32=m32)
    out = tmp_path / f"{name}.so"
    link([str(obj)], str(out), target="elf32-i386" if m32 else "elf64-x86-64", shared=True,
         **options)  # type: ignore[arg-type]
    return out


def test_shared_object_decisions_x86_64(assemble: Assemble, tmp_path: Path) -> None:
    out = _shared(assemble, tmp_path, LIBRARY, soname="libdecide.so.1", runpath="/opt/lh")
    relocs = _relocs(out)
    kinds = {(t, s) for t, s, _ in relocs}
    assert ("JUMP_SLOT", "api") in kinds
    assert ("GLOB_DAT", "counter") in kinds
    assert ("64", "counter") in kinds and ("64", "undefined_elsewhere") in kinds
    assert ("RELATIVE", "") in kinds
    names = {s for _, s, _ in relocs}
    assert not names & {"hidden_fn", "prot_fn", "local_var"}  # bound at link time
    # RELATIVE first, counted
    types = [t for t, _, _ in relocs]
    count = _dynamic(out)["DT_RELACOUNT"]
    assert types[:count] == ["RELATIVE"] * count and "RELATIVE" not in types[count:]
    dyn = _dynamic(out)
    assert dyn["DT_SONAME"] == "libdecide.so.1" and "DT_DEBUG" not in dyn
    assert "DT_RUNPATH" in dyn and "DT_FLAGS_1" not in dyn  # no DF_1_PIE
    e_type, segments = _header(out)
    assert e_type == "ET_DYN" and "PT_INTERP" not in segments and "PT_PHDR" not in segments
    assert "PT_DYNAMIC" in segments
    assert check(str(out)) == []


def test_bsymbolic_binds_definitions_locally(assemble: Assemble, tmp_path: Path) -> None:
    out = _shared(assemble, tmp_path, LIBRARY, "libsym", symbolic="all")
    names = {s for _, s, _ in _relocs(out)}
    assert "api" not in names and "counter" not in names  # all RELATIVE or direct now
    assert "undefined_elsewhere" in names  # still nobody's definition here
    assert _dynamic(out)["DT_FLAGS"] & 0x2  # DF_SYMBOLIC
    functions = _shared(assemble, tmp_path, LIBRARY, "libsymf", symbolic="functions")
    kinds = {(t, s) for t, s, _ in _relocs(functions)}
    assert ("JUMP_SLOT", "api") not in kinds and ("GLOB_DAT", "counter") in kinds


def test_text_relocation_is_an_error_naming_the_place(assemble: Assemble,
                                                      tmp_path: Path) -> None:
    source = "    .section .rodata\n    .quad target\ntarget: .quad 1\n"
    with pytest.raises(LinkError) as e:
        _shared(assemble, tmp_path, source, "textrel")
    text = str(e.value)
    assert "textrel.o: section .rodata+0x0: symbol .rodata:" in text  # as assembled
    assert "recompile with -fPIC" in text
    assert not (tmp_path / "textrel.so").exists()
    # -z notext: DT_TEXTREL and a warning instead
    obj = assemble(source, "textrel")
    out = tmp_path / "notext.so"
    result = link([str(obj)], str(out), shared=True, text_relocations=True)
    assert any("DT_TEXTREL" in str(w) for w in result.warnings)
    assert "DT_TEXTREL" in _dynamic(out) and _dynamic(out)["DT_FLAGS"] & 0x4


@pytest.mark.parametrize(("source", "rule"), [
    ("    .text\n    movl $data, %eax\n    .data\ndata: .long 0\n", "R_X86_64_32"),
    ("    .text\n    leaq ext(%rip), %rax\n", "R_X86_64_PC32 against an undefined symbol"),
    ("    .text\n    .globl g\ng: leaq g(%rip), %rax\n",
     "R_X86_64_PC32 against a preemptible symbol"),
    ("    .text\n    movl %fs:v@tpoff, %eax\n    .section .tbss,\"awT\",@nobits\nv: .long 0\n",
     "local-exec TLS"),
])
def test_non_pic_code_is_refused(assemble: Assemble, tmp_path: Path, source: str,
                                 rule: str) -> None:
    with pytest.raises(LinkError, match=rule) as e:
        _shared(assemble, tmp_path, source, "nonpic")
    assert "-fPIC" in str(e.value) and "nonpic.o: section .text+0x" in str(e.value)


def test_z_defs_makes_undefined_symbols_errors(assemble: Assemble, tmp_path: Path) -> None:
    source = "    .text\n    call missing@PLT\n"
    out = _shared(assemble, tmp_path, source, "undef")
    assert ("JUMP_SLOT", "missing") in {(t, s) for t, s, _ in _relocs(out)}
    with pytest.raises(LinkError, match="undefined symbol"):
        _shared(assemble, tmp_path, source, "undef2", no_undefined=True)


def test_version_script_scopes_and_versions(assemble: Assemble, tmp_path: Path) -> None:
    script = tmp_path / "v.map"
    script.write_text("V1 { global: api; local: *; };\n"
                      "V2 { global: call_all; counter; } V1;\n")
    out = _shared(assemble, tmp_path, LIBRARY, "libver", soname="libver.so",
                  version_scripts=[str(script)])
    with open(out, "rb") as f:
        elf = ELFFile(f)
        dynsym = elf.get_section_by_name(".dynsym")
        exported = {s.name for s in dynsym.iter_symbols() if s["st_shndx"] != "SHN_UNDEF"}
        versym = elf.get_section_by_name(".gnu.version")
        verdef = elf.get_section_by_name(".gnu.version_d")
        assert verdef is not None and versym is not None
        names = {}
        for vd, auxs in verdef.iter_versions():
            aux = list(auxs)
            names[vd["vd_ndx"]] = [a.name for a in aux]
        indices = {s.name: versym.get_symbol(n)["ndx"]
                   for n, s in enumerate(dynsym.iter_symbols())}
    assert exported == {"api", "call_all", "counter"}  # api_data_ptr made local by V1's *
    assert names == {1: ["libver.so"], 2: ["V1"], 3: ["V2", "V1"]}
    assert (indices["api"], indices["call_all"], indices["counter"]) == (2, 3, 3)
    # a local symbol is no longer preemptible: no dynamic relocation names it
    assert "api_data_ptr" not in {s for _, s, _ in _relocs(out)}
    assert check(str(out)) == []


def test_version_script_precedence() -> None:
    script = parse_version_script(
        '# exact beats glob beats *\nA { global: f*; "g*"; local: *; };\n'
        "B { global: foo; local: fo*; };\n")
    assert script.scope("foo").version == "B" and not script.scope("foo").local
    assert script.scope("fob").version == "A" and not script.scope("fob").local
    assert script.scope("g*").version == "A" and script.scope("gx").local
    with pytest.raises(LinkError, match='extern "C\\+\\+"'):
        parse_version_script('V { extern "C++" { ns::*; }; };')
    with pytest.raises(LinkError, match="undefined version"):
        parse_version_script("V { global: a; } W;")


def test_exclude_libs_hides_archive_members(assemble: Assemble, tmp_path: Path) -> None:
    member = assemble("    .text\n    .globl from_archive\nfrom_archive: ret\n", "member")
    archive = tmp_path / "libpart.a"
    subprocess.run(["ar", "rcs", str(archive), str(member)], check=True)
    main = assemble("    .text\n    .globl entry\nentry: call from_archive@PLT\n", "entry")
    for names, exported in (((), True), (("libpart.a",), False), (("ALL",), False)):
        out = tmp_path / "excl.so"
        link([str(main), str(archive)], str(out), shared=True, exclude_libs=names)
        with open(out, "rb") as f:
            dynsym = ELFFile(f).get_section_by_name(".dynsym")
            found = any(s.name == "from_archive" for s in dynsym.iter_symbols())
        assert found is exported


GOT_LOADS = """
    .text
    .globl _start, f
_start:
    movq  v@GOTPCREL(%rip), %rax
    call  *f@GOTPCREL(%rip)
    jmp   *f@GOTPCREL(%rip)
f:  ret
    .data
v:  .quad 1
"""


def test_got_loads_relaxed_in_an_executable(assemble: Assemble, tmp_path: Path) -> None:
    obj = assemble(GOT_LOADS, "gotx")
    out = tmp_path / "gotx"
    link([str(obj)], str(out), static=True)
    with open(out, "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text").data()
        assert elf.get_section_by_name(".got") is None  # no slot left
    assert text[1:3] == b"\x8d\x05"  # mov -> lea
    assert text[7:9] == b"\x67\xe8"  # call *GOT -> addr32 call
    assert text[13] == 0xE9 and text[18] == 0x90  # jmp *GOT -> jmp; nop
    assert int.from_bytes(text[14:18], "little", signed=True) == 19 - 18  # to f, after nop
    kept = tmp_path / "gotx-norelax"
    link([str(obj)], str(kept), static=True, relax=False)
    with open(kept, "rb") as f:
        assert ELFFile(f).get_section_by_name(".text").data()[1:3] == b"\x8b\x05"


def test_got_loads_of_preemptible_symbols_stay_in_a_shared_object(
        assemble: Assemble, tmp_path: Path) -> None:
    source = GOT_LOADS.replace(".globl _start, f", ".globl _start, f, v")
    out = _shared(assemble, tmp_path, source, "gotso")
    with open(out, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert text[1:3] == b"\x8b\x05" and text[7:9] == b"\xff\x15"  # v, f preemptible
    hidden = _shared(assemble, tmp_path, source.replace(".globl _start, f, v",
                                                        ".globl _start\n    .hidden f"),
                     "gotso2")
    with open(hidden, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert text[1:3] == b"\x8d\x05" and text[7:9] == b"\x67\xe8"


TLS = """
    .text
    .globl get_g, get_l, get_ie
get_g:
    .byte 0x66
    leaq  g@tlsgd(%rip), %rdi
    .value 0x6666
    rex64 call __tls_get_addr@PLT
    ret
get_l:
    leaq  l@tlsld(%rip), %rdi
    call  __tls_get_addr@PLT
    leaq  l@dtpoff(%rax), %rax
    ret
get_ie:
    movq  g@gottpoff(%rip), %rax
    ret
    .section .tdata,"awT",@progbits
    .globl g
g:  .long 1
l:  .long 2
"""


def test_tls_models_in_a_shared_object(assemble: Assemble, tmp_path: Path) -> None:
    out = _shared(assemble, tmp_path, TLS, "libtls")
    kinds = [(t, s) for t, s, _ in _relocs(out)]
    assert ("DTPMOD64", "g") in kinds and ("DTPOFF64", "g") in kinds  # general dynamic
    assert ("DTPMOD64", "") in kinds  # local dynamic: the module's own pair
    assert ("TPOFF64", "g") in kinds  # initial exec
    assert _dynamic(out)["DT_FLAGS"] & 0x10  # DF_STATIC_TLS
    with open(out, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert text[:4] == bytes.fromhex("66488d3d")  # the sequence is kept


def test_tls_relaxed_in_an_executable(assemble: Assemble, tmp_path: Path) -> None:
    obj = assemble(TLS.replace(".globl get_g", ".globl _start, get_g")
                   .replace("get_g:", "_start:\nget_g:"), "tlsexe")
    out = tmp_path / "tlsexe"
    link([str(obj)], str(out), static=True)
    with open(out, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert text[:9] == bytes.fromhex("64488b042500000000")  # mov %fs:0, %rax


I386_LIBRARY = """
    .text
    .globl api, call_api
    .type api, @function
api: ret
call_api:
    call  1f
1:  popl  %ebx
    addl  $_GLOBAL_OFFSET_TABLE_+(.-1b), %ebx
    call  api@PLT
    movl  counter@GOT(%ebx), %eax
    leal  local@GOTOFF(%ebx), %eax
    ret
    .data
    .globl counter
counter: .long 3
local:   .long counter
         .long local
"""


def test_shared_object_decisions_i386(assemble: Assemble, tmp_path: Path) -> None:
    out = _shared(assemble, tmp_path, I386_LIBRARY, "lib32", m32=True, soname="lib32.so")
    relocs = _relocs(out)
    kinds = {(t, s) for t, s, _ in relocs}
    assert {("JUMP_SLOT", "api"), ("GLOB_DAT", "counter"), ("32", "counter"),
            ("RELATIVE", "")} <= kinds
    count = _dynamic(out)["DT_RELCOUNT"]
    assert [t for t, _, _ in relocs[:count]] == ["RELATIVE"] * count
    with open(out, "rb") as f:
        elf = ELFFile(f)
        plt = elf.get_section_by_name(".plt").data()
    assert plt[:2] == b"\xff\xb3"  # PIC PLT0: pushl 4(%ebx)
    assert check(str(out)) == []


TLS_LIBRARY_C = r"""
__thread int tcount = 3;
static __thread int tlocal = 10;
extern __thread int ext_tls;
int tls_bump(int n) { tcount += n; tlocal += n; return tcount + tlocal; }
int *tls_addr(void) { return &tcount; }
int read_ext(void) { return ext_tls; }
"""
TLS_MAIN_C = r"""
#include <stdio.h>
extern __thread int tcount; int tls_bump(int); int *tls_addr(void); int read_ext(void);
__thread int ext_tls = 42;
int main(void) {
    int bumped = tls_bump(1);  /* before reading tcount: argument order is unspecified */
    printf("%d %d %d %d\n", bumped, tcount, tls_addr() == &tcount, read_ext());
    return 0;
}
"""
TLS_EXPECTED = "15 4 1 42\n"


@pytest.mark.parametrize("machine", ["-m64", "-m32"])
@pytest.mark.parametrize("model", ["", "-ftls-model=initial-exec", "-fno-plt"])
def test_tls_across_a_shared_object_runs(tmp_path: Path, machine: str, model: str) -> None:
    """A library's TLS (general/local dynamic or initial exec) used by an executable that
    both GNU ld and linkharness link; the same code linked into one executable (relaxed)."""
    from linker import shim_dir
    shim = f"-B{shim_dir()}"
    (tmp_path / "lib.c").write_text(TLS_LIBRARY_C)
    (tmp_path / "main.c").write_text(TLS_MAIN_C)
    flags = [machine, "-O2", "-fPIC", *([model] if model else [])]

    def gcc(*args: str) -> None:
        subprocess.run(["gcc", *flags, *args], cwd=tmp_path, check=True, capture_output=True)

    gcc(shim, "-shared", "-Wl,-soname,libt.so", "lib.c", "-o", "libt.so")
    for linker in ("-fuse-ld=bfd", shim):
        gcc(linker, "main.c", "-L.", "-lt", f"-Wl,-rpath,{tmp_path}", "-o", "prog")
        run = subprocess.run([str(tmp_path / "prog")], capture_output=True, text=True,
                             check=False)
        assert run.stdout == TLS_EXPECTED, (linker, run.stderr)
    gcc(shim, "lib.c", "main.c", "-o", "whole")  # general dynamic relaxed to local exec
    run = subprocess.run([str(tmp_path / "whole")], capture_output=True, text=True, check=False)
    assert run.stdout == TLS_EXPECTED
    # a library linked without -soname is legal: the checker's warning for it is not an error
    assert [v for v in check(str(tmp_path / "libt.so")) if v.severity == "error"] == []


def test_i386_tls_relocations_in_a_shared_object(assemble: Assemble, tmp_path: Path) -> None:
    source = """
    .text
    .globl f
f:  leal   g@tlsgd(,%ebx,1), %eax
    call   ___tls_get_addr@PLT
    leal   l@tlsldm(%ebx), %eax
    call   ___tls_get_addr@PLT
    movl   l@dtpoff(%eax), %eax
    movl   g@gotntpoff(%ebx), %eax
    ret
    .section .tdata,"awT",@progbits
    .globl g
g:  .long 1
l:  .long 2
"""
    out = _shared(assemble, tmp_path, source, "tls32", m32=True)
    kinds = [(t, s) for t, s, _ in _relocs(out)]
    assert ("TLS_DTPMOD32", "g") in kinds and ("TLS_DTPOFF32", "g") in kinds
    assert ("TLS_DTPMOD32", "") in kinds and ("TLS_TPOFF", "g") in kinds
    assert _dynamic(out)["DT_FLAGS"] & 0x10  # DF_STATIC_TLS


def test_a_common_meets_a_library_definition(tmp_path: Path) -> None:
    """GNU ld's rule, which the executable must follow to see the library's value: a COMMON
    loses to a library's initialised definition (imported, COPY or GOT), and absorbs a
    library's zero-fill one (the executable defines it, at the larger size)."""
    from linker import shim_dir
    (tmp_path / "lib.c").write_text("double init = 2.5; int zero[8];\n"
                                    "int lib_zero_size(void) { return sizeof zero; }\n")
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\ndouble init; int zero[2]; int lib_zero_size(void);\n'
        'int main(void) { zero[7] = 1; printf("%.1f %d\\n", init, lib_zero_size()); '
        "return 0; }\n")

    def gcc(*args: str) -> None:
        subprocess.run(["gcc", "-O1", "-fPIC", "-fcommon", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    gcc(f"-B{shim_dir()}", "-shared", "lib.c", "-o", "libc1.so")
    for linker in ("-fuse-ld=bfd", f"-B{shim_dir()}"):
        gcc(linker, "main.c", "-L.", "-lc1", f"-Wl,-rpath,{tmp_path}", "-o", "prog")
        run = subprocess.run([str(tmp_path / "prog")], capture_output=True, text=True,
                             check=False)
        assert run.stdout == "2.5 32\n", linker


def test_i386_got_loads_relaxed(assemble: Assemble, tmp_path: Path) -> None:
    """mov foo@GOT(%reg) -> lea foo@GOTOFF(%reg); call/jmp *foo@GOT(%reg) -> direct, as
    GNU ld writes them (67 e8 rel32; e9 rel32 90)."""
    obj = assemble("""
    .text
    .globl _start
_start:
    movl  v@GOT(%ebx), %eax
    call  *f@GOT(%ebx)
    jmp   *f@GOT(%ebx)
f:  ret
    .data
v:  .long 1
""", "got32relax", m32=True)
    out = tmp_path / "got32relax"
    link([str(obj)], str(out), target="elf32-i386", static=True)
    with open(out, "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text").data()  # type: ignore[union-attr]
        got_plt = elf.get_section_by_name(".got.plt")
        data = elf.get_section_by_name(".data")
        assert got_plt is not None and data is not None
        gotoff = int(data["sh_addr"]) - int(got_plt["sh_addr"])
    assert text[0:2] == b"\x8d\x83" and int.from_bytes(text[2:6], "little",
                                                       signed=True) == gotoff
    assert text[6:8] == b"\x67\xe8" and int.from_bytes(text[8:12], "little") == 18 - 12
    assert text[12] == 0xE9 and text[17] == 0x90
    assert int.from_bytes(text[13:17], "little") == 18 - 17
