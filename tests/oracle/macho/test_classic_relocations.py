"""Classic mode's LC_DYSYMTAB relocations, the library-ordinal rules and zero-fill.

A C program with data pointers to an imported function (`&fprintf`, as the held-out
program of issue 19 wrote it), to imported data with an addend, and to a local, is linked
--macho-classic: the checker is silent, and the emulated dyld, applying the external and
local relocations, runs it lazy and now with the output its modern and ld64.lld-14 links
give.  Then one corruption at a time: the checker names the rule, the emulated dyld refuses
what dyld refuses.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.libtrace import data_word, function_result
from linker import link
from oracle.check.macho import MACHO_RULES, check_macho
from oracle.emulate import RunResult, run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho import relocations as rel
from oracle.emulate.macho.image import MachOImage
from oracle.macho_relocs import check_macho_fields

ROOT = Path(__file__).parents[3]
LIBSYSTEM_TBD = ROOT / "linker" / "macho" / "data" / "libSystem.tbd"
TRIPLE = "x86_64-apple-macosx10.9"
CC = ["clang-14", f"--target={TRIPLE}", "-nostdlibinc", "-isystem",
      str(ROOT / "tests" / "macho_include"), "-O1", "-w", "-c"]

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
int (*p)(FILE *, const char *, ...) = &fprintf;
static int local = 42;
int *lp = &local;
extern unsigned lt1_d1[4];
unsigned *second = &lt1_d1[1];
long lt1_f2_a2(long, long);
long (*recorder)(long, long) = lt1_f2_a2;
int main(void) {
    p(stdout, "%d %u %ld\n", *lp, *second, recorder(5, 7));
    return 0;
}
void start(void) { exit(main()); }
"""
EXPECTED = f"42 {data_word('lt1_d1', 1)} {function_result('lt1_f2_a2', (5, 7))}\n".encode()

