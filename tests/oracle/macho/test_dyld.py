"""The emulated dyld runs Mach-O programs linked by linkharness (modern and classic) and by
ld64.lld-14, lazily and with every pointer bound at load, and reports faults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.emulate import TraceEntry, libtrace, run

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
MODES = ("lazy", "now")


@pytest.mark.parametrize("bind", MODES)
@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_hello_modern(macho, flavour: str, bind: str) -> None:
    exe = macho("hello.c", flavour)
    result = run(exe, [str(exe), "one", "two"], bind=bind)
    assert result.faults == []
    assert result.stdout == b"hello\nargc=3 counter=3\ntwo\nbye\n"
    assert result.exit_code == 7
    symbols = [t.symbol for t in result.trace]
    assert symbols == ["atexit", "puts", "printf", "fprintf", "puts"]
    assert {t.library for t in result.trace} == {LIBSYSTEM}


@pytest.mark.parametrize("bind", MODES)
def test_hello_classic(macho, bind: str) -> None:
    result = run(macho("classic.c", "classic"), bind=bind)
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (b"hello\n", 3)
    assert [t.symbol for t in result.trace] == ["puts", "exit"]


@pytest.mark.parametrize("bind", MODES)
@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_libtrace_dylib(macho, flavour: str, bind: str) -> None:
    result = run(macho("libtrace.c", flavour), bind=bind)
    assert result.faults == []
    expected = (libtrace.call_result("lt1_f2_a2", (5, 7)), libtrace.call_result("lt1_f0_a0", ()),
                libtrace.data_word("lt1_d1", 1))
    assert result.stdout == " ".join(map(str, expected)).encode() + b"\n"
    assert result.trace[:2] == [TraceEntry("/usr/lib/libtrace1.dylib", "lt1_f2_a2", (5, 7)),
                                TraceEntry("/usr/lib/libtrace1.dylib", "lt1_f0_a0", ())]


@pytest.mark.parametrize("bind", MODES)
@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_data_binds_rebases_and_callbacks(macho, flavour: str, bind: str) -> None:
    exe = macho("kitchen.c", flavour)
    result = run(exe, [str(exe), "a"], {"K": "v"}, bind=bind)
    assert result.faults == []
    assert (result.stdout, result.stderr) == (b"13459\nlen=5 env=K=v same=1\n", b"err\n")
    assert result.exit_code == 2
    # clang -O1 turns sprintf(buf, "%s", s) into strcpy, fprintf(f, "err\\n") into fwrite
    assert [t.symbol for t in result.trace] == ["qsort", "malloc", "sprintf", "puts",
                                                "strcpy", "strlen", "printf", "fwrite",
                                                "free"]


@pytest.mark.parametrize("bind", MODES)
@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_initializers_and_destructor(macho, flavour: str, bind: str) -> None:
    exe = macho("ctors.c", flavour)
    result = run(exe, [str(exe), "x"], bind=bind)
    assert result.faults == []
    assert result.stdout == b"ctor 1 argc=2 x\nctor 2\nmain\ndtor\n"
    assert result.exit_code == 2
    assert result.trace[2].symbol == "__cxa_atexit"


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_assert_rtn_aborts(macho, flavour: str) -> None:
    exe = macho("assert.c", flavour)
    result = run(exe)
    assert (result.exit_code, result.stdout) == (134, b"start\n")
    assert result.stderr == b"Assertion failed: (argc == 2), function main, file as.c, line 5.\n"
    [fault] = result.faults
    assert fault.kind == "abort" and fault.symbol is not None and fault.symbol.startswith("_main")
    assert run(exe, [str(exe), "x"]).exit_code == 0


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_program_variables(macho, flavour: str) -> None:
    exe = macho("progvars.c", flavour)
    result = run(exe, [str(exe), "one"])
    assert (result.stdout, result.exit_code) == (f"{exe.name} 2 one\n".encode(), 0)


@pytest.mark.parametrize("flavour", ["lh", "lld"])
def test_syscalls_without_libsystem(macho, flavour: str) -> None:
    result = run(macho("syscalls.s", flavour))
    assert (result.stdout, result.exit_code, result.faults) == (b"hello\n", 42, [])
    assert result.trace == []


def test_null_dereference_faults_in_pagezero(macho) -> None:
    result = run(macho("null.c", "lh"))
    assert result.exit_code is None
    [fault] = result.faults
    assert fault.kind == "unmapped-read"
    assert "at 0x0" in fault.message
    assert fault.symbol is not None and fault.symbol.startswith("_main")


def test_cli_runs_macho(macho) -> None:
    exe = macho("hello.c", "lld")
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "run", "--bind", "now", "--json",
                           str(exe), "--", "x"], capture_output=True, check=False)
    assert done.returncode == 7
    record = json.loads(done.stdout)
    assert record["stdout"] == "hello\nargc=2 counter=3\nx\nbye\n"


def test_clang_driver_through_the_ld64_shim(macho, tmp_path: Path) -> None:
    """The documented workflow: clang links with linkharness through --ld-path, and the
    result runs under the emulated dyld."""
    shim = subprocess.run([sys.executable, "-m", "oracle.cli", "ld64-shim"], check=True,
                          capture_output=True, text=True).stdout.strip()
    source = macho("hello.c", "lh").parent / "hello.c"
    exe = tmp_path / "hello"
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-fuse-ld=lld",
                    f"--ld-path={shim}", str(source), "-o", str(exe)], check=True,
                   capture_output=True)
    for bind in MODES:
        result = run(exe, bind=bind)
        expected = b"hello\nargc=1 counter=3\n" + str(exe).encode() + b"\nbye\n"
        assert (result.stdout, result.exit_code) == (expected, 7)


def test_a_program_that_fails_to_load_gives_its_cpu_back_at_once(macho) -> None:
    """A load fault must not leave the run's CPU leased until a garbage collection: a
    campaign of mutated executables met one after another then held dozens of Unicorn
    CPUs (some 30 MB of address space each) and ran out of address space."""
    import gc

    from oracle.emulate import cpu as cpus

    exe = macho("hello.c", "lh")
    broken = bytearray(exe.read_bytes())
    broken[4:8] = (7).to_bytes(4, "little")  # cputype: not x86-64
    target = exe.with_name("broken")
    target.write_bytes(broken)
    assert run(target).faults[0].kind == "load"
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = len(cpus._LIVE)
        for _ in range(6):
            assert run(target).faults[0].kind == "load"
        assert len(cpus._LIVE) == before  # each run took the idle CPU and gave it back
    finally:
        if was_enabled:
            gc.enable()
