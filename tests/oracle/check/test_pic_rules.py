"""The ET_DYN rules (oracle/check/rules/pic.py) and the warning severity: silent on the
shared libraries and PIEs GNU ld, gold, lld, mold and linkharness make of one program, on
both targets, lazy and -z now; each fires on a mutation of a correct file; a text relocation asked for
and a library without -soname are warnings, which the CLI prints and passes."""

from __future__ import annotations

import io
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from oracle.check import check
from oracle.check.cli import main as check_main

PROGRAMS = Path(__file__).parent / "programs"
LINKERS = ("bfd", "gold", "lld", "mold", "linkharness")
ARCHES = ("x86-64", "i386")
DT_FLAGS, DF_STATIC_TLS = 30, 0x10


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, ld_flags: Callable[[str], list[str]]
            ) -> dict[tuple[str, str, str], tuple[Path, Path]]:
    """(linker, arch, binding) -> (libpic.so, its PIE)."""
    built = {}
    for arch in ARCHES:
        m32 = ["-m32"] if arch == "i386" else []
        for linker in LINKERS:
            for binding in ("lazy", "now"):
                d = tmp_path_factory.mktemp(f"pic-{linker}-{arch}-{binding}")
                # -z relro: GNU ld, lld and mold make it by default, linkharness when asked
                now = ["-Wl,-z,relro", *(["-Wl,-z,now"] if binding == "now" else [])]
                lib, exe = d / "libpic.so", d / "main"
                subprocess.run(["gcc", *m32, "-O1", "-shared", "-fPIC", *ld_flags(linker), *now,
                                "-Wl,-soname,libpic.so", "-o", str(lib),
                                str(PROGRAMS / "pic_lib.c")], check=True, capture_output=True)
                subprocess.run(["gcc", *m32, "-O1", "-pie", "-fPIE", *ld_flags(linker), *now,
                                "-o", str(exe), str(PROGRAMS / "pic_main.c"), "-L", str(d),
                                "-lpic"], check=True, capture_output=True)
                built[linker, arch, binding] = (lib, exe)
    return built


def _keys() -> list[tuple[str, str, str]]:
    return [(linker, arch, b) for linker in LINKERS for arch in ARCHES for b in ("lazy", "now")]


@pytest.mark.parametrize("key", _keys(), ids="-".join)
def test_silent_on_every_linkers_library_and_pie(
        outputs: dict[tuple[str, str, str], tuple[Path, Path]], key: tuple[str, str, str]) -> None:
    lib, exe = outputs[key]
    assert [str(v) for v in check(lib)] == []
    assert [str(v) for v in check(exe)] == []
    out = subprocess.run([str(exe)], env={"LD_LIBRARY_PATH": str(lib.parent)},
                         capture_output=True, check=True)
    assert out.stdout == b"50\n"  # 3 + 10 + 20 + 6 + 7 + 1 + 2 + 1: the files are right


def _rules(data: bytes) -> set[str]:
    return {v.rule for v in check(data)}


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def _library(outputs: dict[tuple[str, str, str], tuple[Path, Path]], linker: str = "lld",
             arch: str = "x86-64") -> bytes:
    return outputs[linker, arch, "lazy"][0].read_bytes()


@pytest.mark.parametrize("linker", LINKERS)
def test_relro_ending_before_got_is_reported(
        outputs: dict[tuple[str, str, str], tuple[Path, Path]], linker: str) -> None:
    data = bytearray(_library(outputs, linker))
    elf = _elf(bytes(data))
    got = elf.get_section_by_name(".got")
    assert got is not None
    for n, seg in enumerate(elf.iter_segments()):
        if seg["p_type"] == "PT_GNU_RELRO":
            at = elf["e_phoff"] + n * elf["e_phentsize"]
            memsz = got["sh_addr"] - seg["p_vaddr"]  # ends where .got starts
            struct.pack_into("<QQ", data, at + 32, memsz, memsz)  # p_filesz, p_memsz
    assert "ELF-PIC-RELRO-COVERS" in _rules(bytes(data))


def _dynamic_relocations(data: bytes) -> list[tuple[int, int, int]]:
    """(file offset of r_info, type, symbol) of each .rela.dyn entry (x86-64)."""
    sec = _elf(data).get_section_by_name(".rela.dyn")
    assert sec is not None
    out = []
    for at in range(sec["sh_offset"], sec["sh_offset"] + sec["sh_size"], 24):
        (info,) = struct.unpack_from("<Q", data, at + 8)
        out.append((at + 8, info & 0xFFFFFFFF, info >> 32))
    return out


def test_glob_dat_without_a_symbol_is_reported(
        outputs: dict[tuple[str, str, str], tuple[Path, Path]]) -> None:
    data = bytearray(_library(outputs))
    at, rtype, _ = next(r for r in _dynamic_relocations(bytes(data)) if r[1] == 6)
    struct.pack_into("<Q", data, at, rtype)  # GLOB_DAT against symbol 0
    assert "ELF-PIC-SYMBOLIC-RELOC" in _rules(bytes(data))


def test_a_hidden_global_in_dynsym_is_reported(
        outputs: dict[tuple[str, str, str], tuple[Path, Path]]) -> None:
    data = bytearray(_library(outputs))
    dynsym = _elf(bytes(data)).get_section_by_name(".dynsym")
    assert dynsym is not None
    index = next(i for i, s in enumerate(dynsym.iter_symbols()) if s.name == "pl_fn")  # type: ignore[attr-defined]
    data[dynsym["sh_offset"] + 24 * index + 5] = 2  # st_other: STV_HIDDEN
    assert "ELF-PIC-HIDDEN-LOCAL" in _rules(bytes(data))


def _dynamic_entry(data: bytes, tag: int) -> int:
    dyn = next(s for s in _elf(data).iter_sections() if isinstance(s, DynamicSection))
    for at in range(dyn["sh_offset"], dyn["sh_offset"] + dyn["sh_size"], 16):
        if struct.unpack_from("<q", data, at)[0] == tag:
            return at + 8
    raise AssertionError(f"no dynamic tag {tag}")


@pytest.mark.parametrize("linker", LINKERS)
def test_initial_exec_without_df_static_tls_is_reported(
        outputs: dict[tuple[str, str, str], tuple[Path, Path]], linker: str) -> None:
    data = bytearray(_library(outputs, linker))
    at = _dynamic_entry(bytes(data), DT_FLAGS)
    (flags,) = struct.unpack_from("<Q", data, at)
    assert flags & DF_STATIC_TLS
    struct.pack_into("<Q", data, at, flags & ~DF_STATIC_TLS)
    assert "ELF-PIC-STATIC-TLS" in _rules(bytes(data))


def test_warnings_are_printed_and_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    src = tmp_path / "t.c"
    src.write_text("int t_value = 3;\nint t_get(void) { return t_value; }\n")
    lib = tmp_path / "libt.so"  # i386, not PIC, no -soname: DT_TEXTREL and no DT_SONAME
    subprocess.run(["gcc", "-m32", "-fno-pic", "-shared", "-o", str(lib), str(src)],
                   check=True, capture_output=True)
    found = check(lib)
    assert {v.rule for v in found} == {"ELF-REL-NO-TEXTREL", "ELF-PIC-SONAME"}
    assert {v.severity for v in found} == {"warning"}
    assert check_main([str(lib)]) == 0
    printed = capsys.readouterr().out
    assert "warning: ELF-PIC-SONAME" in printed and "ok:" in printed