LIBTRACE_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/usr/lib/libtrace1.dylib'
current-version: 1
compatibility-version: 1
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _lt1_f2_a2, _lt1_f0_a0, _lt1_d1 ]
...
"""

WEAK_SOURCE = r"""
int puts(const char *);
__attribute__((weak)) int weak_value = 9;
int *wp = &weak_value;
int main(void) { puts("w"); return *wp - 9; }
"""


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("classic-relocs")
    (out / "prog.c").write_text(SOURCE)
    (out / "weak.c").write_text(WEAK_SOURCE)
    (out / "libtrace1.tbd").write_text(LIBTRACE_TBD)
    for name in ("prog", "weak"):
        subprocess.run([*CC, str(out / f"{name}.c"), "-o", str(out / f"{name}.o")],
                       check=True, capture_output=True)
    obj, tbd = str(out / "prog.o"), str(out / "libtrace1.tbd")
    exes = {"classic": out / "classic", "modern": out / "modern", "lld": out / "lld",
            "weak-lld": out / "weak-lld"}
    link([obj, "-lSystem", tbd], exes["classic"], target="macho-x86_64", macho_classic=True,
         entry="_start")
    link([obj, "-lSystem", tbd], exes["modern"], target="macho-x86_64")
    lld = ["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0"]
    subprocess.run([*lld, "-o", str(exes["lld"]), obj, tbd, str(LIBSYSTEM_TBD)], check=True,
                   capture_output=True)
    subprocess.run([*lld, "-o", str(exes["weak-lld"]), str(out / "weak.o"),
                    str(LIBSYSTEM_TBD)], check=True, capture_output=True)
    return exes


Mutation = Callable[[bytearray, MachOImage], None]


def mutated(path: Path, name: str, mutation: Mutation) -> Path:
    data = bytearray(path.read_bytes())
    mutation(data, mi.parse(bytes(data)))
    out = path.with_suffix(f".{name}")
    out.write_bytes(bytes(data))
    return out


def rules(path: Path) -> set[str]:
    return {v.rule for v in check_macho(path.read_bytes())}


def faulted(result: RunResult, kind: str) -> str:
    assert result.exit_code is None, result
    [fault] = result.faults
    assert fault.kind == kind, fault
    return fault.message


def entry_offset(img: MachOImage, table: str, index: int) -> int:
    """File offset of relocation entry `index` of the "external" or "local" table."""
    assert img.dysymtab is not None
    return (img.dysymtab[14] if table == "external" else img.dysymtab[16]) + 8 * index


def symbol_index(img: MachOImage, name: str) -> int:
    return next(s.index for s in img.symbols() if s.name == name)


# -- the program --

@pytest.mark.parametrize("flavour", ["classic", "modern", "lld"])
@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_pointers_to_imports_run_in_every_mode(builds: dict[str, Path], flavour: str,
                                                bind: str) -> None:
    exe = builds[flavour]
    assert check_macho(exe.read_bytes()) == []
    result = run(exe, bind=bind)
    assert result.faults == [] and result.exit_code == 0, result
    assert result.stdout == EXPECTED


def test_classic_relocation_tables(builds: dict[str, Path]) -> None:
    data = builds["classic"].read_bytes()
    img = mi.parse(data)
    assert img.dyld_info is None and img.flags & mi.MH_PIE
    symbols = img.symbols()
    external = rel.entries(img, "external")
    assert sorted(symbols[e.symbolnum].name for e in external) == [
        "_fprintf", "_lt1_d1", "_lt1_f2_a2"]
    data_seg = img.segment_named("__DATA")
    assert data_seg is not None
    for e in external:
        assert (e.pcrel, e.length, e.extern, e.type) == (False, 3, True, 0)
        # x86_64 counts r_address from the first writable segment
        assert e.address == data_seg.vmaddr + e.r_address
        word = data[data_seg.fileoff + e.r_address:][:8]
        addend = 4 if symbols[e.symbolnum].name == "_lt1_d1" else 0
        assert int.from_bytes(word, "little") == addend  # dyld adds the symbol to it
    [local] = rel.entries(img, "local")  # lp = &local
    assert (local.pcrel, local.length, local.extern) == (False, 3, False)
    lp = next(s for s in symbols if s.name == "_lp")
    assert local.address == lp.value


def test_new_rules_are_listed() -> None:
    ids = {r.id for r in MACHO_RULES}
    assert {"MACHO-EXTREL", "MACHO-LOCREL", "MACHO-CLASSIC-RELOCS-ONLY", "MACHO-FILE-SPACE",
            "MACHO-IMPORT-SELF-ORDINAL", "MACHO-BIND-SELF-ORDINAL",
            "MACHO-WEAK-BIND-ORDINAL"} <= ids


# -- classic relocations, corrupted --

def test_external_relocation_names_a_defined_symbol(builds: dict[str, Path]) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        at = entry_offset(img, "external", 0)
        (word,) = struct.unpack_from("<I", data, at + 4)
        struct.pack_into("<I", data, at + 4, word & ~0xFFFFFF | symbol_index(img, "_main"))

    bad = mutated(builds["classic"], "extdef", mutation)
    assert rules(bad) == {"MACHO-EXTREL"}


def test_external_relocation_names_another_import(builds: dict[str, Path]) -> None:
    """Structurally fine, behaviourally wrong: the checker cannot know, the run shows it."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        symbols = img.symbols()
        for k, e in enumerate(rel.entries(img, "external")):
            if symbols[e.symbolnum].name == "_fprintf":
                at = entry_offset(img, "external", k)
                (word,) = struct.unpack_from("<I", data, at + 4)
                other = symbol_index(img, "_lt1_f2_a2")
                struct.pack_into("<I", data, at + 4, word & ~0xFFFFFF | other)

    bad = mutated(builds["classic"], "extother", mutation)
    assert rules(bad) == set()
    result = run(bad)  # p(stdout, ...) calls lt1_f2_a2 instead of fprintf
    assert result.stdout == b"" and [t.symbol for t in result.trace
                                     if t.symbol.startswith("lt1")] == ["lt1_f2_a2"] * 2


def test_external_relocation_past_the_symbol_table(builds: dict[str, Path]) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        at = entry_offset(img, "external", 0)
        (word,) = struct.unpack_from("<I", data, at + 4)
        struct.pack_into("<I", data, at + 4, word & ~0xFFFFFF | 0xFFFF)

    bad = mutated(builds["classic"], "extpast", mutation)
    assert rules(bad) == {"MACHO-EXTREL"}
    assert "past the symbol table" in faulted(run(bad), "bad-relocation")


