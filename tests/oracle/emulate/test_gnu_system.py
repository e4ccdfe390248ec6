"""What GNU programs ask of the system (tests/oracle/emulate/programs/gnu_system.c), as
the emulator answers for its machine: one CPU, the memory cap as the address-space limit
and RAM, Linux on "localhost", stdin a pipe holding what the run was given, no terminal,
no file-system statistics.  The native run (host-dependent values) must succeed too."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle import run

Builder = Callable[..., Path]


@pytest.mark.parametrize("arch,machine", [("x86-64", "x86_64"), ("i386", "i686")])
def test_system_queries_answer_for_the_emulated_machine(build: Builder, arch: str,
                                                        machine: str) -> None:
    path = build("gnu_system.c", arch, "gnu-pie")
    native = subprocess.run([str(path)], input=b"12345", capture_output=True, timeout=30,
                            check=False)
    assert native.returncode == 0, native.stderr
    got = run(path, [str(path)], {}, stdin=b"12345")
    assert got.faults == []
    assert got.stdout.decode().splitlines() == [
        "affinity 0 cpus=1 cpu0=1",
        "rlimit as 0 finite=1",
        "rlimit cpu 0 infinite=1",
        "rlimit bad -1 errno=22",
        "sysinfo 0 ram=1 unit=1 procs=1",
        f"uname 0 Linux localhost {machine}",
        "gethostname 0 localhost",
        "gethostname short -1 errno=36",
        "FIONREAD 0 5",
        "TIOCGWINSZ -1 errno=25",
        "ttyname (null) errno=25",
        "statfs -1 errno=38",
        "aligned 1 mincore 0 vec=1",
        "nanosleep 0",
    ]
