"""Position-independent code under the emulated ld.so: load bases drawn from a seed (so an
unrebased pointer points nowhere), default/protected/hidden visibility against an
executable that interposes, and the DTV that __tls_get_addr reads."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle import run
from oracle.reference import _gcc_shim_dir

PROGRAMS = Path(__file__).parent / "programs" / "shared"
Native = Callable[..., subprocess.CompletedProcess[bytes]]
LINKERS = ("bfd", "gold", "lld", "mold")


def _gcc(*args: str) -> None:
    subprocess.run(["gcc", *args], check=True, capture_output=True)


def _library_and_main(d: Path, arch: str, linker: str, lib: str, main: str,
                      soname: str) -> Path:
    m32 = ["-m32"] if arch == "i386" else []
    _gcc(*m32, "-O1", "-shared", "-fPIC", f"-B{_gcc_shim_dir()}/", f"-fuse-ld={linker}", f"-Wl,-soname,{soname}",
         "-o", str(d / soname), str(PROGRAMS / lib))
    _gcc(*m32, "-O1", "-pie", "-fpie", "-o", str(d / "main"), str(PROGRAMS / main), "-L",
         str(d), f"-l{soname[3:-3]}")
    return d / "main"


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("linker", sorted(LINKERS))
def test_visibility_and_interposition_match_native(tmp_path: Path, native: Native,
                                                   arch: str, linker: str) -> None:
    exe = _library_and_main(tmp_path, arch, linker, "libvis.c", "use_vis.c", "libvis.so")
    expected = native(exe, ld_path=str(tmp_path))
    assert expected.stdout == b"773 723 24\n"  # what the program's comments work out
    for seed, bind in ((1, "lazy"), (2, "now")):
        result = run(exe, bind=bind, seed=seed)
        assert result.faults == []
        assert result.stdout == expected.stdout


def _crash_address(exe: Path, seed: int | None) -> tuple[int, int | None]:
    result = run(exe, [str(exe), "crash"], seed=seed)
    assert [f.kind for f in result.faults] == ["unmapped-read"]
    return result.faults[0].address, result.seed


def test_bases_follow_the_seed(tmp_path: Path) -> None:
    exe = _library_and_main(tmp_path, "x86-64", "bfd", "lib.c", "main.c", "libdemo.so")
    first, seed = _crash_address(exe, 7)
    assert seed == 7
    assert _crash_address(exe, 7)[0] == first  # reproducible
    others = {_crash_address(exe, s)[0] for s in (8, 9, 10)}
    assert first not in others and len(others) == 3  # and moved by every other seed
    address, drawn = _crash_address(exe, None)
    assert drawn is not None and _crash_address(exe, drawn)[0] == address


def _drop_relocations(path: Path, section: str, rtypes: set[int]) -> int:
    """Make every relocation of those types in `section` R_*_NONE; returns how many."""
    data = bytearray(path.read_bytes())
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        sec = elf.get_section_by_name(section)
        assert sec is not None
        wide = elf.elfclass == 64
        size = sec["sh_entsize"]
        dropped = 0
        for n in range(sec["sh_size"] // size):
            at = sec["sh_offset"] + n * size + (8 if wide else 4)
            if wide:
                (info,) = struct.unpack_from("<Q", data, at)
                if info & 0xFFFFFFFF in rtypes:
                    struct.pack_into("<Q", data, at, info & ~0xFFFFFFFF)
                    dropped += 1
            else:
                (info,) = struct.unpack_from("<I", data, at)
                if info & 0xFF in rtypes:
                    struct.pack_into("<I", data, at, info & ~0xFF)
                    dropped += 1
    path.write_bytes(bytes(data))
    return dropped


def test_a_missing_relative_faults_at_every_base(tmp_path: Path) -> None:
    src = tmp_path / "p.c"
    src.write_text("static int f(void) { return 42; }\nint (*p)(void) = f;\n"
                   "int main(void) { return p(); }\n")
    exe = tmp_path / "p"
    _gcc("-O1", "-pie", "-fpie", "-o", str(exe), str(src))
    assert run(exe, seed=3).exit_code == 42
    assert _drop_relocations(exe, ".rela.dyn", {8}) >= 1  # R_X86_64_RELATIVE
    for seed in (3, 4, 5):
        result = run(exe, seed=seed)
        assert result.exit_code != 42 and result.faults, seed


def test_tls_get_addr_reads_the_dtv(tmp_path: Path, native: Native) -> None:
    _gcc("-O1", "-shared", "-fPIC", "-Wl,-soname,libtls.so", "-o", str(tmp_path / "libtls.so"),
         str(PROGRAMS / "libtls.c"))
    exe = tmp_path / "main"
    _gcc("-O1", "-pie", "-fpie", "-o", str(exe), str(PROGRAMS / "use_tls.c"), "-L",
         str(tmp_path), "-ltls")
    good = run(exe, seed=1)
    assert good.faults == [] and good.stdout == native(exe, ld_path=str(tmp_path)).stdout
    # Without its DTPMOD64 relocations the library's tls_index names module 0.
    assert _drop_relocations(tmp_path / "libtls.so", ".rela.dyn", {16}) >= 1
    broken = run(exe, seed=1)
    assert any("not in the DTV" in f.message for f in broken.faults), broken.faults


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_alignment_past_a_page_holds_at_every_base(tmp_path: Path, native: Native,
                                                   arch: str) -> None:
    """Linux and glibc load an ET_DYN at a multiple of its largest p_align: data aligned to
    64 KiB stays aligned, in the executable and in a library, whatever the seed."""
    m32 = ["-m32"] if arch == "i386" else []
    lib_src, main_src = tmp_path / "a.c", tmp_path / "m.c"
    lib_src.write_text("__attribute__((aligned(65536))) int lib_word = 1;\n"
                       "unsigned long lib_addr(void) { return (unsigned long)&lib_word; }\n")
    main_src.write_text("#include <stdio.h>\nunsigned long lib_addr(void);\n"
                        "__attribute__((aligned(65536))) int exe_word = 2;\n"
                        "int main(void) { printf(\"%lu %lu\\n\", lib_addr() % 65536,\n"
                        "  (unsigned long)&exe_word % 65536); return 0; }\n")
    _gcc(*m32, "-shared", "-fPIC", "-Wl,-soname,libal.so", "-o", str(tmp_path / "libal.so"),
         str(lib_src))
    exe = tmp_path / "main"
    _gcc(*m32, "-pie", "-fpie", "-o", str(exe), str(main_src), "-L", str(tmp_path), "-lal")
    assert native(exe, ld_path=str(tmp_path)).stdout == b"0 0\n"
    for seed in (1, 2, 3):
        assert run(exe, seed=seed).stdout == b"0 0\n"
