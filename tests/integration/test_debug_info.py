"""Debug information through the link, as a user sees it (issue 18).

A two-file C program built with -g, linked through gcc's driver by GNU ld and by
linkharness; gdb stops at f.c:4, prints a local and a global, and the backtrace names
main at m.c:4, the same for both outputs.  llvm-dwarfdump --verify passes on both.  The
variants: gcc's DWARF 5 and DWARF 4, clang-14's, -m32, compressed inputs (-gz), and the
linker's own --compress-debug-sections.  Then what a debugger cannot show directly: a
discarded COMDAT copy's debug entry is the tombstone, a thread-local variable's location
is its offset in the TLS block, .debug_str is merged, and -S / -s strip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from debug_program import GDB, assert_gdb_stopped_in_f, gdb_answers, write_sources
from elftools.elf.elffile import ELFFile

DWARFDUMP = "llvm-dwarfdump-14"

VARIANTS = {
    "gcc-dwarf5": ("gcc", "-g"),
    "gcc-dwarf4": ("gcc", "-gdwarf-4"),
    "gcc-dwarf5-m32": ("gcc", "-g", "-m32"),
    "gcc-dwarf4-m32": ("gcc", "-gdwarf-4", "-m32"),
    "clang-dwarf5": ("clang-14", "-gdwarf-5"),
    "clang-dwarf4-m32": ("clang-14", "-gdwarf-4", "-m32"),
    "gcc-gz": ("gcc", "-g", "-gz"),
}


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          check=False,
                          timeout=120)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}: {done.stderr}"
    return done.stdout


def _build(tmp: Path, shim: str, cc: str, flags: tuple[str, ...],
           ldflags: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """(GNU ld's executable, linkharness's) of the two-file program."""
    write_sources(tmp)
    _run(cc, *flags, "-O0", "-fno-pie", "-c", "f.c", "m.c", cwd=tmp)
    m32 = ("-m32",) if "-m32" in flags else ()
    _run(cc, *m32, "-no-pie", "f.o", "m.o", "-o", "ref", *ldflags, cwd=tmp)
    _run(cc, *m32, "-no-pie", f"-B{shim}", "f.o", "m.o", "-o", "ours", *ldflags, cwd=tmp)
    return tmp / "ref", tmp / "ours"


def _session(exe: Path) -> list[str]:
    return gdb_answers(_run(*GDB, exe, cwd=exe.parent))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gdb_sees_what_it_sees_with_gnu_ld(variant: str, tmp_path: Path,
                                           linkharness_shim: str) -> None:
    cc, *flags = VARIANTS[variant]
    ref, ours = _build(tmp_path, linkharness_shim, cc, tuple(flags))
    got = _session(ours)
    assert got == _session(ref)
    assert_gdb_stopped_in_f(got)
    for exe in (ref, ours):
        assert "No errors." in _run(DWARFDUMP, "--verify", exe)


@pytest.mark.parametrize("method", ["zlib"])
def test_compressed_output_is_read_by_gdb(method: str, tmp_path: Path,
                                          linkharness_shim: str) -> None:
    _, ours = _build(tmp_path, linkharness_shim, "gcc", ("-g",),
                     (f"-Wl,--compress-debug-sections={method}",))
    with open(ours, "rb") as f:
        elf = ELFFile(f)
        info = elf.get_section_by_name(".debug_info")
        assert info is not None and info["sh_flags"] & 0x800  # SHF_COMPRESSED
        assert info["sh_addr"] == 0
    assert "#1  main () at m.c:4" in _session(ours)
    assert "No errors." in _run(DWARFDUMP, "--verify", ours)


def test_strip_debug_and_strip_all(tmp_path: Path, linkharness_shim: str) -> None:
    _, debug = _build(tmp_path, linkharness_shim, "gcc", ("-g",), ("-Wl,-S",))
    names = _section_names(debug)
    assert not any(n.startswith(".debug") for n in names)
    assert ".symtab" in names and ".comment" in names
    _run("gcc", "-no-pie", f"-B{linkharness_shim}", "f.o", "m.o", "-s", "-o", "all",
         cwd=tmp_path)
    names = _section_names(tmp_path / "all")
    assert not any(n.startswith(".debug") for n in names) and ".symtab" not in names
    assert _run(tmp_path / "all") == "48\n"


def _section(elf: ELFFile, name: str) -> Any:
    sec = elf.get_section_by_name(name)
    assert sec is not None, name
    return sec


def _symbol_value(elf: ELFFile, name: str) -> int:
    found = _section(elf, ".symtab").get_symbol_by_name(name)
    assert found, name
    return int(found[0]["st_value"])


def _section_names(path: Path) -> set[str]:
    with open(path, "rb") as f:
        return {s.name for s in ELFFile(f).iter_sections()}


def test_merged_strings_and_identification(tmp_path: Path, linkharness_shim: str) -> None:
    _, ours = _build(tmp_path, linkharness_shim, "gcc", ("-g",))
    with open(ours, "rb") as f:
        elf = ELFFile(f)
        strings = _section(elf, ".debug_str").data().split(b"\0")[:-1]
        comment = _section(elf, ".comment").data().split(b"\0")[:-1]
        non_alloc = [s for s in elf.iter_sections() if s.name.startswith(".debug")]
        last_load = max(p["p_offset"] + p["p_filesz"] for p in elf.iter_segments()
                        if p["p_type"] == "PT_LOAD")
    assert len(strings) == len(set(strings))  # one copy of each (both objects name "int")
    assert b"unsigned int" in strings
    assert comment.count(b"Linker: linkharness 0.1") == 1 and len(comment) == len(set(comment))
    assert all(s["sh_addr"] == 0 and s["sh_offset"] >= last_load for s in non_alloc)


INLINE_H = "inline int twice(int v) { return v * 2; }\n"
CXX_A = '#include "t.h"\nint a(int v) { return twice(v) + 1; }\n'
CXX_B = ('#include "t.h"\nint a(int);\nint b(int v) { return twice(v) + 2; }\n'
         "int main() { return a(1) + b(2) - 9; }\n")


@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_discarded_comdat_copy_gets_the_tombstone(dwarf: str, tmp_path: Path,
                                                  linkharness_shim: str) -> None:
    """Both objects define twice() in a COMDAT group; the second copy is discarded and its
    DW_AT_low_pc must read 0 (not the addend alone, which is some low address), while the
    kept one's equals the symbol.  DWARF 4's CU range list marks it (1, 1): 0 would end
    the list.  This is lld's rule; GNU ld instead points a discarded copy at the kept one
    when their sizes agree, so its output may name the kept address twice.  (lld-14's
    output and ours fail llvm-dwarfdump-14 --verify the same way on DWARF 4 here: the
    tombstoned subprogram's [0, size) lies outside its CU's ranges.)"""
    (tmp_path / "t.h").write_text(INLINE_H)
    (tmp_path / "a.cc").write_text(CXX_A)
    (tmp_path / "b.cc").write_text(CXX_B)
    _run("g++", dwarf, "-O0", "-fno-pie", "-c", "a.cc", "b.cc", cwd=tmp_path)
    _run("g++", "-no-pie", f"-B{linkharness_shim}", "a.o", "b.o", "-o", "ours", cwd=tmp_path)
    _run("g++", "-no-pie", "a.o", "b.o", "-o", "ref", cwd=tmp_path)
    assert _run(tmp_path / "ours") == ""
    kept = _symbol(tmp_path / "ours", "_Z5twicei")
    assert sorted(_subprogram_low_pcs(tmp_path / "ours", "twice")) == [0, kept]
    ref_kept = _symbol(tmp_path / "ref", "_Z5twicei")
    assert sorted(_subprogram_low_pcs(tmp_path / "ref", "twice")) in ([0, ref_kept],
                                                                      [ref_kept, ref_kept])
    assert "No errors." in _run(DWARFDUMP, "--verify", tmp_path / "ref")
    if dwarf == "-gdwarf-4":
        assert (1, 1) in _range_entries(tmp_path / "ours")
    else:
        assert "No errors." in _run(DWARFDUMP, "--verify", tmp_path / "ours")
    lines = _run("gdb", "-batch", "-nx", "-ex", "break twice", "-ex", "run", "-ex", "bt",
                 tmp_path / "ours", cwd=tmp_path)
    assert re.search(r"#0 +twice \(v=1\) at \S*t\.h:1", lines), lines


def _subprogram_low_pcs(path: Path, name: str) -> list[int]:
    with open(path, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        return [int(die.attributes["DW_AT_low_pc"].value)
                for cu in dwarf.iter_CUs() for die in cu.iter_DIEs()
                if die.tag == "DW_TAG_subprogram" and "DW_AT_low_pc" in die.attributes
                and _die_name(die) == name]


def _die_name(die: object) -> str:
    attrs = die.attributes  # type: ignore[attr-defined]
    if "DW_AT_name" in attrs:
        return bytes(attrs["DW_AT_name"].value).decode()
    if "DW_AT_specification" in attrs or "DW_AT_abstract_origin" in attrs:
        key = "DW_AT_specification" if "DW_AT_specification" in attrs else "DW_AT_abstract_origin"
        return _die_name(die.get_DIE_from_attribute(key))  # type: ignore[attr-defined]
    return ""


def _symbol(path: Path, name: str) -> int:
    with open(path, "rb") as f:
        return _symbol_value(ELFFile(f), name)


def _range_entries(path: Path) -> list[tuple[int, int]]:
    """The range lists' (begin, end) pairs below the image: tombstones and terminators."""
    with open(path, "rb") as f:
        data = _section(ELFFile(f), ".debug_ranges").data()
    words = [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), 8)]
    pairs = list(zip(words[::2], words[1::2]))
    return [p for p in pairs if p[0] < 0x1000]


