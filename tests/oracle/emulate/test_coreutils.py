"""Debian's coreutils under the emulator: each program, run by oracle.run with the same
arguments, environment and standard input as natively, prints the same stdout and
stderr and exits with the same status (usage errors, --help and --version included).
They import what GNU programs do of glibc: __progname and getopt's variables by COPY,
getopt_long, error, gettext, the C locale's wide characters, strtold, __fpending."""

from __future__ import annotations

import os
import subprocess

import pytest

from oracle import run

ENV = {"GREETING": "hi there", "B": "two"}
TEXT = b"pear 3\napple 10\nfig 2\napple 10\nkiwi 1\n"

# (program, arguments, standard input)
CASES: list[tuple[str, list[str], bytes]] = [
    ("true", [], b""),
    ("false", [], b""),
    ("echo", ["hello", "world"], b""),
    ("echo", ["-n", "no newline"], b""),
    ("echo", ["-e", "a\\tb\\x41\\0102\\n"], b""),
    ("basename", ["/usr/lib/libc.so.6"], b""),
    ("basename", ["-s", ".6", "-a", "/usr/lib/libc.so.6", "x/y/"], b""),
    ("dirname", ["/usr/lib/x", "plain"], b""),
    ("seq", ["3"], b""),
    ("seq", ["2", "5"], b""),
    ("seq", ["-s", ",", "1", "10"], b""),
    ("seq", ["-w", "1", "10"], b""),
    ("seq", ["1.5", "0.5", "3"], b""),
    ("seq", ["-f", "%.3f", "10", "-3", "1"], b""),
    ("seq", ["-Z"], b""),
    ("seq", ["abc"], b""),
    ("seq", ["--version"], b""),
    ("head", ["-n", "2"], TEXT),
    ("head", ["--li=1"], TEXT),
    ("head", ["--lines"], b""),
    ("wc", [], TEXT),
    ("wc", ["-l", "-c"], TEXT),
    ("cat", ["-n", "-A"], b"a\tb\nc\n"),
    ("tr", ["a-z", "A-Z"], TEXT),
    ("tr", ["-s", "p", "-d", "e"], TEXT),
    ("cut", ["-d", " ", "-f2"], TEXT),
    ("cut", ["-c", "2-3", "--complement"], TEXT),
    ("sort", [], TEXT),
    ("sort", ["-t", " ", "-k2,2n", "-u"], TEXT),
    ("sort", ["--r"], TEXT),
    ("uniq", ["-c"], b"a\na\nb\n"),
    ("printf", ["%5.2f|%e|%x|%c|%s\\n", "3.14159", "1234.5", "255", "z", "s"], b""),
    ("printf", ["%d\\n", "abc"], b""),
    ("expr", ["length", "hello", "+", "2"], b""),
    ("expr", ["1", "/", "0"], b""),
    ("env", [], b""),
    ("env", ["-u", "B"], b""),
    ("basename", ["--help"], b""),
    ("wc", ["--bogus"], b""),
    ("cat", ["--version"], b""),
    ("pwd", [], b""),
    ("uname", ["-s", "-m"], b""),
    ("sleep", ["0"], b""),
    ("tac", [], TEXT),
    ("nl", ["-ba"], TEXT),
    ("fold", ["-w", "5"], TEXT),
    ("od", ["-An", "-c"], TEXT),
    ("base64", [], TEXT),
    ("sha256sum", [], TEXT),
    ("md5sum", [], TEXT),
    ("cksum", [], TEXT),
    ("factor", ["360", "97"], b""),
    ("numfmt", ["--to=iec", "123456"], b""),
    ("paste", ["-s", "-d", ",", "-"], TEXT),
    ("expand", [], b"a\tb\n"),
    ("printenv", ["B"], b""),
    ("test", ["-n", "x"], b""),
]


@pytest.mark.parametrize("program,args,stdin", CASES,
                         ids=[" ".join([c[0], *c[1]]) for c in CASES])
def test_coreutils_program_matches_native(program: str, args: list[str], stdin: bytes) -> None:
    path = f"/usr/bin/{program}"
    # coreutils is Essential in Debian: every row's program is there
    assert os.path.exists(path), f"{path} is missing (Debian's coreutils package)"
    # (the emulated working directory is "/")
    expected = subprocess.run([path, *args], input=stdin, env=ENV, capture_output=True,
                              timeout=30, check=False, cwd="/")
    got = run(path, [path, *args], ENV, stdin=stdin)
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)
