"""Mach-O links, judged against ld64.lld-14 on the same objects and the shipped libSystem stub.

Both outputs are disassembled by llvm-objdump, which names every operand it can (symbol,
stub, literal); with addresses masked the two listings must be identical, and the sets of
binds, lazy binds and exports must match.  (Behaviour under the emulated dyld is judged in
the oracle's tests.)
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from linker import LinkError, link
from linker.cli import ld64_shim
from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho import image as macho_image

TBD = Path(__file__).parents[3] / "linker/macho/data/libSystem.tbd"

PROGRAM = r"""
int printf(const char *, ...);
int puts(const char *);
int fprintf(void *, const char *, ...);
extern void *__stdoutp;
static int counter = 5;
int table[4] = {1, 2, 3, 4};
int *ptr = &table[2];
int (*fp)(const char *) = puts;
const char *names[] = {"zero", "one"};
int common_thing;
__attribute__((weak)) int weak_value = 9;
static int helper(int x) { return x * 3 + counter; }
int main(int argc, char **argv) {
    common_thing = helper(argc);
    printf("hello %d %s\n", counter + *ptr, names[argc & 1]);
    fp("via pointer");
    fprintf(__stdoutp, "x %d\n", weak_value);
    return common_thing;
}
"""


def _objdump(*args: str | Path) -> str:
    return subprocess.run(["llvm-objdump-14", "--macho", *map(str, args)], check=True,
                          capture_output=True, text=True).stdout


def _listing(path: Path) -> str:
    text = _objdump("-d", "--no-show-raw-insn", "--no-leading-addr", "-j", "__text", path)
    text = text.split("\n", 1)[1]
    # ld64 and lld relax a GOT load of a symbol defined in the image into a lea; we keep
    # the GOT slot (relaxation is optional).  Both forms name the same symbol.
    text = re.sub(r"movq\s+-?\d+\(%rip\), (%\w+) ## literal pool symbol address: (_\w+)",
                  lambda m: f"leaq\t{m.group(2)}(%rip), {m.group(1)}"
                  if m.group(2) not in _IMPORTED else m.group(0), text)
    return re.sub(r"-?(0x)?[0-9a-f]{6,}|-?\d+\(%rip\)", "N", text)


_IMPORTED = {"___stdoutp"}


def _binds(path: Path) -> list[tuple[str, ...]]:
    out = _objdump("--bind", "--lazy-bind", path)
    return sorted(tuple(line.split()[:2] + line.split()[-1:]) for line in out.splitlines()
                  if line.startswith("__"))


def _exports(path: Path) -> list[str]:
    return sorted(line.split()[-1] for line in _objdump("--exports-trie", path).splitlines()
                  if line.startswith("0x"))


@pytest.fixture(scope="module")
def program(macho_cc) -> Path:
    return macho_cc(PROGRAM, "program", "-O1", "-fcommon")


@pytest.fixture(scope="module")
def reference(program: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lld") / "ref"
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(out), str(program), str(TBD)], check=True)
    return out


def test_modern_matches_ld64_lld(program: Path, reference: Path, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    link([program, "-lSystem"], ours, target="macho-x86_64")
    assert _listing(ours) == _listing(reference)
    assert _binds(ours) == _binds(reference)
    assert _exports(ours) == _exports(reference)
    headers = _objdump("--private-headers", ours)
    assert "PIE" in headers and "LC_DYLD_INFO_ONLY" in headers and "LC_MAIN" in headers
    rebases = _objdump("--rebase", ours)
    assert "__la_symbol_ptr" in rebases and "__data" in rebases  # lazy pointers, &table[2]


def test_shim_through_clang(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "via-clang"
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-fuse-ld=lld",
                    f"--ld-path={ld64_shim()}", str(program), "-o", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes()[:4] == struct.pack("<I", 0xFEEDFACF)
    assert "_main" in _exports(out)


def test_classic_mode(macho_cc, tmp_path: Path) -> None:
    obj = macho_cc("""
        int printf(const char *, ...); extern void *__stdoutp; int fputs(const char *, void *);
        void exit(int);
        int main(void) { printf("classic %d\\n", 5); fputs("x\\n", __stdoutp); return 3; }
        void start(void) { exit(main()); }
    """, "classic", "-O1")
    out = tmp_path / "classic"
    link([obj, "-lSystem"], out, target="macho-x86_64", macho_classic=True)
    headers = _objdump("--private-headers", out)
    assert "LC_UNIXTHREAD" in headers and "LC_DYLD_INFO" not in headers
    # nothing to slide but the INDIRECT_SYMBOL_LOCAL slots, which dyld slides itself
    assert "PIE" in headers and "nlocrel 0" in headers and "nextrel 0" in headers
    indirect = _objdump("--indirect-symbols", out)
    assert "(__TEXT,__symbol_stub1) 3 entries" in indirect
    assert "(__DATA,__nl_symbol_ptr) 4 entries" in indirect
    assert "___stdoutp" in indirect.split("__nl_symbol_ptr")[1]


def _relocations(path: Path) -> dict[str, list[tuple[int, str]]]:
    """llvm-objdump's external and local relocation tables of a linked image: (address as
    printed, symbol or section column)."""
    tables: dict[str, list[tuple[int, str]]] = {"External": [], "Local": []}
    current = None
    for line in _objdump("-r", path).splitlines():
        if line.endswith("entries"):
            current = line.split()[0]
        elif current and line[:1].isdigit():
            fields = line.split()
            assert fields[1:5] == ["False", "quad", str(current == "External"), "UNSIGND"], line
            tables[current].append((int(fields[0], 16), " ".join(fields[6:])))
    return tables


def test_classic_writes_external_and_local_relocations(program: Path, tmp_path: Path) -> None:
    """Pointers to imports in data become external relocations (the addend stays in the
    word), pointers into the image local relocations, with r_address counted from the
    first writable segment (x86-64's classic convention, which llvm-objdump shares)."""
    out = tmp_path / "classic-data"
    link([program, "-lSystem"], out, target="macho-x86_64", macho_classic=True,
         entry="_main")
    tables = _relocations(out)
    assert [name for _, name in tables["External"]] == ["_puts"]  # fp
    # ptr = &table[2]; names[] = {"zero", "one"}: r_symbolnum is the target's section
    local = sorted(name.split(" ", 1)[1] for _, name in tables["Local"])
    assert local == ["(__DATA,__data)", "(__TEXT,__cstring)", "(__TEXT,__cstring)"]
    headers = _objdump("--private-headers", out)
    assert "PIE" in headers and "nextrel 1" in headers and "nlocrel 3" in headers


def test_zero_fill_takes_no_file_space(macho_cc, tmp_path: Path) -> None:
    """16 MB of __bss and __common: the file holds only what the segments' filesize need,
    in both modes, as ld64.lld's 8 KB output does."""
    obj = macho_cc("""
        static char big[16 << 20]; char common_big[1 << 20];
        int puts(const char *); void exit(int); int main(void);
        int main(void) {
            big[5] = 1; common_big[7] = 2; puts("big");
            return big[5] - 1 + big[(16 << 20) - 1] + common_big[(1 << 20) - 1];
        }
        void start(void) { exit(main()); }
    """, "bigbss", "-O0", "-fcommon")
    for classic in (False, True):
        out = tmp_path / f"big-{classic}"
        link([obj, "-lSystem"], out, target="macho-x86_64", macho_classic=classic,
             entry="_start" if classic else None)
        assert out.stat().st_size < 16 * 1024, (classic, out.stat().st_size)
        img = macho_image.parse(out.read_bytes())
        data = img.segment_named("__DATA")
        assert data is not None and data.vmsize >= 17 << 20 and data.filesize <= 0x1000
        zerofill = [s for s in data.sections if s.zerofill]
        assert {s.sectname for s in zerofill} == {"__bss", "__common"}
        assert all(s.offset == 0 for s in zerofill)
        assert check(out) == []
        for bind in ("lazy", "now"):  # the zero-fill is there, zeroed, at run time
            result = run(out, bind=bind)
            assert (result.faults, result.stdout, result.exit_code) == ([], b"big\n", 0)


def test_undefined_and_import_option(macho_cc, tmp_path: Path) -> None:
    obj = macho_cc("int mystery(int); int main(void){ return mystery(2); }", "imp", "-O1")
    with pytest.raises(LinkError, match="symbol _mystery: undefined reference to `_mystery' \\(undefined symbol"):
        link([obj, "-lSystem"], tmp_path / "u", target="macho-x86_64")
    out = tmp_path / "imported"
    link([obj, "-lSystem"], out, target="macho-x86_64", imports=["_mystery@/opt/libm.dylib"])
    assert "/opt/libm.dylib" in _objdump("--private-headers", out)
    assert ("__DATA", "__la_symbol_ptr", "_mystery") in _binds(out)


def test_page_plus_alignment_leaves_no_unmapped_file_bytes(macho_cc, tmp_path: Path) -> None:
    """16 KB-aligned data starts __DATA past a gap in memory and in the file; __TEXT covers
    the gap (as ld64.lld's does), so every file byte belongs to a segment."""
    obj = macho_cc("""
        int puts(const char *);
        _Alignas(16384) int aligned_data[4] = {1, 2, 3, 4};
        int main(void) { puts("al"); return ((long)aligned_data & 0x3fff) != 0; }
    """, "aligned16k", "-O1")
    out = tmp_path / "aligned"
    link([obj, "-lSystem"], out, target="macho-x86_64")
    img = macho_image.parse(out.read_bytes())
    text, data = img.segment_named("__TEXT"), img.segment_named("__DATA")
    assert text is not None and data is not None and data.vmaddr % 16384 == 0
    assert text.fileoff + text.filesize == data.fileoff
    assert check(out) == []
    assert (run(out).stdout, run(out).exit_code) == (b"al\n", 0)