def test_external_relocation_in_text(builds: dict[str, Path]) -> None:
    """r_address moved before the first writable segment: into __TEXT."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        struct.pack_into("<i", data, entry_offset(img, "external", 0), -0x100)

    bad = mutated(builds["classic"], "exttext", mutation)
    assert rules(bad) == {"MACHO-EXTREL"}
    assert "not writable" in faulted(run(bad), "bad-relocation")


def test_local_relocation_of_the_wrong_length(builds: dict[str, Path]) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        at = entry_offset(img, "local", 0) + 4
        (word,) = struct.unpack_from("<I", data, at)
        struct.pack_into("<I", data, at, word & ~(3 << 25) | 2 << 25)

    bad = mutated(builds["classic"], "loclen", mutation)
    assert rules(bad) == {"MACHO-LOCREL"}
    assert "r_length 2" in faulted(run(bad), "bad-relocation")


def test_local_relocation_extern_bit(builds: dict[str, Path]) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        at = entry_offset(img, "local", 0) + 4
        (word,) = struct.unpack_from("<I", data, at)
        struct.pack_into("<I", data, at, word | 1 << 27)

    bad = mutated(builds["classic"], "locext", mutation)
    assert rules(bad) == {"MACHO-LOCREL"}
    assert "r_extern 1" in faulted(run(bad), "bad-relocation")


def test_local_relocation_on_a_word_that_is_not_a_pointer(builds: dict[str, Path]) -> None:
    """The local relocation moved onto the external relocation's word (which holds the
    addend, not an address) and named R_ABS: both wrong, neither a fault at slide 0."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        [ext, *_] = rel.entries(img, "external")
        at = entry_offset(img, "local", 0)
        (word,) = struct.unpack_from("<I", data, at + 4)
        struct.pack_into("<iI", data, at, ext.r_address, word & ~0xFFFFFF)

    bad = mutated(builds["classic"], "locword", mutation)
    assert rules(bad) == {"MACHO-LOCREL"}
    found = [v.what for v in check_macho(bad.read_bytes())]
    assert any("not a section ordinal" in w for w in found)
    assert any("points into no segment" in w for w in found)


def test_relocations_beside_dyld_info(builds: dict[str, Path]) -> None:
    """A modern image claiming the classic image's relocations: a dyld reading dyld info
    would never apply them."""
    classic = mi.parse(builds["classic"].read_bytes())
    assert classic.dysymtab is not None

    def mutation(data: bytearray, img: MachOImage) -> None:
        lc = next(c.offset for c in img.commands if c.cmd == mi.LC_DYSYMTAB)
        assert img.symtab is not None
        struct.pack_into("<II", data, lc + 8 + 4 * 14, img.symtab[0], 1)  # extreloff, nextrel

    bad = mutated(builds["modern"], "both", mutation)
    assert "MACHO-CLASSIC-RELOCS-ONLY" in rules(bad)


# -- library ordinals --

def test_import_with_self_ordinal_in_n_desc(builds: dict[str, Path]) -> None:
    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.symtab is not None
        sym = next(s for s in img.symbols() if s.undefined and s.name == "_lt1_f2_a2")
        struct.pack_into("<H", data, img.symtab[0] + 16 * sym.index + 6, sym.desc & 0xFF)

    bad = mutated(builds["classic"], "selfdesc", mutation)
    assert rules(bad) == {"MACHO-IMPORT-SELF-ORDINAL"}
    assert "ordinal 0" in faulted(run(bad), "unresolved")


