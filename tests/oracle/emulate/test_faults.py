"""Guest misbehaviour and broken links must come back as faults naming the address and
symbol: memory faults, runaway loops, unimplemented imports, and a PLT whose lazy path
(PLT0's push of GOT[1], its jump through GOT[2], the pushed relocation index) is wrong."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle import run

Builder = Callable[..., Path]


def plt_offset(path: Path) -> int:
    with path.open("rb") as handle:
        section = ELFFile(handle).get_section_by_name(".plt")
        assert section is not None
        return int(section["sh_offset"])


def patched(path: Path, tmp_path: Path, at: int, change: Callable[[int], int]) -> Path:
    """A copy of `path` with the 32-bit little-endian field at file offset `at` changed."""
    data = bytearray(path.read_bytes())
    old = int.from_bytes(data[at : at + 4], "little", signed=True)
    data[at : at + 4] = (change(old) & 0xFFFFFFFF).to_bytes(4, "little")
    out = tmp_path / (path.name + "-patched")
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_plt0_pushing_the_wrong_got_word_is_a_resolver_fault(build: Builder, tmp_path: Path,
                                                             arch: str) -> None:
    path = build("hello.c", arch, "gnu")
    plt = plt_offset(path)
    assert path.read_bytes()[plt : plt + 2] == b"\xff\x35"  # push GOT+word
    broken = patched(path, tmp_path, plt + 2, lambda v: v + (8 if arch == "x86-64" else 4))
    lazy = run(broken, bind="lazy")
    assert lazy.exit_code is None
    assert [f.kind for f in lazy.faults] == ["bad-resolver"]
    assert "link map" in lazy.faults[0].message
    # The first lazy call: puts from main (x86-64 crt1 calls __libc_start_main through
    # the GOT), __libc_start_main from _start (i386 crt1 calls it through the PLT).
    first_caller = "main" if arch == "x86-64" else "_start"
    assert lazy.faults[0].symbol is not None
    assert lazy.faults[0].symbol.startswith(first_caller)
    # Eager binding never enters PLT0, so the same binary runs (also when asked for the
    # way glibc is asked, through the environment).
    assert run(broken, bind="now").exit_code == 5
    assert run(broken, env={"LD_BIND_NOW": "1"}).exit_code == 5


def test_plt0_jumping_through_got1_fetches_data(build: Builder, tmp_path: Path) -> None:
    path = build("hello.c", "x86-64", "gnu")
    plt = plt_offset(path)
    assert path.read_bytes()[plt + 6 : plt + 8] == b"\xff\x25"  # jmp *GOT+16
    broken = patched(path, tmp_path, plt + 8, lambda v: v - 8)
    result = run(broken)
    assert [f.kind for f in result.faults] == ["fetch-protected"]
    assert result.exit_code is None


@pytest.mark.parametrize("arch,delta,words", [("x86-64", 0x100, "outside"),
                                              ("i386", 4, "misaligned")])
def test_wrong_pushed_relocation_is_a_resolver_fault(build: Builder, tmp_path: Path,
                                                     arch: str, delta: int,
                                                     words: str) -> None:
    path = build("hello.c", arch, "gnu")
    plt1 = plt_offset(path) + 16
    assert path.read_bytes()[plt1 + 6] == 0x68  # push $index (x86-64) / $offset (i386)
    result = run(patched(path, tmp_path, plt1 + 7, lambda v: v + delta))
    assert [f.kind for f in result.faults] == ["bad-resolver"]
    assert words in result.faults[0].message


def test_runaway_loop_exhausts_the_budget(build: Builder) -> None:
    result = run(build("loop.c"), max_instructions=200_000)
    assert result.exit_code is None
    assert [f.kind for f in result.faults] == ["budget"]
    assert result.faults[0].symbol is not None and result.faults[0].symbol.startswith("main")
    assert result.instructions > 200_000


def test_runaway_loop_hits_the_wall_time_limit(build: Builder) -> None:
    result = run(build("loop.c", "i386"), max_instructions=10**15, timeout=0.3)
    assert [f.kind for f in result.faults] == ["timeout"]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_unimplemented_import_is_named(build: Builder, arch: str) -> None:
    result = run(build("unimpl.c", arch))
    assert result.exit_code is None
    assert [f.kind for f in result.faults] == ["unimplemented"]
    assert "getloadavg" in result.faults[0].message
    assert result.faults[0].symbol is not None and result.faults[0].symbol.startswith("main")
    assert [t.symbol for t in result.trace] == ["__libc_start_main", "puts"]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("mode,kind", [("n", "unmapped-read"), ("w", "write-protected"),
                                       ("x", "fetch-protected"), ("j", "unmapped-fetch")])
def test_memory_faults(build: Builder, arch: str, mode: str, kind: str) -> None:
    path = build("faults.c", arch)
    result = run(path, [str(path), mode])
    assert result.exit_code is None
    assert [f.kind for f in result.faults] == [kind]
    fault = result.faults[0]
    if kind in ("unmapped-read", "write-protected"):
        assert fault.symbol is not None and fault.symbol.startswith("main")
    if kind == "fetch-protected":
        assert fault.symbol == "message"


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_bad_pointer_handed_to_libc_names_the_call_site(build: Builder, arch: str) -> None:
    path = build("faults.c", arch)
    result = run(path, [str(path), "s"])
    assert result.exit_code is None
    assert [f.kind for f in result.faults] == ["library"]
    fault = result.faults[0]
    assert fault.symbol is not None and fault.symbol.startswith("main")
    assert "strlen" in fault.message and "0x10" in fault.message


def test_abort_exits_134_with_a_fault(build: Builder) -> None:
    path = build("faults.c")
    result = run(path, [str(path), "a"])
    assert result.exit_code == 134
    assert result.stdout == b"aborting\n"
    assert [f.kind for f in result.faults] == ["abort"]


@pytest.mark.parametrize("arch,source", [("x86-64", "nolibc64.s"), ("i386", "nolibc32.s")])
def test_static_program_without_libc(build: Builder, arch: str, source: str) -> None:
    path = build(source, arch, "gnu", ("-nostdlib", "-static"))
    result = run(path)
    assert (result.exit_code, result.stdout, result.faults, result.trace) == (42, b"nolibc", [],
                                                                             [])
    assert result.instructions is None  # no budget: not counted
    counted = run(path, max_instructions=1000)
    assert (counted.exit_code, counted.stdout, counted.faults) == (42, b"nolibc", [])
    assert counted.instructions == 8  # through the second syscall: exact, not the slice
    native = subprocess.run([str(path)], capture_output=True, check=False)
    assert (native.returncode, native.stdout) == (42, b"nolibc")


def test_not_an_executable_is_a_fault_not_an_exception(tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_bytes(b"#!/bin/sh\n")
    macho = tmp_path / "macho"
    macho.write_bytes(b"\xcf\xfa\xed\xfe" + bytes(60))
    for path in (text, macho):
        result = run(path)
        assert result.exit_code is None and [f.kind for f in result.faults] == ["load"]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_memory_cap_bounds_the_heap(build: Builder, arch: str) -> None:
    path = build("heap.c", arch)
    capped = run(path, memory_cap=1 << 20)
    assert (capped.stdout, capped.exit_code, capped.faults) == (b"16 blocks, last byte 15\n", 16,
                                                                [])
    roomy = run(path, memory_cap=128 << 20)
    # 999 & 0xff is 231, -25 as a signed char
    assert roomy.stdout == b"1000 blocks, last byte -25\n" and roomy.exit_code == 1000 & 0xFF