TLS_C = "__thread int counter = 5;\nint bump(void) { return ++counter; }\n"
# i386 TLS code is refused (README, known limits): only the debug entry refers to it.
TLS_C_32 = "__thread int counter = 5;\nint bump(void) { return 6; }\n"
TLS_MAIN = "int bump(void);\nint main(void) { return bump() - 6; }\n"


@pytest.mark.parametrize("flags", [(), ("-m32",)])
def test_thread_local_location_is_its_offset_in_the_tls_block(
        flags: tuple[str, ...], tmp_path: Path, linkharness_shim: str) -> None:
    """DW_OP_const*u x@dtpoff; DW_OP_GNU_push_tls_address: x is the variable's offset in
    the TLS block (its .symtab value), as GNU ld writes it."""
    (tmp_path / "t.c").write_text(TLS_C_32 if flags else TLS_C)
    (tmp_path / "m.c").write_text(TLS_MAIN)
    _run("gcc", *flags, "-g", "-O0", "-fno-pie", "-c", "t.c", "m.c", cwd=tmp_path)
    for exe, extra in (("ours", (f"-B{linkharness_shim}",)), ("ref", ())):
        _run("gcc", *flags, "-no-pie", *extra, "t.o", "m.o", "-o", exe, cwd=tmp_path)
        with open(tmp_path / exe, "rb") as f:
            elf = ELFFile(f)
            tls_value = _symbol_value(elf, "counter")
            dwarf = elf.get_dwarf_info()
            loc = next(bytes(die.attributes["DW_AT_location"].value)
                       for cu in dwarf.iter_CUs() for die in cu.iter_DIEs()
                       if die.tag == "DW_TAG_variable" and _die_name(die) == "counter"
                       and "DW_AT_location" in die.attributes)
        width = 4 if flags else 8
        assert int.from_bytes(loc[1:1 + width], "little") == tls_value, (exe, loc.hex())
        assert _run_status(tmp_path / exe) == 0


def _run_status(path: Path) -> int:
    return subprocess.run([str(path)], check=False, timeout=30).returncode


def test_tools_present() -> None:
    """The suite needs gdb and llvm-dwarfdump (.ci/system-deps installs both)."""
    assert shutil.which("gdb") and shutil.which(DWARFDUMP)