@pytest.mark.parametrize("flavour", ["modern", "lld"])
def test_bind_with_self_ordinal(builds: dict[str, Path], flavour: str) -> None:
    """The first non-lazy bind's SET_DYLIB_ORDINAL_IMM 1 or 2 becomes 0 (SELF)."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.bind
        at = next(k for k in range(off, off + size) if data[k] & 0xF0 == 0x10 and data[k] & 0xF)
        data[at] = 0x10

    bad = mutated(builds[flavour], "selfbind", mutation)
    assert rules(bad) == {"MACHO-BIND-SELF-ORDINAL"}
    assert "ordinal 0" in faulted(run(bad), "unresolved")


def test_library_ordinal_in_the_weak_bind_stream(builds: dict[str, Path]) -> None:
    """ld64.lld's weak bind of _weak_value: its SET_TYPE_IMM becomes SET_DYLIB_ORDINAL_IMM 1
    (the type stays POINTER, so only the ordinal is wrong)."""
    good = builds["weak-lld"]
    assert check_macho(good.read_bytes()) == [] and run(good).exit_code == 0

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.weak_bind
        at = data.index(0x51, off, off + size)  # SET_TYPE_IMM POINTER
        data[at] = 0x11

    bad = mutated(good, "weakord", mutation)
    assert rules(bad) == {"MACHO-WEAK-BIND-ORDINAL"}
    assert "weak-bind stream" in faulted(run(bad), "bad-relocation")


# -- zero-fill --

def test_zero_fill_written_into_the_file(builds: dict[str, Path]) -> None:
    """Two pages of zeros between __DATA's file data and __LINKEDIT (what rounding the next
    file offset past __bss did): nothing maps them."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        link_seg = img.segment_named("__LINKEDIT")
        assert link_seg is not None
        lc = img.commands[link_seg.command].offset
        struct.pack_into("<Q", data, lc + 40, link_seg.fileoff + 0x2000)  # fileoff
        for cmd, fields in ((mi.LC_SYMTAB, (0, 2)), (mi.LC_DYSYMTAB, (12, 14, 16)),
                            (mi.LC_DYLD_INFO_ONLY, (0, 2, 4, 6, 8))):
            for at in [c.offset for c in img.commands if c.cmd == cmd]:
                for k in fields:
                    (v,) = struct.unpack_from("<I", data, at + 8 + 4 * k)
                    if v:
                        struct.pack_into("<I", data, at + 8 + 4 * k, v + 0x2000)
        data[link_seg.fileoff:link_seg.fileoff] = bytes(0x2000)

    for flavour in ("classic", "modern"):
        bad = mutated(builds[flavour], "zerofill", mutation)
        assert rules(bad) == {"MACHO-FILE-SPACE"}, flavour
        assert run(bad).stdout == EXPECTED  # harmless to run, but not what ld64 writes


# -- the field oracle --

def test_field_oracle_confirms_external_relocations(builds: dict[str, Path]) -> None:
    obj = builds["classic"].parent / "prog.o"
    report = check_macho_fields(builds["classic"], [obj])
    assert report.mismatches == ()
    confirmed = {s.symbol for s in report.confirmed if s.formula == "external relocation S + A"}
    assert confirmed == {"_fprintf", "_lt1_d1", "_lt1_f2_a2"}

    def mutation(data: bytearray, img: MachOImage) -> None:  # &lt1_d1[1] loses its addend
        symbols = img.symbols()
        [e] = [e for e in rel.entries(img, "external") if symbols[e.symbolnum].name == "_lt1_d1"]
        seg = img.segment_at(e.address)
        assert seg is not None
        at = seg.fileoff + e.address - seg.vmaddr
        data[at:at + 8] = bytes(8)

    bad = mutated(builds["classic"], "noaddend", mutation)
    [mismatch] = check_macho_fields(bad, [obj]).mismatches
    assert mismatch.symbol == "_lt1_d1" and "addend 4" in mismatch.detail


# -- the slide: what a missing rebase or local relocation does on a Mac --

def test_missing_local_relocation_faults_when_slid(builds: dict[str, Path]) -> None:
    """nlocrel 0: lp keeps its link-time value, which points nowhere once the MH_PIE image
    is slid; the checker cannot know (only the inputs say lp is a pointer)."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        lc = next(c.offset for c in img.commands if c.cmd == mi.LC_DYSYMTAB)
        struct.pack_into("<I", data, lc + 8 + 4 * 17, 0)  # nlocrel

    bad = mutated(builds["classic"], "nolocrel", mutation)
    assert rules(bad) == set()
    assert "unmapped" in faulted(run(bad), "unmapped-read")
    # the field oracle knows lp is a pointer into the image: nothing slides it
    [unslid] = check_macho_fields(bad, [builds["classic"].parent / "prog.o"]).mismatches
    assert unslid.kind == "unslid" and unslid.address == next(
        s.value for s in mi.parse(bad.read_bytes()).symbols() if s.name == "_lp")


@pytest.mark.parametrize("flavour", ["modern", "lld"])
def test_missing_rebase_faults_when_slid(builds: dict[str, Path], flavour: str) -> None:
    """The rebase opcodes emptied (a lone DONE): every pointer into the image keeps its
    link-time value."""

    def mutation(data: bytearray, img: MachOImage) -> None:
        assert img.dyld_info is not None
        off, size = img.dyld_info.rebase
        data[off:off + size] = bytes(size)

    bad = mutated(builds[flavour], "norebase", mutation)
    assert run(bad).exit_code is None
    report = check_macho_fields(bad, [builds["classic"].parent / "prog.o"])
    assert {m.kind for m in report.mismatches} == {"unslid"}
