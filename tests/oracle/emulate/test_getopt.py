"""GNU getopt under the emulator against glibc itself: a small program prints every
return value, optind/optarg/optopt, the long index and argv as getopt rearranged it;
built by gcc for x86-64 and i386, run natively and by oracle.run, the outputs (stdout
and the error messages on stderr) must be the same."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import run

Builder = Callable[..., Path]
Native = Callable[..., subprocess.CompletedProcess[bytes]]

# (environment, arguments): permutation, "--", clusters, optional and required arguments,
# abbreviations (ambiguous or not), "=value", flag/val, -W, the three orderings, a
# leading ':' and opterr = 0, getopt_long_only, and a byte past ASCII as an option
CASES: list[tuple[dict[str, str], list[bytes]]] = [
    ({}, [b"-a", b"one", b"-b", b"x", b"two", b"--", b"-c", b"three"]),
    ({}, [b"--alpha", b"--be=3", b"--gamma", b"--gamma=5", b"f", b"--verbose", b"g"]),
    ({}, [b"--ver", b"--vers", b"--al", b"--verbose=1", b"x"]),
    ({}, [b"-z", b"file", b"-b"]),
    ({}, [b"--nope", b"--alpha=1", b"--beta"]),
    ({}, [b"-cfoo", b"-c", b"x", b"-abval", b"-", b"-ab", b"y"]),
    ({}, [b"-W", b"alpha", b"-Wbeta=2", b"-W"]),
    ({"POSIXLY_CORRECT": "1"}, [b"-a", b"x", b"-a"]),
    ({"GETOPT_SPEC": "+ab:"}, [b"-a", b"x", b"-b", b"y"]),
    ({"GETOPT_SPEC": "-ab:"}, [b"x", b"-a", b"y", b"--", b"z"]),
    ({"GETOPT_SPEC": ":ab:"}, [b"-q", b"-a", b"--beta", b"--nope", b"-b"]),
    ({"GETOPT_QUIET": "1"}, [b"-q", b"--ver", b"--beta"]),
    ({"GETOPT_MODE": "long_only"}, [b"-alpha", b"-a", b"-bet", b"4", b"-ver", b"-z", b"x"]),
    ({"GETOPT_MODE": "short", "GETOPT_SPEC": "ab:"}, [b"x", b"-ab", b"-", b"-\xe9", b"-b"]),
    ({}, [b"--", b"-a"]),
    ({}, [b"a", b"b", b"--beta", b"c", b"d", b"-a"]),
]


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("env,args", CASES)
def test_getopt_matches_glibc(build: Builder, arch: str, env: dict[str, str],
                              args: list[bytes]) -> None:
    path = build("getopt_gnu.c", arch, "gnu-pie")
    expected = subprocess.run([str(path), *args], env=env, capture_output=True, timeout=30,
                              check=False)
    got = run(path, [str(path).encode(), *args], env)
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_posix_getopt_stops_at_the_first_non_option(build: Builder, arch: str) -> None:
    path = build("getopt_posix.c", arch, "gnu-pie", ("-std=c99", "-D_POSIX_C_SOURCE=200809L"))
    args = [b"-a", b"x", b"-b", b"y", b"-q"]
    expected = subprocess.run([str(path), *args], env={}, capture_output=True, timeout=30,
                              check=False)
    assert b"end optind=2 " in expected.stdout
    got = run(path, [str(path).encode(), *args], {})
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)


# Argument vectors drawn from tokens that reach every branch of glibc's getopt: options
# with and without their arguments, clusters, abbreviations (exact, unique, ambiguous,
# the same option twice), "=value", "--", "-", -W, unknown ones and plain words.
TOKENS = [b"-a", b"-b", b"-bX", b"-ab", b"-c", b"-cY", b"-z", b"-W", b"-Walpha", b"--alpha",
          b"--al", b"--a", b"--be=1", b"--beta", b"--gamma", b"--gamma=2", b"--ver",
          b"--verb", b"--verbose=3", b"--nope", b"--", b"-", b"word", b"other", b"-:",
          b"-alpha", b"-ver", b"--v"]
MODES = [{}, {"GETOPT_MODE": "long_only"}, {"GETOPT_MODE": "short", "GETOPT_SPEC": "ab:c::"},
         {"GETOPT_SPEC": "+ab:c::"}, {"GETOPT_SPEC": "-ab:c::"}, {"GETOPT_SPEC": ":ab:c::"},
         {"POSIXLY_CORRECT": "1"}, {"GETOPT_QUIET": "1"}]


@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(mode=st.sampled_from(MODES), args=st.lists(st.sampled_from(TOKENS), max_size=7))
def test_drawn_argument_vectors_match_glibc(build: Builder, mode: dict[str, str],
                                            args: list[bytes]) -> None:
    path = build("getopt_gnu.c", "x86-64", "gnu-pie")
    expected = subprocess.run([str(path), *args], env=mode, capture_output=True, timeout=30,
                              check=False)
    got = run(path, [str(path).encode(), *args], mode)
    assert got.faults == []
    assert (got.stdout, got.stderr, got.exit_code) == (
        expected.stdout, expected.stderr, expected.returncode)


def _differs(build: Builder) -> int:
    """How many CASES run differently from glibc (x86-64)."""
    path = build("getopt_gnu.c", "x86-64", "gnu-pie")
    count = 0
    for env, args in CASES:
        expected = subprocess.run([str(path), *args], env=env, capture_output=True,
                                  timeout=30, check=False)
        got = run(path, [str(path).encode(), *args], env)
        count += (got.stdout, got.stderr, got.exit_code, got.faults) != (
            expected.stdout, expected.stderr, expected.returncode, [])
    return count


@pytest.mark.parametrize("mutant", ["no permutation", "ambiguity unreported", "optopt kept"])
def test_seeded_getopt_bugs_are_caught(build: Builder, monkeypatch: pytest.MonkeyPatch,
                                       mutant: str) -> None:
    """The table above has the power to see getopt's likely mistakes: argv left
    unpermuted, an ambiguous abbreviation refused without glibc's message, optopt kept from
    the variable between calls (glibc's never reads it)."""
    from oracle.emulate import getopt

    if mutant == "no permutation":
        monkeypatch.setattr(getopt._Call, "exchange", lambda self: None)
    elif mutant == "ambiguity unreported":
        def silent(self: getopt._Call, prefix: bytes, text: bytes, options: object,
                   which: list[int]) -> int:
            self.d.nextchar, self.optopt = 0, 0
            self.optind += 1
            return ord("?")
        monkeypatch.setattr(getopt._Call, "ambiguous", silent)
    else:
        original = getopt._Call.__init__

        def keep(self: getopt._Call, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)  # type: ignore[arg-type]
            self.optopt = self._get_int("optopt")
        monkeypatch.setattr(getopt._Call, "__init__", keep)
    assert _differs(build) > 0
