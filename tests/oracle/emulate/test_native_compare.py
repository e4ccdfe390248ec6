"""Real programs built by gcc and linked by GNU ld (lazy, -z now, PIE), lld and mold,
for x86-64 and i386: the emulator must print what the native run prints and exit with
the same status, through the lazy PLT path and with everything bound up front."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle import run

Builder = Callable[..., Path]
Native = Callable[..., subprocess.CompletedProcess[bytes]]

ARCHES = ["x86-64", "i386"]
ENV = {"GREETING": "hi there", "B": "two"}
CASES = [
    ("hello.c", ["alpha", "beta gamma"]),
    ("order.c", []),
    ("streams.c", []),
    ("fnptr.c", []),
    ("sort.c", []),
    ("auxv.c", ["one", "two"]),
    ("runtime.c", []),
    ("tls.c", []),
    ("scan.c", []),
]


def compare(native: Native, path: Path, args: list[str], bind: str) -> None:
    expected = native(path, args, ENV)
    got = run(path, [str(path), *args], ENV, bind=bind)
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("source,args", CASES)
@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_gnu_ld_matches_native(build: Builder, native: Native, arch: str, source: str, args: list[str],
                               bind: str) -> None:
    compare(native, build(source, arch, "gnu"), args, bind)


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("flavour", ["gnu-now", "gnu-pie", "lld", "lld-pie", "mold", "gold",
                                     "ibt"])
@pytest.mark.parametrize("source,args", CASES)
def test_other_links_match_native(build: Builder, native: Native, arch: str, flavour: str,
                                  source: str, args: list[str]) -> None:
    compare(native, build(source, arch, flavour), args, "lazy")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("source,args",
                         [c for c in CASES if c[0] not in ("auxv.c", "runtime.c")])
def test_static_glibc_programs_match_native(build: Builder, native: Native, arch: str,
                                            source: str, args: list[str]) -> None:
    """Static executables: no ld.so, glibc itself runs in the guest on system calls.
    (Not runtime.c: a static raise() needs the kernel's signal delivery, not emulated.)"""
    compare(native, build(source, arch, "static"), args, "lazy")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("flavour", ["static-pie", "static-pie-mold"])
@pytest.mark.parametrize("source,args", [("hello.c", ["alpha"]), ("tls.c", [])])
def test_static_pies_relocate_themselves_as_natively(build: Builder, native: Native, arch: str,
                                                     flavour: str, source: str,
                                                     args: list[str]) -> None:
    """gcc -static-pie: PT_DYNAMIC without PT_INTERP.  The kernel binds nothing; glibc's
    _dl_relocate_static_pie relocates the program and seals its RELRO (the emulator once
    sealed it first, as ld.so would: a write-protection fault in __libc_start_main)."""
    compare(native, build(source, arch, flavour), args, "lazy")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("flavour", ["gnu-pie", "relr"])
@pytest.mark.parametrize("source,args", [("relative_table.c", []), ("hello.c", ["x"])])
def test_relative_relocations_in_bulk_and_relr_match_native(
        build: Builder, native: Native, arch: str, flavour: str, source: str,
        args: list[str]) -> None:
    """Thousands of RELATIVE rows (the emulated ld.so applies them as arrays: RELA on
    x86-64, REL on i386) and DT_RELR tables (GNU ld 2.40's -z pack-relative-relocs; the
    emulator once ran none of them: a fetch from an unrelocated pointer)."""
    compare(native, build(source, arch, flavour), args, "lazy")


@pytest.mark.parametrize("arch", ARCHES)
def test_relr_without_its_glibc_version_is_refused_as_glibc_refuses_it(
        build: Builder, native: Native, arch: str) -> None:
    """mold 1.10's -z pack-relative-relocs writes DT_RELR without a GLIBC_ABI_DT_RELR
    version need, and glibc 2.36 will not run it (exit 127); nor will the emulated ld.so."""
    path = build("hello.c", arch, "relr-mold")
    expected = native(path, [], ENV)
    assert expected.returncode == 127
    assert b"DT_RELR without GLIBC_ABI_DT_RELR dependency" in expected.stderr
    got = run(path, [str(path)], ENV)
    assert [(f.kind, f.message) for f in got.faults] == [
        ("load", f"{path}: DT_RELR without GLIBC_ABI_DT_RELR dependency")]


@pytest.mark.parametrize("arch", ARCHES)
def test_stack_protector_canary_through_the_thread_pointer(build: Builder, native: Native,
                                                           arch: str) -> None:
    path = build("hello.c", arch, "gnu", ("-fstack-protector-all",))
    compare(native, path, ["x"], "lazy")


@pytest.mark.parametrize("arch", ARCHES)
def test_reading_stdin_matches_native(build: Builder, arch: str) -> None:
    path = build("input.c", arch)
    data = b"hello world\nshort\nthird line is long\nABCDEFGH the rest\n"
    expected = subprocess.run([str(path)], input=data, capture_output=True, check=False)
    got = run(path, stdin=data)
    assert got.faults == []
    assert (got.stdout, got.exit_code) == (expected.stdout, expected.returncode)
