"""libc functions that held-out real programs (tests/real_suites/heldout_programs.py: zlib,
Lua) called and the emulator lacked: each held to a native run of a program of our own."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.emulate.run import run

Builder = Callable[..., Path]


def same_as_native(path: Path, cwd: Path, args: tuple[str, ...] = (), stdin: bytes = b"") -> bytes:
    """Run natively in an empty CWD and under the emulator (empty file system), require
    the same stdout, stderr and exit status, and return the stdout."""
    native = subprocess.run([str(path), *args], cwd=cwd, capture_output=True, env={},
                            input=stdin, timeout=30, check=False)
    result = run(path, [str(path), *args], stdin=stdin)
    assert result.faults == []
    assert (result.exit_code, result.stdout, result.stderr) == \
        (native.returncode, native.stdout, native.stderr)
    return result.stdout


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_descriptor_io_matches_a_native_run(build: Builder, tmp_path: Path, arch: str) -> None:
    out = same_as_native(build("posixio.c", arch), tmp_path)
    assert b"text: hello, DESCriptors\n" in out and b"open new: 3 errno=0" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_time_and_dates_match_a_native_run_in_utc(build: Builder, tmp_path: Path,
                                                   arch: str) -> None:
    out = same_as_native(build("clock.c", arch), tmp_path)
    assert b"gmtime_r: 2009-02-13 23:31:30 wday=5 yday=43 dst=0 zone=GMT" in out
    assert b"time sane: 1 1" in out and b"clock sane: 1" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_the_c_locale_matches_a_native_run(build: Builder, tmp_path: Path, arch: str) -> None:
    out = same_as_native(build("locale.c", arch), tmp_path)
    assert b"from environment: C\n" in out and b"decimal_point=[.]" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_inline_stdio_and_64_bit_seeks_match_a_native_run(build: Builder, tmp_path: Path,
                                                          arch: str) -> None:
    out = same_as_native(build("unlocked.c", arch), tmp_path, stdin=b"held-out\n" * 50)
    assert b"stdin: 450 bytes" in out and b"put through putc_unlocked\n" in out
    assert b"ftello64: 10\n" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_frexp_ldexp_modf_and_sigsets_match_a_native_run(build: Builder, tmp_path: Path,
                                                         arch: str) -> None:
    out = same_as_native(build("mathsig.c", arch), tmp_path)
    assert b"0x1p+0: frexp 0x1p-1 1," in out and b"sigaddset 0 0 1" in out
    assert b"bad signal: -1 errno=22" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_the_floating_point_state_at_start_is_linux_s(build: Builder, tmp_path: Path,
                                                      arch: str) -> None:
    out = same_as_native(build("fpu.c", arch), tmp_path)
    assert b"x87 control 0x37f, mxcsr 0x1f80\n" in out
    assert b"1/3 = 0x1.5555555555555p-2" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("offsets", [(), ("-D_FILE_OFFSET_BITS=64",)])
def test_stat_and_its_family_match_a_native_run(build: Builder, tmp_path: Path, arch: str,
                                                offsets: tuple[str, ...]) -> None:
    out = same_as_native(build("stat.c", arch, extra=offsets), tmp_path)
    assert b"stat file: reg=1 dir=0 fifo=0 owner-rw=1 size=10 nlink=1" in out
    assert b"stat cwd: reg=0 dir=1" in out and b"fstat stdout: reg=0 dir=0 fifo=1" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_access_getcwd_and_the_user_entry_match_a_native_run(build: Builder, tmp_path: Path,
                                                             arch: str) -> None:
    out = same_as_native(build("userenv.c", arch), tmp_path)
    assert b"missing -1 errno=2\n" in out and b"getcwd tiny: 1 errno=34\n" in out
    assert b"getpwuid: 1 uid=1 dir-absolute=1 name-set=1 shell-set=1\n" in out
    assert b"sysconf: page 4096 = 4096, clock ticks 100, processors>=1 1, open max>=256 1\n" \
        in out and b"sysconf bad: -1 errno=22\n" in out


def test_libsystem_lends_no_linux_shaped_function() -> None:
    """open's flags, struct stat, sigset_t and struct passwd differ on Darwin: the emulated
    libSystem leaves those glibc implementations out (unimplemented) or serves its own
    (open, which translates BSD's O_* flags first), and lends the rest."""
    from typing import cast

    from oracle.emulate.macho.libraries import LibSystem
    from oracle.emulate.process import Process

    nobody = cast(Process, None)  # these names are settled before any process is asked
    for word in (8, 4):
        system = LibSystem("/usr/lib/libSystem.B.dylib", word)
        for name in ("_stat", "_fstat", "_sigemptyset", "_getpwuid"):
            assert system.resolve(name, nobody) is None, name
        darwin_open = system.resolve("_open", nobody)
        assert darwin_open is not None
        assert darwin_open.export.impl.__module__ == "oracle.emulate.macho.libsystem_posix"
        for name in ("_time", "_strftime", "_lseek", "_access", "_localeconv"):
            assert system.resolve(name, nobody) is not None, name


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("offsets", [(), ("-D_FILE_OFFSET_BITS=64",)])
def test_fcntl_positioned_io_and_truncation_match_a_native_run(
        build: Builder, tmp_path: Path, arch: str, offsets: tuple[str, ...]) -> None:
    out = same_as_native(build("fileops.c", arch, extra=offsets), tmp_path)
    assert b"pread text: page-two\n" in out and b"size grown: 8192 errno=0\n" in out
    assert b"same inode: 1, size 8192\n" in out and b"F_DUPFD: 10 errno=0\n" in out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_failed_writes_return_minus_one_with_errno(build: Builder, tmp_path: Path,
                                                   arch: str) -> None:
    exe = build("writeerrors.c", arch)
    out = same_as_native(exe, tmp_path)
    assert b"write read-only: -1 errno=9\n" in out and b"write closed: -1 errno=9\n" in out
    full = run(exe, [str(exe), "full"])  # past MAX_FILE_BYTES: ENOSPC, the emulator's own
    assert full.faults == []
    assert b"pwrite past the end of the file system: -1 errno=28\n" in full.stdout
    assert b"write past the end of the file system: -1 errno=28\n" in full.stdout
